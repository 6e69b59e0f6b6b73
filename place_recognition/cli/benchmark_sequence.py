"""Sequence matching measured: Recall@N at several speeds and lengths, and the cost per frame.

``scripts/benchmark_sequence.py --dataset DIR [-m MODEL]`` streams the set's queries (natural
order) as given, every 2nd frame, every frame twice and at a changing speed, through the
sequence matcher and a windowed line search for L in ``--lengths``, and times one matcher
update at ``--sizes`` gallery images (full similarities) and at ``--candidate-sizes`` (top-K).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ..bench.sequence import recall_table, update_cost
from ..core.files import atomic_write_text
from ..core.sysinfo import machine_info
from ..eval.datasets import read_dataset
from ..eval.runs import embed_paths
from ..sequence.settings import DEFAULT_VELOCITIES, SequenceSettings
from ._args import CommandParser, add_report_arg, add_verbosity_args, int_list, positive_int
from ._common import add_model_args, load_model
from ._run import run
from ._sequence import velocities_type


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="benchmark_sequence",
        description="Recall@N of sequence matching on a labelled set at several speeds and "
        "lengths, against single frames and a windowed line search; and the matcher's cost "
        "per frame. Prints markdown tables, writes JSON.",
    )
    add_model_args(parser)
    parser.add_argument("--dataset", type=Path, default=None, help="labelled set (ref/, query/)")
    parser.add_argument("--lengths", type=int_list, default=[1, 5, 10, 20], help="values of L")
    parser.add_argument(
        "--velocities",
        type=velocities_type,
        default=DEFAULT_VELOCITIES,
        metavar="MIN,MAX[,STEP]",
        help="gallery frames per query frame (default 0.5,2,0.5)",
    )
    parser.add_argument("--sizes", type=int_list, default=[100_000], help="full-vector sizes")
    parser.add_argument(
        "--candidate-sizes", type=int_list, default=[1_000_000], help="top-K mode sizes"
    )
    parser.add_argument("--candidates", type=positive_int, default=100, help="K of top-K mode")
    add_report_arg(parser, "none: printed only")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    report: dict = {"machine": machine_info(), "recall": [], "cost": []}
    settings = SequenceSettings(velocities=args.velocities)
    if args.dataset is not None:
        model = load_model(args)
        dataset = read_dataset(args.dataset)
        database, _ = embed_paths(model, dataset.database_paths(), not args.quiet)
        queries, _ = embed_paths(model, dataset.query_paths(), not args.quiet)
        report["model"] = model.describe()
        report["dataset"] = dataset.name
        report["recall"] = recall_table(
            queries,
            database,
            dataset.queries,
            dataset.database,
            dataset.positives,
            tuple(args.lengths),
            settings,
        )
        _print_recall(report["recall"])
    for size in args.sizes:
        report["cost"].append(update_cost(size, None))
    for size in args.candidate_sizes:
        report["cost"].append(update_cost(size, args.candidates))
    _print_cost(report["cost"], report["machine"])
    if args.output:
        atomic_write_text(args.output, json.dumps(report, indent=2) + "\n")
        print(f"report: {args.output}")
    return 0


def _print_recall(rows: list[dict]) -> None:
    print("| stream | method | L | R@1 | R@5 | R@10 |\n|---|---|---|---|---|---|")
    for row in rows:
        recall = row["recall_at"]
        print(
            f"| {row['stream']} | {row['method']} | {row['length']} | {recall['1']:.3f} | "
            f"{recall['5']:.3f} | {recall['10']:.3f} |"
        )


def _print_cost(rows: list[dict], machine: dict) -> None:
    print(f"\nmatcher update per frame ({machine.get('cpu', '?')}):")
    for row in rows:
        mode = "full similarities" if row["candidates"] is None else f"top-{row['candidates']}"
        print(
            f"  {row['gallery']:>9,} images, {mode}: median {row['median_ms']:.2f} ms, "
            f"p90 {row['p90_ms']:.2f} ms"
        )


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
