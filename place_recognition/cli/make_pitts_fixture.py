"""Lay out a route-ordered labelled set (e.g. corridor) as a small Pittsburgh-format data set."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..eval.datasets import read_ground_truth_folder
from ..eval.pitts_fixture import make_pitts_fixture
from ._args import CommandParser, add_aliases, add_verbosity_args, positive_int
from ._run import run


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="make_pitts_fixture",
        description="Write OUT/pitts250k/{000,queries_real/000,datasets/pitts30k_val.mat} from a "
        "ref/ + query/ + ground_truth.csv set whose positives are route neighbours, with UTM "
        "positions 10 m apart so that the 25 m rule gives back its ground truth, plus a query "
        "with no positive and one exactly 25 m from its copy. For testing the Accuracy Checker "
        "path; the output holds copies of the source images: keep it out of the repository.",
    )
    dataset = parser.add_argument(
        "--dataset", type=Path, required=True, help="labelled set folder (ref/, query/ ...)"
    )
    add_aliases(parser, dataset, "--source")  # its first spelling; --dataset everywhere else
    parser.add_argument("-o", "--output", type=Path, required=True, help="output root (-s DATA)")
    parser.add_argument(
        "--count", type=positive_int, default=None, help="use the first N database images"
    )
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    mat = make_pitts_fixture(read_ground_truth_folder(args.dataset), args.output, args.count)
    print(f"wrote {mat} (use -s {args.output})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
