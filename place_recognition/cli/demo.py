"""Live place recognition on a camera, a video, an image or a folder of images.

``python demo.py -i camera -gf gallery/``.

Accepts every option of the Open Model Zoo place_recognition_demo (-m, -i, -gf, --gallery_size,
--loop, -o, -limit, -d, --no_show, -u) and adds: a persisted, incrementally updated index, places
instead of images, an unknown-place threshold, temporal smoothing, per-stage timings, JSON output.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..core.home import cache_dir
from ..core.model import EmbeddingModel
from ..core.sysinfo import cap_thread_pools
from ..errors import PlaceRecognitionError
from ..indexing.listing import list_gallery
from ..indexing.update import IndexUpdate, UpdateOptions, update_index
from ..recognition.thresholds import resolve_threshold
from ..video.live import LivePipeline, NewestFrameReader
from ..video.pipeline import FramePipeline
from ..video.sources import ThreadedReader, open_source
from ._common import (
    add_index_mode_args,
    add_model_args,
    add_verbosity_args,
    positive_int,
    resolve_model_path,
    run,
)
from ._demo_run import DemoRun, print_summary, run_loop
from ._sequence import add_sequence_args, route_stream

logger = logging.getLogger("place_recognition.cli.demo")


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="demo",
        description="Match camera/video/image frames against an indexed gallery, live.",
    )
    add_model_args(parser)
    parser.set_defaults(cache_dir=cache_dir() / "openvino")
    parser.add_argument(
        "-i",
        "--input",
        required=True,
        help="'camera' (the first camera), a camera index (0, 1 ...), a video file, an image, or "
        "a folder of images (sorted by path)",
    )
    parser.add_argument(
        "-gf",
        "--gallery_folder",
        "--gallery",
        dest="gallery",
        type=Path,
        required=True,
        help="gallery root; its index is built or updated first (GALLERY/.place_index/)",
    )
    parser.add_argument(
        "--gallery_size",
        type=positive_int,
        default=None,
        help="use only the first N gallery images in sorted order",
    )
    parser.add_argument("--loop", action="store_true", help="restart videos, images and folders")
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="pace a video at its own frame rate, like a camera: only the newest frame is "
        "answered, frames that arrive while the pipeline is busy are dropped and counted, and "
        "the end-to-end latency is measured",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="write overlaid frames: a video (.avi MJPG, .mp4) or an image "
        "pattern such as out_%%04d.jpg, at the input frame rate",
    )
    parser.add_argument(
        "-limit",
        "--output_limit",
        type=non_negative_int,
        default=1000,
        help="write at most N frames, 0 = all (default 1000, as the OMZ demo)",
    )
    parser.add_argument("--no_show", action="store_true", help="no window (headless)")
    parser.add_argument(
        "-u",
        "--utilization_monitors",
        default=None,
        help="accepted for OMZ compatibility and ignored",
    )
    parser.add_argument(
        "-k",
        "--top-k",
        type=positive_int,
        default=5,
        help="distinct places in the strip (default 5)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="similarity below which the place is 'unknown' (default: the "
        "calibrated value of the index or model, else 0; "
        "0 = never unknown)",
    )
    parser.add_argument(
        "--smooth",
        type=positive_int,
        default=1,
        help="show the place voted by the last N frames (default 1: no smoothing)",
    )
    parser.add_argument(
        "--index",
        type=Path,
        default=None,
        help="index folder (default GALLERY/.place_index/<model fingerprint>/)",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="ignore the existing index and embed the whole gallery again",
    )
    add_index_mode_args(parser, building=True, keep_by_default=True)
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=1,
        help="frames per inference request (default 1; 4-8 raise CPU throughput "
        "on video files, at the cost of latency)",
    )
    parser.add_argument(
        "--requests",
        type=positive_int,
        default=None,
        help="infer requests in flight (default: the device's optimum, >= 2)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="write one JSON line per frame (top-k places, scores, coordinates, timings)",
    )
    add_sequence_args(parser)
    add_verbosity_args(parser)
    return parser


def _open_gallery(
    model: EmbeddingModel, args: argparse.Namespace, listing: Future | None
) -> IndexUpdate:
    """Find, build or update the gallery's index; refuse a damaged or foreign one with the fix."""
    options = UpdateOptions(
        rebuild=args.rebuild,
        max_images=args.gallery_size,
        index_mode=args.index_mode,
        nprobe=args.nprobe,
        progress=not args.quiet,
    )
    # A damaged or foreign index is refused naming --rebuild (the error's remedy, _common.run).
    update = update_index(model, args.gallery, args.index, options, listing=listing)
    if len(update.index) == 0:
        raise PlaceRecognitionError(
            f"gallery {args.gallery} has no readable images (jpg, png, bmp, webp, tif in it or "
            "its subfolders); add images of the known places"
        )
    places = len({record.label for record in update.index.records})
    logger.info(
        "gallery %s: %d images of %d places (%d embedded now) in %.2f s",
        args.gallery,
        len(update.index),
        places,
        update.embedded,
        update.seconds,
    )
    return update


def _no_display() -> bool:
    """True on a Linux machine without X11/Wayland, where OpenCV's window would abort."""
    linux = sys.platform.startswith("linux")
    return linux and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _is_live(args: argparse.Namespace, kind: str) -> bool:
    """A camera, or a video paced like one (--realtime): the newest frame answered now."""
    if args.realtime and kind != "video":
        raise PlaceRecognitionError(
            f"--realtime paces a video file at its frame rate; -i {args.input} is a {kind}"
            + (" (a camera is live already)" if kind == "camera" else "")
        )
    return kind == "camera" or args.realtime


def _live_path(args: argparse.Namespace, model: EmbeddingModel, source, limit: int):
    """Live input: only the newest frame is kept, one request answers it (the lowest latency
    that keeps the frame rate on CPUs, measured: docs/demo.md); --requests N overrides."""
    reader = NewestFrameReader(source, realtime=args.realtime, limit=limit)
    if args.requests and args.requests > 1:
        return reader, FramePipeline(model, args.requests)
    return reader, LivePipeline(model)


def _main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.utilization_monitors is not None:
        # Printed, not logged, so that -q does not hide it.
        print(
            "demo: note: -u/--utilization_monitors is accepted for OMZ compatibility and ignored",
            file=sys.stderr,
        )
    if not args.no_show and _no_display():
        raise PlaceRecognitionError(
            "no display to open a window on (DISPLAY is not set): add --no_show, with -o to keep "
            "the overlaid frames"
        )
    cap_thread_pools()
    source = open_source(args.input, args.loop)  # fail on a bad input before loading anything
    # A camera wants each frame's answer soon (LATENCY); a file wants frames per second.
    live = _is_live(args, source.kind)
    # Live input wants each frame's answer soon (LATENCY); a file wants frames per second.
    hint = args.hint or ("LATENCY" if live else "THROUGHPUT")
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The gallery is listed (stat calls) while the model compiles: on a warm start with a
        # big gallery these two are most of the time to the first frame.
        listing = (
            None if args.rebuild else pool.submit(list_gallery, args.gallery, args.gallery_size)
        )
        model = EmbeddingModel(
            resolve_model_path(args.model),
            args.device,
            args.precision,
            hint,
            args.cache_dir,
            num_requests=args.requests,
            batch=args.batch,
        )
        update = _open_gallery(model, args, listing)
    threshold = resolve_threshold(args.threshold, update.model, update.directory)
    logger.info("unknown-place threshold %s", threshold.describe())
    stream = route_stream(args, update.index, source.kind)
    demo = DemoRun(args, update.model, update, threshold, source, started, stream)
    limit = args.output_limit if args.no_show and args.output is not None else 0
    reader, pipeline = (
        _live_path(args, update.model, source, limit)
        if live
        else (
            ThreadedReader(source, 8, limit=limit),
            # One request more than the device runs at once keeps it busy while this thread draws.
            FramePipeline(update.model, args.requests or update.model.num_requests + 1),
        )
    )
    demo.live = live
    run_loop(demo, pipeline, reader)
    print_summary(demo, reader)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
