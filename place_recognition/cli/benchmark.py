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
import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..bench import measurements as bm
from ..bench.benchmark_app import benchmark_app_sweep
from ..core.files import atomic_write_text
from ..core.home import display_path, output_dir
from ..core.model import EmbeddingModel
from ..core.sysinfo import cap_thread_pools, machine_info
from ..errors import PlaceRecognitionError
from ..eval.datasets import read_dataset
from ..eval.noise import recall_under_query_noise
from ..eval.runs import evaluate_dataset
from ..nets.int8 import FLOAT_FRONT_SHARE, int8_fidelity, quantize_int8
from ..zoo.lite import ensure_lite_model
from . import benchmark_search as bench_search
from ._common import (
    FULL_SIZE_SYNTHETIC,
    add_verbosity_args,
    int_list,
    positive_int,
    require_measured_model,
    run,
)
from .benchmark_search import DATASETS
from .measure_warm_start import warm_starts

SECTIONS = ("indexing", "search", "startup", "int8", "scale")
DEFAULT_MODEL = FULL_SIZE_SYNTHETIC
OUT = output_dir("benchmark")
RECALL_CALIBRATION_IMAGES = 300  # the first references of the recall set; the check skips them


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
    parser = argparse.ArgumentParser(prog="benchmark", description=__doc__.split("\n")[0])
    parser.add_argument(
        "-m",
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help=f"IR to measure (default {display_path(DEFAULT_MODEL)}, built when missing)",
    )
    parser.add_argument("-d", "--device", default="CPU", help="OpenVINO device (CPU)")
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
        help="labelled set for the INT8 recall change (default: nordland_train in $PLACE_DATASETS)",
    )
    parser.add_argument(
        "--recall-model",
        type=Path,
        default=None,
        help="model for the INT8 recall change (default netvlad-lite)",
    )
    parser.add_argument(
        "--scale-sizes",
        default="100000,1000000",
        help="sizes for the scale section (100000,1000000)",
    )
    parser.add_argument(
        "-w", "--workdir", type=Path, default=OUT, help=f"work folder ({display_path(OUT)})"
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="JSON report (default WORKDIR/<model>.json)"
    )
    add_verbosity_args(parser)
    return parser


def _say(text: str) -> None:
    print(text, flush=True)


def _indexing(args, precision: str) -> dict:
    paths = bm.make_image_gallery(args.workdir / f"gallery_{args.images}", args.images)
    gallery = paths[0].parents[1]
    rounds = []
    for number in range(1, args.runs + 1):
        builds = {
            batch: bm.time_our_build(
                args.model, gallery, args.workdir, args.device, args.precision, batch
            )
            for batch in args.index_batch
        }
        best_batch = max(builds, key=lambda batch: builds[batch].images_per_s)
        ours = builds[best_batch]
        reference = bm.time_reference_build(args.model, paths, args.device)
        sweep = _sweep({"model": args.model}, args, precision)["model"]
        decode = bm.decode_images_per_s(paths)
        bound = 1 / (1 / decode + 1 / sweep.best_fps)  # decode and inference share the cores
        rounds.append(
            {
                "ours": vars(ours),
                "ours_batch": best_batch,
                "ours_images_per_s_by_batch": {b: t.images_per_s for b, t in builds.items()},
                "reference": vars(reference),
                "benchmark_app": sweep.to_dict(),
                "indexing_images_per_s": ours.images_per_s,
                "benchmark_app_best_fps": sweep.best_fps,
                "indexing_vs_benchmark_app": ours.images_per_s / sweep.best_fps,
                "decode_only_images_per_s": decode,
                "decode_plus_inference_bound": bound,
                "indexing_vs_bound": ours.images_per_s / bound,
                "build_speedup_vs_reference": reference.total_s / ours.total_s,
                "load_average": os.getloadavg()[0],
            }
        )
        ratio = rounds[-1]["indexing_vs_benchmark_app"]
        _say(
            f"round {number}: indexing {ours.images_per_s:.2f} img/s (--batch {best_batch}) vs "
            f"benchmark_app "
            f"{sweep.best_fps:.2f} FPS ({sweep.best}) = {ratio:.3f} (decode alone "
            f"{decode:.0f} img/s, bound {bound:.1f} img/s); "
            f"build {ours.total_s:.1f} s vs reference {reference.total_s:.1f} s"
        )
    median = sorted(rounds, key=lambda r: r["indexing_vs_benchmark_app"])[len(rounds) // 2]
    return {
        "images": args.images,
        "rounds": rounds,
        "median_round": rounds.index(median),
        "indexing_vs_benchmark_app": median["indexing_vs_benchmark_app"],
        "build_speedup_vs_reference": bm.median([r["build_speedup_vs_reference"] for r in rounds]),
    }


def _search(args, dim: int) -> dict:
    cap_thread_pools()  # as the demo searches: one faiss thread
    rows = []
    for size in args.search_sizes:
        rows.append(bm.time_search(dim, size, queries=200, reference_queries=20))
        row = rows[-1]
        _say(
            f"search {size:>7,} x {dim}-d: ours {row['ours_ms']:.3f} ms, reference "
            f"{row['reference_ms']:.2f} ms per query = {row['speedup']:.0f}x"
        )
    return {"sizes": rows}


def _startup(args, indexing: dict | None) -> dict:
    if indexing is None:
        paths = bm.make_image_gallery(args.workdir / f"gallery_{args.images}", args.images)
        builds = [bm.time_reference_build(args.model, paths, args.device)]
    else:
        builds = [bm.BuildTiming(**r["reference"]) for r in indexing["rounds"]]
    reference = bm.median([bm.extrapolate_start(b, args.startup_images) for b in builds])
    results = warm_starts(
        args.model.resolve(), args.startup_images, args.workdir / "warm", args.runs, echo=_say
    )
    first = bm.median([first for first, _ in results])
    wall = bm.median([wall for _, wall in results])
    _say(
        f"start-up with {args.startup_images:,} images: ours {first:.2f} s to the first frame "
        f"(process {wall:.2f} s), reference {reference:.1f} s (extrapolated from "
        f"{builds[0].images} images) = {reference / first:.0f}x"
    )
    return {
        "images": args.startup_images,
        "ours_first_frame_s": first,
        "ours_process_s": wall,
        "reference_s_extrapolated": reference,
        "reference_measured_images": builds[0].images,
        "speedup": reference / first,
    }


def _quantized(model: Path, calibration: Path, workdir: Path, subset: int) -> Path:
    # Named by what it was calibrated on (the speed and recall parts may calibrate differently)
    # and by the float front, so that a copy made by an earlier recipe is not reused.
    source = f"{calibration.parent.name}-{calibration.name}-{subset}"
    output = workdir / f"{model.stem}-int8-{source}-front{FLOAT_FRONT_SHARE}.xml"
    if not output.is_file() or output.stat().st_mtime < model.stat().st_mtime:
        _say(f"quantizing {model} on {calibration} ({subset} images at most)")
        quantize_int8(model, calibration, output, subset=subset)
    return output


def _sweep(models: dict[str, Path], args, precision: str) -> dict:
    return benchmark_app_sweep(
        models, args.device, precision, args.seconds, on_command=lambda c: _say(f"$ {c}")
    )


def _int8(args, precision: str) -> dict:
    int8 = _quantized(args.model, args.calibration, args.workdir, 100)
    rounds = []
    for number in range(1, args.runs + 1):
        sweeps = _sweep({"default": args.model, "int8": int8}, args, precision)
        best = {name: sweep.best_fps for name, sweep in sweeps.items()}
        rounds.append(
            {name: sweep.to_dict() | {"best_fps": best[name]} for name, sweep in sweeps.items()}
            | {"speedup": best["int8"] / best["default"], "load_average": os.getloadavg()[0]}
        )
        _say(
            f"round {number}: INT8 {best['int8']:.2f} FPS vs {precision} {best['default']:.2f} "
            f"FPS = {rounds[-1]['speedup']:.2f}x"
        )
    speedup = bm.median([r["speedup"] for r in rounds])
    result = {"int8_model": str(int8), "rounds": rounds, "speedup": speedup}
    if args.recall_dataset is not None and args.recall_dataset.is_dir():
        result["recall"] = _int8_recall(args)
    else:
        _say(f"INT8 recall change skipped: {args.recall_dataset} is not there")
    return result


def _int8_recall(args) -> dict:
    model = args.recall_model or ensure_lite_model(progress=not args.quiet)
    dataset = read_dataset(args.recall_dataset)
    calibration = args.recall_dataset / "ref"
    int8 = _quantized(model, calibration, args.workdir, RECALL_CALIBRATION_IMAGES)
    recalls = {}
    for name, path in (("default", model), ("int8", int8)):
        embedder = EmbeddingModel(path, args.device, args.precision)
        report, _ = evaluate_dataset(embedder, dataset, use_cache=False)
        recalls[name] = {str(n): r for n, r in report.recall_at.items()}
        recalls[name]["precision"] = report.precision
    change = 100 * (recalls["int8"]["1"] - recalls["default"]["1"])
    fidelity = int8_fidelity(
        model, int8, calibration, skip=RECALL_CALIBRATION_IMAGES, device=args.device
    )
    _say(fidelity.describe())
    noisy = recall_under_query_noise(model, dataset, device=args.device, precision=args.precision)
    _say(
        "the float model's R@1 with Gaussian noise on the query pixels, the yardstick for the "
        "change: " + ", ".join(f"sd {sd} gray levels {r:.4f}" for sd, r in noisy.items())
    )
    _say(
        f"INT8 recall on {dataset.name} ({len(dataset.queries)} queries, {model.name}): "
        f"R@1 {recalls['default']['1']:.4f} -> {recalls['int8']['1']:.4f} ({change:+.2f} points)"
    )
    return {
        "model": str(model),
        "dataset": dataset.describe(),
        "recall_at": recalls,
        "recall_at_1_change_points": change,
        "fidelity": fidelity.to_dict(),
        "float_recall_at_1_with_query_noise": noisy,
    }


def _scale(args) -> dict:
    lite = args.recall_model or ensure_lite_model(progress=not args.quiet)
    output = args.workdir / "scale.json"
    argv = [
        "-m",
        str(lite),
        "-d",
        args.device,
        "--sizes",
        args.scale_sizes,
        "--workdir",
        str(args.workdir / "scale"),
        "-o",
        str(output),
    ]
    _say("$ scripts/benchmark_search.py " + " ".join(argv))
    if bench_search.main(argv + (["-q"] if args.quiet else [])) != 0:
        raise RuntimeError("the scale section (benchmark_search) failed")
    return json.loads(output.read_text())


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
    report = {
        "machine": machine_info(),
        "model": str(args.model),
        "device": args.device,
        "precision": probe.precision,
        "describe": probe.describe(),
        "sections": {},
    }
    _say(
        f"{probe.describe()}; {report['machine']['cpu']}, {report['machine']['logical_cores']} "
        f"logical cores, OpenVINO {report['machine']['openvino']}"
    )
    sections = report["sections"]
    if "indexing" in args.sections:
        sections["indexing"] = _indexing(args, probe.precision)
    if "search" in args.sections:
        sections["search"] = _search(args, probe.dim)
    if "startup" in args.sections:
        sections["startup"] = _startup(args, sections.get("indexing"))
    if "int8" in args.sections:
        sections["int8"] = _int8(args, probe.precision)
    if "scale" in args.sections:
        sections["scale"] = _scale(args)
    output = args.output or args.workdir / f"{args.model.stem}.json"
    atomic_write_text(output, json.dumps(report, indent=1, default=str) + "\n")
    _say(_table(report))
    _say(f"report: {output}")
    return 0


def _table(report: dict) -> str:
    s = report["sections"]
    lines = ["\n| measurement | value |", "|---|---|"]
    if "indexing" in s:
        indexing = s["indexing"]
        median = indexing["rounds"][indexing["median_round"]]
        lines += [
            f"| indexing from files / best benchmark_app | {median['indexing_images_per_s']:.2f} / "
            f"{median['benchmark_app_best_fps']:.2f} = "
            f"**{indexing['indexing_vs_benchmark_app']:.3f}** |",
            f"| decoding alone; bound with inference on the same cores | "
            f"{median['decode_only_images_per_s']:.0f} img/s; "
            f"{median['decode_plus_inference_bound']:.1f} img/s (indexing reaches "
            f"{median['indexing_vs_bound']:.3f}) |",
            f"| gallery build ({indexing['images']} images), reference / ours | "
            f"**{indexing['build_speedup_vs_reference']:.2f}x** |",
        ]
    for row in s.get("search", {}).get("sizes", []):
        lines.append(
            f"| search per query at {row['gallery']:,}, reference / ours | "
            f"{row['reference_ms']:.2f} / {row['ours_ms']:.3f} ms = **{row['speedup']:.0f}x** |"
        )
    if "startup" in s:
        st = s["startup"]
        lines.append(
            f"| start-up with {st['images']:,} images, reference (extrapolated) / ours | "
            f"{st['reference_s_extrapolated']:.1f} / {st['ours_first_frame_s']:.2f} s = "
            f"**{st['speedup']:.0f}x** |"
        )
    if "int8" in s:
        lines.append(
            f"| INT8 / {report['precision']} throughput | **{s['int8']['speedup']:.2f}x** |"
        )
        if "recall" in s["int8"]:
            change = s["int8"]["recall"]["recall_at_1_change_points"]
            lines.append(f"| INT8 Recall@1 change | **{change:+.2f} points** |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
