"""Build netvlad-lite from the committed backbone IR (no torch, no download)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..core.home import display_path
from ..nets.lite import TAP_CHANNELS
from ..nets.lite_build import (
    LiteRecipe,
    build_meanpool,
    default_lite_path,
)
from ..zoo.lite import build_calibrated_lite
from ._args import (
    CommandParser,
    add_verbosity_args,
    parse_size,
    positive_int,
    weight_fraction,
)
from ._run import run


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="build_netvlad_lite",
        description="Fit a NetVLAD head (k-means vocabulary, PCA-whitening) on a calibration "
        "folder (default: generated scenes) and write the netvlad-lite IR.",
    )
    parser.add_argument("--calibration", type=Path, default=None, help="any image folder")
    parser.add_argument("-K", "--clusters", type=positive_int, default=LiteRecipe.clusters)
    parser.add_argument("--dim", type=positive_int, default=LiteRecipe.dim)
    parser.add_argument("--input-size", type=parse_size, default=LiteRecipe.input_size)
    parser.add_argument("--tap", choices=sorted(TAP_CHANNELS), default=LiteRecipe.tap)
    parser.add_argument(
        "--second-weight",
        type=weight_fraction,
        default=LiteRecipe.second_weight,
        help="soft-assignment sharpness: the second-nearest centre's weight relative to the "
        f"nearest one's, on average (default {LiteRecipe.second_weight}; NetVLAD's "
        "initialisation is 0.01; larger is softer)",
    )
    parser.add_argument("--meanpool", action="store_true", help="write the mean-pool baseline")
    parser.add_argument("--fp32", action="store_true", help="FP32 weights (default FP16)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=default_lite_path(),
        help=f"the IR (default {display_path(default_lite_path())}, the default model's path)",
    )
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    if args.meanpool:
        tap = "head" if args.tap == LiteRecipe.tap else args.tap
        path = build_meanpool(args.output, tap, args.input_size)
        print(f"wrote {path} (baseline: mean-pooled {tap} features)")
        return 0
    recipe = replace(
        LiteRecipe(),
        tap=args.tap,
        input_size=args.input_size,
        clusters=args.clusters,
        dim=args.dim,
        second_weight=args.second_weight,
    )
    started = time.perf_counter()
    path = build_calibrated_lite(
        args.output,
        recipe=recipe,
        calibration=args.calibration,
        fp16=not args.fp32,
        progress=not args.quiet,
    )
    print(f"wrote {path} in {time.perf_counter() - started:.0f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
