"""Live place recognition on a camera, a video, an image or a folder of images.

Accepts every option of the Open Model Zoo place_recognition_demo in its spelling (-m, -i,
-gf/--gallery_folder, --gallery_size, --loop, -o, -limit/--output_limit, -d, --no_show, -u) and
adds: a persisted, incrementally updated index, places instead of images, an unknown-place
threshold, temporal smoothing, per-stage timings, JSON output.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import PlaceRecognitionError
from ._args import (
    CommandParser,
    add_aliases,
    add_gallery_arg,
    add_gallery_size_arg,
    add_index_arg,
    add_index_mode_args,
    add_threshold_arg,
    add_top_k_arg,
    add_verbosity_args,
    dataclass_defaults,
    non_negative_int,
    positive_int,
    settings_from_args,
)
from ._common import add_model_args
from ._demo_app import DemoSettings, run_demo
from ._run import run
from ._sequence import add_sequence_args


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="demo",
        description="Match camera/video/image frames against an indexed gallery, live.",
    )
    add_model_args(parser)
    parser.add_argument(
        "-i",
        "--input",
        required=True,
        help="'camera' (the first camera), a camera index (0, 1 ...), a video file, an image, or "
        "a folder of images (sorted by path)",
    )
    add_gallery_arg(
        parser, "gallery root; its index is built or updated first (GALLERY/.place_index/)"
    )
    add_gallery_size_arg(parser, "use only the first N gallery images in sorted order")
    parser.add_argument("--loop", action="store_true", help="restart videos, images and folders")
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="pace a video at its own frame rate, like a camera: only the newest frame is "
        "answered, frames that arrive while the pipeline is busy are dropped and counted, and "
        "the end-to-end latency is measured",
    )
    _add_output_args(parser)
    add_top_k_arg(parser, f"distinct places in the strip (default {DemoSettings.top_k})")
    add_threshold_arg(parser)
    parser.add_argument(
        "--smooth",
        type=positive_int,
        help="show the place voted by the last N frames (default 1: no smoothing)",
    )
    add_index_arg(parser, "index folder (default GALLERY/.place_index/<model fingerprint>/)")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="ignore the existing index and embed the whole gallery again",
    )
    add_index_mode_args(parser, building=True, keep_by_default=True)
    parser.add_argument(
        "--batch",
        type=positive_int,
        help="frames per inference request (default 1; 4-8 raise CPU throughput "
        "on video files, at the cost of latency)",
    )
    parser.add_argument(
        "--requests",
        type=positive_int,
        help="infer requests in flight (default: the device's optimum, >= 2)",
    )
    add_sequence_args(parser)
    add_verbosity_args(parser)
    # The settings' defaults (the model cache folder read now), so that the two cannot differ.
    parser.set_defaults(**dataclass_defaults(DemoSettings))
    return parser


def _add_output_args(parser: argparse.ArgumentParser) -> None:
    output = parser.add_argument_group("output")
    output.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write overlaid frames: a video (.avi MJPG, .mp4) or an image "
        "pattern such as out_%%04d.jpg, at the input frame rate",
    )
    limit = output.add_argument(
        "--output-limit",
        type=non_negative_int,
        metavar="N",
        help=f"write at most N frames, 0 = all (default {DemoSettings.output_limit}, as the OMZ "
        "demo)",
    )
    add_aliases(output, limit, "-limit", "--output_limit")
    no_show = output.add_argument("--no-show", action="store_true", help="no window (headless)")
    add_aliases(output, no_show, "--no_show")
    monitors = output.add_argument(
        "-u",
        "--utilization-monitors",
        default=None,
        help="accepted for OMZ compatibility and ignored",
    )
    add_aliases(output, monitors, "--utilization_monitors")
    output.add_argument(
        "--json",
        type=Path,
        help="write one JSON line per frame (top-k places, scores, coordinates, timings)",
    )


def _no_display() -> bool:
    """True on a Linux machine without X11/Wayland, where OpenCV's window would abort."""
    linux = sys.platform.startswith("linux")
    return linux and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.utilization_monitors is not None:
        # Printed, not logged, so that -q does not hide it.
        print(
            "demo: note: -u/--utilization-monitors is accepted for OMZ compatibility and ignored",
            file=sys.stderr,
        )
    if not args.no_show and _no_display():
        raise PlaceRecognitionError(
            "no display to open a window on (DISPLAY is not set): add --no-show, with -o to keep "
            "the overlaid frames"
        )
    run_demo(settings_from_args(DemoSettings, args), started)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
