"""Exact vs approximate index modes at 100k-1M vectors: build time, memory, speed, agreement."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..bench.search_scale import DEFAULT_MODES, ScaleRun, measure_scale
from ..core.files import atomic_write_text
from ..core.home import output_dir
from ._args import (
    CommandParser,
    add_aliases,
    add_report_arg,
    add_verbosity_args,
    add_workdir_arg,
    int_list,
    positive_int,
)
from ._bench import DATASETS, DEFAULT_SETS, print_margins, print_scale_row
from ._common import add_model_args, load_model
from ._run import run

OUT = output_dir("bench_search")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
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
        help="labelled sets giving the real queries and references (default: ../shared/datasets)",
    )
    parser.add_argument(
        "--sizes", type=int_list, default=[100_000, 1_000_000], help="gallery sizes"
    )
    mode = parser.add_argument(
        "--index-mode",
        action="append",
        default=None,
        metavar="MODE",
        help="index mode to measure (repeatable): exact, auto or a faiss factory string, as "
        f"build_index --index-mode (default: {', '.join(DEFAULT_MODES)})",
    )
    add_aliases(parser, mode, "--mode")
    parser.add_argument("--nprobe", type=positive_int, default=None, help="for IVF modes")
    parser.add_argument("--queries", type=positive_int, default=1000, help="real queries used")
    parser.add_argument(
        "--exact-queries", type=positive_int, default=100, help="queries timed in exact mode"
    )
    add_workdir_arg(parser, OUT)
    add_report_arg(parser, "WORKDIR/report.json")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    scale = ScaleRun(
        datasets=args.datasets,
        sizes=args.sizes,
        workdir=args.workdir,
        modes=tuple(args.index_mode or DEFAULT_MODES),
        nprobe=args.nprobe,
        queries=args.queries,
        exact_queries=args.exact_queries,
    )
    report = measure_scale(load_model(args), scale, not args.quiet, on_row=print_scale_row)
    print_margins(report)
    output = args.output or args.workdir / "report.json"
    atomic_write_text(output, json.dumps(report, indent=1, default=_compact))
    print(f"report: {output}")
    return 0


def _compact(value):
    return value.tolist() if isinstance(value, np.ndarray) else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
