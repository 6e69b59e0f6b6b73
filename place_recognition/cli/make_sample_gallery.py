"""Write the generated sample gallery (procedural street scenes, no external data)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..core.home import display_path
from ..scenes.street import write_sample_gallery
from ._args import CommandParser, add_verbosity_args, positive_int
from ._run import run
from ._samples import SAMPLE_GALLERY


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="make_sample_gallery",
        description="Generate a gallery of procedural places: one subfolder per place, "
        "several views each.",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=SAMPLE_GALLERY,
        help=f"gallery folder to write (default {display_path(SAMPLE_GALLERY)})",
    )
    parser.add_argument("--places", type=positive_int, default=6, help="number of places (6)")
    parser.add_argument("--views", type=positive_int, default=3, help="views per place (3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    written = write_sample_gallery(args.output, args.places, args.views, args.seed)
    print(f"wrote {len(written)} images of {args.places} places to {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
