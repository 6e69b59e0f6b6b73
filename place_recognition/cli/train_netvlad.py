"""Fine-tune netvlad-lite's NetVLAD head and whitening on a labelled set, export an IR.

Needs torch (scripts/requirements-train.txt); the training modules are imported only here, so
the other commands never load torch.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from ..core.home import display_path, output_dir
from ..errors import PlaceRecognitionError
from ..zoo.lite import ensure_lite_model
from ._common import (
    add_verbosity_args,
    positive_float,
    positive_int,
    run,
)

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT = output_dir("train")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train_netvlad",
        description="Fine-tune the NetVLAD layer and whitening of a netvlad-lite IR on a "
        "labelled set with image positions (backbone frozen, its local features cached), "
        "validate on a held-out route segment, and export the best head as an IR that every "
        "command takes with -m. Run it in the training environment "
        "(scripts/requirements-train.txt).",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        type=Path,
        required=True,
        help="ref/ + query/ + ground_truth.csv folder, NetVLAD .mat, or UTM folder",
    )
    where = data.add_mutually_exclusive_group()
    where.add_argument(
        "--positions",
        type=Path,
        default=None,
        help="CSV file,x[,y][,label] (files relative to the dataset folder); "
        "default: the dataset's UTM",
    )
    where.add_argument(
        "--position-from-name",
        action="store_true",
        help="the last number in each file name is its route position (Nordland's frame numbers)",
    )
    data.add_argument(
        "--pos-radius",
        type=positive_float,
        default=10.0,
        help="potential positives lie within this distance (default 10)",
    )
    data.add_argument(
        "--neg-radius",
        type=positive_float,
        default=25.0,
        help="negatives lie beyond it; the split gap exceeds it (default 25)",
    )
    data.add_argument(
        "--val-fraction",
        type=positive_float,
        default=0.2,
        help="route share of the validation segment, at the route's end (0.2)",
    )
    train = parser.add_argument_group("training")
    train.add_argument(
        "--loss",
        choices=("ranking", "triplet"),
        default="ranking",
        help="ranking: NetVLAD's weakly supervised ranking loss (default); "
        "triplet: online-hardest triplets of place IDs (label column or grid "
        "cells of --pos-radius)",
    )
    train.add_argument("--epochs", type=positive_int, default=10)
    train.add_argument(
        "--batch",
        type=positive_int,
        default=16,
        help="queries (ranking) or places (triplet) per step",
    )
    train.add_argument("--lr", type=positive_float, default=1e-4, help="Adam learning rate")
    train.add_argument("--margin", type=positive_float, default=0.1)
    train.add_argument(
        "--negatives", type=positive_int, default=10, help="hardest negatives per query"
    )
    train.add_argument(
        "--refresh-every",
        type=positive_int,
        default=50,
        help="steps between refreshes of the hard-negative cache",
    )
    train.add_argument(
        "--steps-per-epoch",
        type=positive_int,
        default=None,
        help="at most this many steps per epoch (default: every training query once)",
    )
    train.add_argument(
        "--patience",
        type=positive_int,
        default=3,
        help="stop after this many epochs without a better validation R@1",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint.pt")
    out = parser.add_argument_group("model")
    out.add_argument(
        "-m",
        "--model",
        type=Path,
        default=None,
        help="the netvlad-lite IR to start from (default: the shipped one, built on first use)",
    )
    out.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="folder for the checkpoint, the IR and report.json "
        f"(default {display_path(DEFAULT_OUTPUT)})",
    )
    out.add_argument("--fp32", action="store_true", help="FP32 weights (default FP16)")
    out.add_argument(
        "--features-cache",
        type=Path,
        default=None,
        help="folder of the cached local features (default: the user cache)",
    )
    add_verbosity_args(parser)
    return parser


def _check(args: argparse.Namespace) -> None:
    if args.neg_radius <= args.pos_radius:
        raise PlaceRecognitionError(
            f"--neg-radius {args.neg_radius:g} must be larger than --pos-radius "
            f"{args.pos_radius:g} (between them lie images that are neither)"
        )
    if not args.val_fraction < 1:
        raise PlaceRecognitionError(f"--val-fraction {args.val_fraction:g}: give a share below 1")
    if args.output.exists() and not args.output.is_dir():
        raise PlaceRecognitionError(f"-o {args.output} is a file: give a folder")


def _main(args: argparse.Namespace) -> int:
    _check(args)
    try:
        from ..training.loop import TrainSettings
        from ..training.run import RunOptions, train_and_export
    except ImportError as exc:
        raise PlaceRecognitionError(
            f"{exc.name} is not installed: run this in the training environment "
            "(python3 -m venv .venv-train && .venv-train/bin/pip install -r "
            "scripts/requirements-train.txt)"
        ) from exc
    options = RunOptions(
        dataset=args.dataset,
        base_model=args.model or ensure_lite_model(progress=not args.quiet),
        output=args.output,
        positions_csv=args.positions,
        position_from_name=args.position_from_name,
        pos_radius=args.pos_radius,
        neg_radius=args.neg_radius,
        val_fraction=args.val_fraction,
        fp16=not args.fp32,
        features_cache=args.features_cache,
    )
    settings = TrainSettings(
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        margin=args.margin,
        negatives=args.negatives,
        refresh_every=args.refresh_every,
        patience=args.patience,
        seed=args.seed,
        loss=args.loss,
        steps_per_epoch=args.steps_per_epoch,
    )
    report = train_and_export(options, settings, resume=args.resume, progress=not args.quiet)
    before, after = report["validation_openvino"]["before"], report["validation_openvino"]["after"]
    print(f"{report['split']}; best epoch {report['best_epoch']}")
    print(
        f"validation R@1 / R@5 (OpenVINO, f32): before {before['1']:.3f} / {before['5']:.3f}, "
        f"after {after['1']:.3f} / {after['5']:.3f}"
    )
    print(f"wrote {report['trained_model']} and {Path(args.output) / 'report.json'}")
    logger.debug("%s", json.dumps(report["history"]))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
