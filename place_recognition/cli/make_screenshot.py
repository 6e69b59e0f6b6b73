"""The README's screenshot: one frame of the demo's overlay on the quick start's walk.

Runs the demo headless with the default model on the generated sample gallery and walk (as the
quick start does), keeps frame ``--frame`` of its overlaid output and writes it, scaled down, as
a small PNG (default ``docs/demo_overlay.png`` in the data home: the checkout's in a checkout).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2

from ..core.files import atomic_write_bytes
from ..core.home import data_home, display_path
from ..errors import PlaceRecognitionError
from ..scenes.street import write_sample_gallery
from ._args import CommandParser, add_model_path_arg, add_verbosity_args, positive_int
from ._demo_app import DemoSettings, run_demo
from ._run import run
from ._samples import SAMPLE_GALLERY, write_sample_video

DEFAULT_OUTPUT = data_home() / "docs" / "demo_overlay.png"


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="make_screenshot", description=__doc__.split("\n")[0])
    add_model_path_arg(parser, "model (default: the default model)")
    parser.add_argument("--frame", type=positive_int, default=40, help="frame to keep (40)")
    parser.add_argument("--width", type=positive_int, default=720, help="PNG width (720)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"PNG file (default {display_path(DEFAULT_OUTPUT)})",
    )
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    if not SAMPLE_GALLERY.is_dir():
        write_sample_gallery(SAMPLE_GALLERY)
    with tempfile.TemporaryDirectory(prefix="screenshot-") as tmp:
        video = write_sample_video(Path(tmp) / "walk.avi")
        pattern = Path(tmp) / "frame_%04d.png"
        settings = DemoSettings(
            input=str(video),
            gallery=SAMPLE_GALLERY,
            model=args.model,
            no_show=True,
            output=pattern,
            output_limit=args.frame + 1,
            quiet=True,
        )
        run_demo(settings)
        shot = cv2.imread(str(pattern).replace("%04d", f"{args.frame:04d}"))
        if shot is None:
            raise PlaceRecognitionError(f"the demo did not write frame {args.frame}")
    height = round(shot.shape[0] * args.width / shot.shape[1])
    small = cv2.resize(shot, (args.width, height), interpolation=cv2.INTER_AREA)
    _, data = cv2.imencode(".png", small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.output, data.tobytes())
    print(f"wrote {args.output} ({small.shape[1]}x{small.shape[0]}, {len(data) // 1024} KB)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
