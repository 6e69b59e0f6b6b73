"""Derive the unknown-place threshold from a labelled set and store it with the model or index."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ..eval.datasets import read_ground_truth_folder
from ..eval.runs import evaluate_dataset
from ..indexing.query_model import choose_query_model
from ..recognition.calibration import (
    calibrate_on_ranking,
    store_threshold_in_index,
    store_threshold_in_model,
)
from ._args import CommandParser, add_index_arg, add_verbosity_args, share
from ._common import add_model_args, load_model, logger
from ._run import run


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="calibrate_threshold",
        description="Embed a labelled set (ref/, query/, ground_truth.csv; queries without "
        "positives are unknown places), split the top-1 scores into right and wrong answers "
        "and pick the threshold with the best F1 (or the lowest one reaching a precision). "
        "It is stored in the index manifest (--index) or in the model IR's rt_info.",
    )
    add_model_args(parser)
    parser.add_argument("--dataset", type=Path, required=True, help="labelled set folder")
    add_index_arg(
        parser,
        "store in this index folder's manifest (a gallery-fitted index: its own model "
        "embeds the set); default: store in the model IR",
    )
    parser.add_argument(
        "--target-precision",
        type=share,
        default=None,
        metavar="P",
        help="the lowest threshold whose precision reaches P (default: the best F1)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print, store nothing")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    dataset = read_ground_truth_folder(args.dataset)
    model = load_model(args)
    if args.index is not None:
        choice = choose_query_model(model, args.index)
        logger.info("queries are embedded with %s", choice.describe())
        model = choice.model
    _, ranking = evaluate_dataset(model, dataset, (1,), progress=not args.quiet)
    calibration = calibrate_on_ranking(
        ranking["scores"], ranking["indices"], dataset.positives, args.target_precision
    )
    print(f"model: {model.describe()}")
    print(json.dumps(calibration.to_json()))
    if args.dry_run:
        return 0
    if args.index is not None:
        store_threshold_in_index(args.index, calibration.threshold, calibration)
        print(f"threshold {calibration.threshold:.4f} stored in {args.index}/manifest.json")
    else:
        store_threshold_in_model(model.path, calibration.threshold)
        print(
            f"threshold {calibration.threshold:.4f} stored in {model.path} (rt_info); its "
            "fingerprint changed: galleries indexed with it are re-indexed on the next run"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
