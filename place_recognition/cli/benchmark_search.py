"""Exact vs approximate index modes at 100k-1M vectors: build time, memory, speed, agreement."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..bench.search_scale import (
    exact_top2,
    margin_summary,
    measure_mode,
    real_descriptors,
    recall_at_1,
    synthesize,
)
from ..core.files import atomic_write_text
from ..core.home import display_path, output_dir
from ..core.sysinfo import machine_info
from ..index import modes as ann
from ._common import (
    add_model_args,
    add_verbosity_args,
    int_list,
    load_model,
    positive_int,
    run,
)

# The folder of the labelled sets measured by default: $PLACE_DATASETS (which the test suite
# reads too). There is no default folder: without it, --datasets is required.
DATASETS = Path(os.environ["PLACE_DATASETS"]) if os.environ.get("PLACE_DATASETS") else None
DEFAULT_SETS = ("nordland_train", "corridor", "gardens_point_10")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmark_search",
        description="Gallery of real reference descriptors + augmented ones up to each size; "
        "real queries; exact ground truth; build time, memory, latency and top-1 agreement of "
        "each index mode. Writes JSON.",
    )
    add_model_args(parser)
    parser.add_argument(
        "--datasets",
        type=Path,
        nargs="+",
        default=None if DATASETS is None else [DATASETS / name for name in DEFAULT_SETS],
        required=DATASETS is None,
        help="labelled sets giving the real queries and references (default: "
        f"{', '.join(DEFAULT_SETS)} in $PLACE_DATASETS; required when it is not set)",
    )
    parser.add_argument(
        "--sizes", type=int_list, default=[100_000, 1_000_000], help="gallery sizes"
    )
    parser.add_argument(
        "--mode",
        action="append",
        default=None,
        help="index mode to measure (repeatable): exact, auto or a faiss factory string "
        "(default: exact, auto and PCAR128,HNSW32)",
    )
    parser.add_argument("--nprobe", type=positive_int, default=None, help="for IVF modes")
    parser.add_argument("--queries", type=positive_int, default=1000, help="real queries used")
    parser.add_argument(
        "--exact-queries", type=positive_int, default=100, help="queries timed in exact mode"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=output_dir("bench_search"),
        help=f"work folder (default {display_path(output_dir('bench_search'))})",
    )
    parser.add_argument("-o", "--output", type=Path, default=None, help="JSON report path")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    model = load_model(args)
    args.workdir.mkdir(parents=True, exist_ok=True)
    real = real_descriptors(model, args.datasets, progress=not args.quiet)
    picked = np.sort(np.random.default_rng(0).permutation(len(real.queries))[: args.queries])
    queries = real.queries[picked]
    synthetic = synthesize(
        real.references,
        max(args.sizes) - len(real.references),
        args.workdir / "synthetic.npy",
        progress=not args.quiet,
    )
    _, real_scores = exact_top2(queries, real.references)
    report = {
        "machine": machine_info(),
        "model": model.describe(),
        "real": real.sources,
        "queries": len(queries),
        "margins_real_gallery": margin_summary(real_scores),
        "sizes": [],
    }
    for size in args.sizes:
        gallery = np.concatenate([real.references, synthetic[: size - len(real.references)]])
        truth_ids, truth_scores = exact_top2(queries, gallery)
        entry = {"gallery": size, "margins": margin_summary(truth_scores), "modes": []}
        for mode in args.mode or ["exact", "auto", "PCAR128,HNSW32"]:
            factory = ann.resolve_factory(mode, size)
            timed = args.exact_queries if factory == ann.EXACT else len(queries)
            result = measure_mode(
                factory,
                gallery,
                queries,
                truth_ids[:, 0],
                args.workdir,
                args.nprobe,
                timed,
                progress=not args.quiet,
            )
            found = result.pop("found_top1")
            result["real_recall_at_1"] = recall_at_1(found, [real.truth[i] for i in picked])
            entry["modes"].append({"requested": mode, **result})
            print(_row(size, result), flush=True)
        report["sizes"].append(entry)
        print(
            f"margins top1-top2 at {size}: {entry['margins']}; real gallery only: "
            f"{report['margins_real_gallery']}"
        )
    output = args.output or args.workdir / "report.json"
    atomic_write_text(output, json.dumps(report, indent=1, default=_compact))
    print(f"report: {output}")
    return 0


def _row(size: int, r: dict) -> str:
    return "  ".join(
        [
            f"{size:>9,}  {r['mode']:<26}",
            f"build {r['build_s']:>7.1f} s",
            f"index {r['faiss_index_mb']:>8.1f} MB",
            f"rss +{r['rss_growth_mb']:>7.1f} MB",
            f"query {r['query_ms_median']:>8.3f} ms (p90 {r['query_ms_p90']:.3f})",
            f"top-1 agreement {r['top1_agreement']:.4f}",
            f"real R@1 {r['real_recall_at_1']:.4f}",
        ]
    )


def _compact(value):
    return value.tolist() if isinstance(value, np.ndarray) else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
