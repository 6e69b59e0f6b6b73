"""Time to the first frame on a warm start with a 100k-image gallery.

``python scripts/measure_warm_start.py [--images 100000]`` makes (once) a gallery of N small
files in 1000 place folders and its index with random unit vectors of the model's size
(embedding 100k images would take hours and changes nothing about start-up), lets
``update_index`` record the gallery listing as a normal run would, then starts the demo
``--runs`` times on a short generated video (--output-limit 1) and prints the demo's own "first
frame after start" and the whole process's wall time, with the command.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from ..core.home import output_dir
from ._args import (
    CommandParser,
    add_model_path_arg,
    add_verbosity_args,
    add_workdir_arg,
    positive_int,
)
from ._common import resolve_model_path
from ._run import run
from ._warm_start import warm_starts

OUT = output_dir("warm_start")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="measure_warm_start", description=__doc__.split("\n")[0])
    add_model_path_arg(parser, "model (default: the default model)")
    parser.add_argument("--images", type=positive_int, default=100_000, help="gallery size")
    parser.add_argument("--runs", type=positive_int, default=3, help="demo starts (3)")
    add_workdir_arg(parser, OUT)
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    model_path = resolve_model_path(args.model)
    results = warm_starts(model_path, args.images, args.workdir, args.runs, progress=not args.quiet)
    for first, wall in results:
        print(f"  first frame {first:.2f} s after the demo's start; process wall time {wall:.2f} s")
    firsts = sorted(first for first, _ in results)
    walls = sorted(wall for _, wall in results)
    print(
        f"{args.images} images: median first frame {firsts[len(firsts) // 2]:.2f} s "
        f"(process incl. interpreter start and exit {walls[len(walls) // 2]:.2f} s); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
