"""Every speed measurement in one run (indexing, search, start-up, INT8, scale), as ratios.

Sections (all by default), each reported as ratios measured in this run on this machine:

- ``indexing``: gallery indexing from JPEG files (``build_index``'s path) against the best
  ``benchmark_app`` LATENCY/THROUGHPUT x batch 1/4/8 on the same IR and precision, and against
  the reference demo's gallery build (compile + read all + embed one by one, synchronously);
  interleaved in ``--runs`` rounds, the median round reported.
- ``search``: ms per query at 1k/10k/100k vectors, ``PlaceIndex`` vs NumPy L2 + full argsort.
- ``startup``: the demo's warm start with a 10k gallery (index present, model cache), measured,
  against the reference demo's start-up, which re-embeds the gallery: extrapolated linearly
  from its ``indexing`` rounds (``--images`` images).
- ``int8``: NNCF INT8 copy of the IR (``--calibration``), ``benchmark_app`` speed-up over the
  default precision; Recall@1/5/10 change of netvlad-lite on ``--recall-dataset``.
- ``scale``: ``benchmark_search.py`` (exact vs approximate index modes at 100k and 1M).

Prints a table and writes JSON with the machine (CPU model, cores, OpenVINO version) and the
precision actually used. The default IR is the full-size synthetic netvlad-tf (built once).
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Sequence
from pathlib import Path

from ..bench import sections
from ..bench.search_scale import ScaleRun, measure_scale
from ..core.files import atomic_write_text
from ..core.home import display_path, output_dir
from ..core.model import EmbeddingModel
from ..core.sysinfo import machine_info
from ..errors import PlaceRecognitionError
from ..nets.int8 import Fidelity
from ..zoo.lite import ensure_lite_model
from ._args import (
    CommandParser,
    add_device_arg,
    add_model_path_arg,
    add_report_arg,
    add_verbosity_args,
    add_workdir_arg,
    int_list,
    positive_int,
)
from ._bench import DATASETS, DEFAULT_SETS, benchmark_table, print_scale_row
from ._common import FULL_SIZE_SYNTHETIC, require_measured_model
from ._run import run
from ._warm_start import warm_starts

SECTIONS = ("indexing", "search", "startup", "int8", "scale")
DEFAULT_MODEL = FULL_SIZE_SYNTHETIC
OUT = output_dir("benchmark")


def _sections(text: str) -> list[str]:
    """argparse type: a comma-separated subset of SECTIONS."""
    names = text.split(",")
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {', '.join(unknown)}; choose from {','.join(SECTIONS)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="benchmark", description=__doc__.split("\n")[0])
    add_model_path_arg(
        parser,
        f"IR to measure (default {display_path(DEFAULT_MODEL)}, built when missing)",
        DEFAULT_MODEL,
    )
    add_device_arg(parser)
    parser.add_argument(
        "--precision",
        default=None,
        choices=("f32", "bf16", "f16"),
        help="inference precision (default: the device's own)",
    )
    parser.add_argument(
        "--sections",
        type=_sections,
        default=list(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--images",
        type=positive_int,
        default=300,
        help="gallery images (480x640 JPEG) for indexing (default 300)",
    )
    parser.add_argument(
        "--index-batch",
        type=int_list,
        default=[1, 8],
        help="build_index --batch values tried in the indexing section, the best reported "
        "(default 1,8)",
    )
    parser.add_argument("--runs", type=positive_int, default=3, help="interleaved rounds (3)")
    parser.add_argument(
        "-t",
        "--seconds",
        type=positive_int,
        default=10,
        help="benchmark_app time per configuration (default 10)",
    )
    parser.add_argument(
        "--search-sizes",
        type=int_list,
        default=[1000, 10_000, 100_000],
        help="gallery sizes for the per-query search (1000,10000,100000)",
    )
    parser.add_argument(
        "--startup-images",
        type=positive_int,
        default=10_000,
        help="gallery size of the start-up comparison (10000)",
    )
    parser.add_argument(
        "--calibration",
        type=Path,
        default=DATASETS / "corridor" / "ref" if DATASETS else None,
        help="INT8 calibration images for -m (default: corridor/ref in $PLACE_DATASETS)",
    )
    parser.add_argument(
        "--recall-dataset",
        type=Path,
        default=DATASETS / "nordland_train" if DATASETS else None,
        help="labelled set for the INT8 recall change (default nordland_train)",
    )
    parser.add_argument(
        "--recall-model",
        type=Path,
        default=None,
        help="model for the INT8 recall change (default netvlad-lite)",
    )
    parser.add_argument(
        "--scale-sizes",
        type=int_list,
        default=[100_000, 1_000_000],
        help="sizes for the scale section (100000,1000000)",
    )
    add_workdir_arg(parser, OUT)
    add_report_arg(parser, "WORKDIR/<model>.json")
    add_verbosity_args(parser)
    return parser


def _say(text: str) -> None:
    print(text, flush=True)


def _indexing(args, target: sections.Target) -> dict:
    numbers = itertools.count(1)

    def on_round(r: dict) -> None:
        sweep = r["benchmark_app"]
        _say(
            f"round {next(numbers)}: indexing {r['indexing_images_per_s']:.2f} img/s "
            f"(--batch {r['ours_batch']}) vs benchmark_app {r['benchmark_app_best_fps']:.2f} FPS "
            f"({sweep['best']}) = "
            f"{r['indexing_vs_benchmark_app']:.3f} (decode alone "
            f"{r['decode_only_images_per_s']:.0f} img/s, bound "
            f"{r['decode_plus_inference_bound']:.1f} img/s); build "
            f"{r['ours']['compile_s'] + r['ours']['index_s']:.1f} s vs reference "
            f"{r['reference']['compile_s'] + r['reference']['index_s']:.1f} s"
        )

    return sections.measure_indexing(target, args.images, args.index_batch, args.runs, on_round)


def _search(args, dim: int) -> dict:
    def on_row(row: dict) -> None:
        _say(
            f"search {row['gallery']:>7,} x {dim}-d: ours {row['ours_ms']:.3f} ms, reference "
            f"{row['reference_ms']:.2f} ms per query = {row['speedup']:.0f}x"
        )

    return sections.measure_search(dim, args.search_sizes, on_row)


def _startup(args, target: sections.Target, indexing: dict | None) -> dict:
    builds = sections.reference_builds(target, args.images, indexing)
    starts = warm_starts(
        args.model.resolve(), args.startup_images, args.workdir / "warm", args.runs, _say,
        progress=not args.quiet,
    )  # fmt: skip
    result = sections.compare_startup(builds, args.startup_images, starts)
    _say(
        f"start-up with {result['images']:,} images: ours {result['ours_first_frame_s']:.2f} s "
        f"to the first frame (process {result['ours_process_s']:.2f} s), reference "
        f"{result['reference_s_extrapolated']:.1f} s (extrapolated from "
        f"{result['reference_measured_images']} images) = {result['speedup']:.0f}x"
    )
    return result


def _int8(args, target: sections.Target) -> dict:
    numbers = itertools.count(1)

    def on_round(r: dict) -> None:
        _say(
            f"round {next(numbers)}: INT8 {r['int8']['best_fps']:.2f} FPS vs "
            f"{target.infer_precision} {r['default']['best_fps']:.2f} FPS = {r['speedup']:.2f}x"
        )

    result = sections.measure_int8_speed(target, args.calibration, args.runs, on_round)
    if args.recall_dataset is None or not args.recall_dataset.is_dir():
        _say(f"INT8 recall change skipped: {args.recall_dataset} is not there")
        return result
    model = args.recall_model or ensure_lite_model(progress=not args.quiet)
    recall = sections.measure_int8_recall(
        model, args.recall_dataset, args.workdir, args.device, args.precision
    )
    _say(Fidelity(**recall["fidelity"]).describe())
    noisy = recall["float_recall_at_1_with_query_noise"]
    _say(
        "the float model's R@1 with Gaussian noise on the query pixels, the yardstick for the "
        "change: " + ", ".join(f"sd {sd} gray levels {r:.4f}" for sd, r in noisy.items())
    )
    before, after = recall["recall_at"]["default"]["1"], recall["recall_at"]["int8"]["1"]
    _say(
        f"INT8 recall on {recall['dataset']} ({recall['queries']} queries, {model.name}): "
        f"R@1 {before:.4f} -> {after:.4f} ({recall['recall_at_1_change_points']:+.2f} points)"
    )
    return result | {"recall": recall}


def _scale(args) -> dict:
    lite = args.recall_model or ensure_lite_model(progress=not args.quiet)
    model = EmbeddingModel(lite, args.device)
    scale = ScaleRun(
        datasets=[DATASETS / name for name in DEFAULT_SETS],
        sizes=args.scale_sizes,
        workdir=args.workdir / "scale",
    )
    return measure_scale(model, scale, not args.quiet, on_row=print_scale_row)


def _require_data(args: argparse.Namespace) -> None:
    """The int8 and scale sections measure on real images: fail now, not after the others."""
    if "int8" in args.sections and args.calibration is None:
        raise PlaceRecognitionError(
            "the int8 section needs calibration images: give --calibration DIR, or set "
            "PLACE_DATASETS to the folder of the labelled sets"
        )
    if "scale" in args.sections and DATASETS is None:
        raise PlaceRecognitionError(
            "the scale section needs the labelled sets: set PLACE_DATASETS to their folder, or "
            "leave the section out (--sections)"
        )


def _main(args: argparse.Namespace) -> int:
    _require_data(args)
    require_measured_model(args.model)
    args.workdir.mkdir(parents=True, exist_ok=True)
    probe = EmbeddingModel(args.model, args.device, args.precision)
    machine = machine_info()
    report = {"machine": machine, "model": str(args.model), "device": args.device,
              "precision": probe.precision, "describe": probe.describe(),
              "sections": {}}  # fmt: skip
    _say(
        f"{probe.describe()}; {machine['cpu']}, {machine['logical_cores']} logical cores, "
        f"OpenVINO {machine['openvino']}"
    )
    target = sections.Target(args.model, args.device, args.precision, probe.precision,
                             args.workdir, args.seconds, lambda c: _say(f"$ {c}"))  # fmt: skip
    done = report["sections"]
    if "indexing" in args.sections:
        done["indexing"] = _indexing(args, target)
    if "search" in args.sections:
        done["search"] = _search(args, probe.dim)
    if "startup" in args.sections:
        done["startup"] = _startup(args, target, done.get("indexing"))
    if "int8" in args.sections:
        done["int8"] = _int8(args, target)
    if "scale" in args.sections:
        done["scale"] = _scale(args)
    output = args.output or args.workdir / f"{args.model.stem}.json"
    atomic_write_text(output, json.dumps(report, indent=1, default=str) + "\n")
    _say(benchmark_table(report))
    _say(f"report: {output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
