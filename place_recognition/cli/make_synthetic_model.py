"""Write the synthetic netvlad-tf stand-in (random weights; it cannot recognise places)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..nets.synthetic import DEFAULT_INPUT_SIZE, write_synthetic_model
from ._args import CommandParser, add_verbosity_args, parse_size, positive_int
from ._run import run


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="make_synthetic_model",
        description="Build the netvlad-tf topology (VGG16 + NetVLAD K=64 + WPCA 4096) with "
        "seeded random weights and the OMZ IR interface. A SYNTHETIC stand-in for tests and "
        "benchmarks: it does not recognise places.",
    )
    parser.add_argument(
        "--width",
        type=positive_int,
        default=1,
        help="channel divisor: 1 = full size (149M parameters, 0.6 GB), "
        "16 = tiny variant for tests (default 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--input-size",
        type=parse_size,
        default=DEFAULT_INPUT_SIZE,
        help="HEIGHTxWIDTH (default 200x300, as the OMZ IR)",
    )
    parser.add_argument("--fp16", action="store_true", help="store weights as FP16")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="IR path (default <home>/models/synthetic/netvlad-tf-synthetic[-wN].xml)",
    )
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    path = write_synthetic_model(args.output, args.width, args.seed, args.input_size, args.fp16)
    print(f"wrote {path} (synthetic stand-in: random weights, it cannot recognise places)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
