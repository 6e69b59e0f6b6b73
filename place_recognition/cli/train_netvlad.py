"""Fine-tune netvlad-lite's NetVLAD head and whitening on a labelled set, export an IR.

Needs torch (scripts/requirements-train.txt); the training modules are imported only here, so
the other commands never load torch.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from ..core.home import display_path, output_dir
from ..errors import PlaceRecognitionError
from ..training.settings import RunOptions, TrainSettings
from ..zoo.lite import ensure_lite_model
from ._args import (
    CommandParser,
    add_model_path_arg,
    add_verbosity_args,
    dataclass_defaults,
    positive_float,
    positive_int,
    settings_from_args,
)
from ._run import run

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT = output_dir("train")
TRAIN = TrainSettings()
RUN = dataclass_defaults(RunOptions)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="train_netvlad",
        description="Fine-tune the NetVLAD layer and whitening of a netvlad-lite IR on a "
        "labelled set with image positions (backbone frozen, its local features cached), "
        "validate on a held-out route segment, and export the best head as an IR that every "
        "command takes with -m. Run it in the training environment "
        "(scripts/requirements-train.txt).",
    )
    _add_data_args(parser)
    _add_training_args(parser)
    out = parser.add_argument_group("model")
    add_model_path_arg(
        out, "the netvlad-lite IR to start from (default: the shipped one, built on first use)"
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
        help="folder of the cached local features (default: the user cache)",
    )
    add_verbosity_args(parser)
    # The defaults are the library's own: the options cannot drift from them.
    run_defaults = {name: value for name, value in RUN.items() if name != "fp16"}
    parser.set_defaults(**dataclass_defaults(TrainSettings), **run_defaults)
    return parser


def _add_data_args(parser: argparse.ArgumentParser) -> None:
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
        dest="positions_csv",
        type=Path,
        metavar="CSV",
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
        help=f"potential positives lie within this distance (default {RUN['pos_radius']:g})",
    )
    data.add_argument(
        "--neg-radius",
        type=positive_float,
        help=f"negatives lie beyond it; the split gap exceeds it (default {RUN['neg_radius']:g})",
    )
    data.add_argument(
        "--val-fraction",
        type=positive_float,
        help=f"route share of the validation segment, at the route's end ({RUN['val_fraction']:g})",
    )


def _add_training_args(parser: argparse.ArgumentParser) -> None:
    train = parser.add_argument_group("training")
    train.add_argument(
        "--loss",
        choices=("ranking", "triplet"),
        help="ranking: NetVLAD's weakly supervised ranking loss; triplet: online-hardest "
        "triplets of place IDs (label column or grid cells of --pos-radius) "
        f"(default {TRAIN.loss})",
    )
    train.add_argument("--epochs", type=positive_int, help=f"(default {TRAIN.epochs})")
    train.add_argument(
        "--batch",
        type=positive_int,
        help=f"queries (ranking) or places (triplet) per step (default {TRAIN.batch})",
    )
    train.add_argument(
        "--lr", type=positive_float, help=f"Adam learning rate (default {TRAIN.lr:g})"
    )
    train.add_argument("--margin", type=positive_float, help=f"(default {TRAIN.margin:g})")
    train.add_argument(
        "--negatives",
        type=positive_int,
        help=f"hardest negatives per query (default {TRAIN.negatives})",
    )
    train.add_argument(
        "--refresh-every",
        type=positive_int,
        help=f"steps between refreshes of the hard-negative cache (default {TRAIN.refresh_every})",
    )
    train.add_argument(
        "--steps-per-epoch",
        type=positive_int,
        help="at most this many steps per epoch (default: every training query once)",
    )
    train.add_argument(
        "--patience",
        type=positive_int,
        help=f"stop after this many epochs without a better validation R@1 "
        f"(default {TRAIN.patience})",
    )
    train.add_argument("--seed", type=int, help=f"(default {TRAIN.seed})")
    train.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint.pt")


def run_settings(args: argparse.Namespace, base_model: Path) -> tuple[RunOptions, TrainSettings]:
    """The library's settings from the options of the same names."""
    shared = {f.name: getattr(args, f.name) for f in fields(RunOptions) if hasattr(args, f.name)}
    shared |= {"base_model": base_model, "fp16": not args.fp32}
    return RunOptions(**shared), settings_from_args(TrainSettings, args)


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
        from ..training.run import train_and_export
    except ImportError as exc:
        raise PlaceRecognitionError(
            f"{exc.name} is not installed: run this in the training environment "
            "(python3 -m venv .venv-train && .venv-train/bin/pip install -r "
            "scripts/requirements-train.txt)"
        ) from exc
    base_model = args.model or ensure_lite_model(progress=not args.quiet)
    options, settings = run_settings(args, base_model)
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
