"""Indexing on a local Dask cluster against one process; merging 1M descriptors; a projection.

Sections: ``throughput`` (a local Dask cluster against the single-process indexer on the same
gallery, interleaved rounds, with the load average of each), ``merge`` (1M non-uniform 1024-d
descriptors: training on a sample, adding in parts of 100k on the cluster, merging in memory and
on disk in fresh processes), ``project`` (1M and 10M images on 8/32/128 workers, 1024-d and
4096-d, from the rates in earlier reports given with ``--rates``). Prints tables, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from pathlib import Path

from ..bench import distributed_scale as ds
from ..bench.measurements import make_image_gallery
from ..bench.search_scale import real_descriptors, synthesize
from ..core.files import atomic_write_text
from ..core.home import output_dir
from ..core.model import EmbeddingModel
from ..core.sysinfo import machine_info
from ..errors import PlaceRecognitionError
from ..index import modes as ann
from ..zoo.lite import ensure_lite_model
from ._args import (
    CommandParser,
    add_report_arg,
    add_verbosity_args,
    add_workdir_arg,
    int_list,
    positive_int,
)
from ._bench import DATASETS, DEFAULT_SETS
from ._common import FULL_SIZE_SYNTHETIC, add_model_args, load_model, require_measured_model
from ._run import run

OUT = output_dir("bench_distributed")
SECTIONS = ("throughput", "merge", "project")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="benchmark_distributed",
        description="Dask cluster indexing against one process; merging 1M descriptors; a "
        "projection to larger galleries and clusters.",
    )
    add_model_args(parser)
    parser.set_defaults(model=FULL_SIZE_SYNTHETIC, hint="THROUGHPUT")
    parser.add_argument("--sections", default="throughput,merge", help=f"of {','.join(SECTIONS)}")
    parser.add_argument("--images", type=positive_int, default=256, help="gallery size (256)")
    parser.add_argument("--workers", type=positive_int, default=2, help="local workers (2)")
    parser.add_argument("--shard-size", type=positive_int, default=16, help="images per shard")
    parser.add_argument("--rounds", type=positive_int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--merge-size", type=int_list, default=[1_000_000], help="descriptors")
    parser.add_argument(
        "--datasets",
        type=Path,
        nargs="+",
        default=None if DATASETS is None else [DATASETS / name for name in DEFAULT_SETS],
        help="labelled sets whose netvlad-lite references seed the merge's descriptors "
        "(default: $PLACE_DATASETS/{nordland_train,corridor,gardens_point_10})",
    )
    parser.add_argument("--rates", type=Path, nargs="*", default=[], help="reports to project")
    add_workdir_arg(parser, OUT)
    add_report_arg(parser, "WORKDIR/report.json")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    sections = args.sections.split(",")
    report: dict = {"machine": machine_info(), "load_start": ds.load()}
    if "throughput" in sections:
        report["throughput"] = _throughput(args)
    if "merge" in sections:
        report["merge"] = _merge(args)
    if "project" in sections:
        report["projection"] = _project(args.rates)
    output = args.output or args.workdir / "report.json"
    args.workdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, json.dumps(report, indent=1))
    print(f"report: {output}")
    return 0


def _throughput(args: argparse.Namespace) -> dict:
    require_measured_model(args.model)
    model = load_model(args)
    gallery = args.workdir / f"gallery-{args.images}"
    make_image_gallery(gallery, args.images)
    rounds = ds.throughput_rounds(
        model, gallery, args.workdir, args.workers, args.shard_size, args.rounds
    )
    rates = {
        what: [r["images_per_s"] for r in rounds if r["indexer"] == what]
        for what in ("single", "cluster")
    }
    ratios = [c / s for s, c in zip(rates["single"], rates["cluster"], strict=True)]
    print(f"{model.describe()}; {args.images} images, {args.workers} workers x 1 thread")
    for row in rounds:
        rate, cpu, load = row["images_per_s"], row["cpu_ms_per_image"], row["load_before"]
        print(
            f"  round {row['round']} {row['indexer']:7s} {rate:8.2f} img/s, {cpu:7.1f} CPU ms "
            f"per image ({row['driver_cpu_ms_per_image']:.1f} in this process)  (load {load})"
        )
    median = statistics.median(ratios)
    cpu = {w: [r["cpu_ms_per_image"] for r in rounds if r["indexer"] == w] for w in rates}
    efficiency = [s / c for s, c in zip(cpu["single"], cpu["cluster"], strict=True)]
    print(f"  cluster / single: {median:.3f} (rounds {', '.join(f'{r:.3f}' for r in ratios)})")
    print(
        f"  CPU time per image, single / cluster: {statistics.median(efficiency):.3f} "
        f"(rounds {', '.join(f'{r:.3f}' for r in efficiency)})"
    )
    return {
        "model": model.describe(),
        "dim": model.dim,
        "precision": model.precision,
        "images": args.images,
        "workers": args.workers,
        "shard_size": args.shard_size,
        "rounds": rounds,
        "ratio_median": round(median, 3),
        "cpu_efficiency_median": round(statistics.median(efficiency), 3),
        "cluster_per_worker_median": round(statistics.median(rates["cluster"]) / args.workers, 2),
    }


def _merge(args: argparse.Namespace) -> list[dict]:
    if args.datasets is None:
        raise PlaceRecognitionError(
            "the merge section needs labelled sets: give --datasets or set PLACE_DATASETS"
        )
    lite = EmbeddingModel(ensure_lite_model(), precision=args.precision)
    real = real_descriptors(lite, args.datasets, progress=not args.quiet)
    results = []
    for size in args.merge_size:
        workdir = args.workdir / f"merge-{size}"
        workdir.mkdir(parents=True, exist_ok=True)
        vectors = workdir / "descriptors.npy"
        if not vectors.is_file():
            synthesize(real.references, size, vectors, progress=not args.quiet)
        built = ds.ivf_parts(
            vectors, workdir / "build", ann.approximate_factory(size), args.workers
        )
        print(
            f"{size} x {built['dim']}-d, {built['factory']}: write {built['write_s']:.1f} s, "
            f"train {built['train_s']:.1f} s (driver), add {built['add_s']:.1f} s on "
            f"{args.workers} workers in {len(built['parts'])} parts (load {built['load_before']})"
        )
        merges = [
            ds.merge_in_child(kind, workdir / "build")
            for _ in range(args.rounds)
            for kind in ("memory", "disk")
        ]
        for merge in merges:
            seconds, peak = merge["seconds"], merge["peak_rss_mb"]
            print(
                f"  merge {merge['kind']:6s} {seconds:7.2f} s, peak RSS {peak:8.1f} MB  "
                f"(load {merge['load_before']})"
            )
        results.append({**built, "merges": merges})
    return results


def _project(paths: list[Path]) -> list[dict]:
    """1M and 10M images on 8/32/128 workers at 1024-d and 4096-d, from measured reports."""
    reports = [json.loads(path.read_text()) for path in paths]
    rates = ds.rates_from_reports(reports)
    rows = [
        ds.project(rates, n, w, d)
        for d in sorted(rates["embed_per_worker"])  # the dimensions measured
        for n in (1_000_000, 10_000_000)
        for w in (8, 32, 128)
    ]
    for row in rows:
        print(
            f"  {row['images']:>10,} x {row['dim']}-d on {row['workers']:3d} workers: embed "
            f"{row['embed_h']:6.2f} h, train {row['train_min']:5.1f} min, add "
            f"{row['add_min']:6.1f} min, merge {row['merge_min']:5.1f} min, write "
            f"{row['write_min']:5.1f} min; codes {row['codes_gb']:5.1f} GB, exact vectors "
            f"{row['vectors_gb']:6.1f} GB"
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
