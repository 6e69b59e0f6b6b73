"""Live place recognition: ``python demo.py -i camera -m models/netvlad-tf.xml -gf gallery/``.

Accepts every option of the Open Model Zoo place_recognition_demo (-m, -i, -gf, --gallery_size,
--loop, -o, -limit, -d, --no_show, -u) and adds: a persisted, incrementally updated index, places
instead of images, an unknown-place threshold, temporal smoothing, per-stage timings, JSON output.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from ..errors import PlaceRecognitionError
from ..fingerprint import cache_dir
from ..frames import FrameSource, ThreadedReader, open_source
from ..index import IndexFormatError, IndexMismatchError
from ..indexing import IndexUpdate, update_index
from ..model import EmbeddingModel
from ..overlay import OverlayView, draw_overlay
from ..pipeline import Embedded, FramePipeline
from ..results import PlaceVoter, decide, search_places
from ..sysinfo import cap_thread_pools
from ..thresholds import Threshold, resolve_threshold
from ..thumbnails import ThumbnailCache
from ..timing import RateMeter, StageTimes
from ._common import add_model_args, add_verbosity_args, positive_int, resolve_model_path, run
from ._demo_io import FrameWriter, JsonLinesWriter

logger = logging.getLogger("place_recognition.cli.demo")

WINDOW = "place recognition"
QUIT_KEYS = {27, ord("q"), ord("Q")}
PAUSE_KEY = ord(" ")


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
    add_verbosity_args(parser)
    return parser


def _open_gallery(model: EmbeddingModel, args: argparse.Namespace) -> IndexUpdate:
    """Find, build or update the gallery's index; refuse a damaged or foreign one with the fix."""
    try:
        update = update_index(
            model,
            args.gallery,
            args.index,
            rebuild=args.rebuild,
            max_images=args.gallery_size,
            progress=not args.quiet,
        )
    except (IndexFormatError, IndexMismatchError) as exc:
        raise PlaceRecognitionError(f"{exc} (or run the demo with --rebuild)") from exc
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


@dataclass
class _Run:
    """Everything one demo run uses, and what it measured."""

    args: argparse.Namespace
    model: EmbeddingModel
    update: IndexUpdate
    threshold: Threshold
    source: FrameSource
    started: float
    times: StageTimes = field(default_factory=StageTimes)
    meter: RateMeter = field(default_factory=RateMeter)
    frames: int = 0
    first_frame_s: float | None = None
    loop_seconds: float = 0.0
    stopped_by_user: bool = False

    def __post_init__(self) -> None:
        self.thumbnails = ThumbnailCache(self.args.gallery)
        self.voter = PlaceVoter(self.args.smooth)
        places = len({record.label for record in self.update.index.records})
        self.lines = (
            f"{self.model.name} {self.model.device} {self.model.precision}",
            f"gallery {len(self.update.index)} images, {places} places",
        )
        self.notice = (
            "SYNTHETIC model (random weights): it cannot recognise places"
            if self.model.synthetic
            else None
        )
        self.writer = (
            FrameWriter(self.args.output, self.source.fps, self.args.output_limit)
            if self.args.output
            else None
        )
        self.json = JsonLinesWriter(self.args.json) if self.args.json else None
        self.paused = False

    def process(self, item: Embedded) -> bool:
        """Search, decide, draw, write and show one frame; False when the run should stop."""
        frame = item.frame
        started = time.perf_counter()
        places = search_places(self.update.index, item.embedding[None], self.args.top_k)[0]
        searched = time.perf_counter()
        result = decide(places, self.threshold.value, self.voter)
        thumbs = [self.thumbnails.get(place.match.record.path) for place in places]
        view = OverlayView(
            result,
            thumbs,
            self.meter.fps,
            self.times.recent_ms(),
            self.lines,
            self.notice,
            self.paused,
        )
        canvas = draw_overlay(frame.image, view)
        stages = {
            "decode": frame.decode_seconds,
            "inference": item.inference_seconds,
            "search": searched - started,
            "draw": time.perf_counter() - searched,
        }
        for stage, seconds in stages.items():
            self.times.add(stage, seconds)
        if self.writer:
            self.writer.write(canvas)
        if self.json:
            timings = {stage: round(seconds * 1000.0, 3) for stage, seconds in stages.items()}
            self.json.write(
                {
                    "frame": frame.index,
                    "name": frame.name,
                    **result.to_json(),
                    "timings_ms": timings,
                }
            )
        self.frames += 1
        self.meter.tick()
        if self.first_frame_s is None:
            self.first_frame_s = time.perf_counter() - self.started
        if not self.args.no_show:
            return self._show(canvas)
        return not (self.writer and self.writer.full)

    def _show(self, canvas) -> bool:
        cv2.imshow(WINDOW, canvas)
        key = cv2.waitKey(1) & 0xFF
        while True:
            if key in QUIT_KEYS:
                self.stopped_by_user = True
                return False
            if key == PAUSE_KEY:
                self.paused = not self.paused
            if not self.paused:
                return True
            key = cv2.waitKey(50) & 0xFF

    def close(self) -> None:
        for output in (self.writer, self.json):
            if output is not None:
                output.close()
        if not self.args.no_show:
            cv2.destroyAllWindows()


def _loop(demo: _Run, pipeline: FramePipeline, reader: ThreadedReader) -> None:
    loop_started = time.perf_counter()
    try:
        for item in pipeline.run(reader):
            if not demo.process(item):
                break
    except KeyboardInterrupt:
        demo.stopped_by_user = True
    finally:
        demo.loop_seconds = time.perf_counter() - loop_started
        reader.close()
        demo.close()


def _summary(demo: _Run) -> None:
    fps = demo.frames / demo.loop_seconds if demo.loop_seconds > 0 else 0.0
    why = (
        "stopped by the user"
        if demo.stopped_by_user
        else ("the camera stopped delivering frames" if demo.source.ended_early else "end of input")
    )
    print(f"summary: {demo.frames} frames ({why}), mean FPS {fps:.2f}")
    for stage, stats in demo.times.summary().items():
        print(f"  {stage:<10} median {stats.median_ms:8.2f} ms   p90 {stats.p90_ms:8.2f} ms")
    model = demo.model
    print(
        f"  model {model.name}: device {model.device}, precision {model.precision}, "
        f"batch {model.batch}, {demo.args.requests or model.num_requests} requests"
    )
    if demo.first_frame_s is not None:
        print(f"  first frame {demo.first_frame_s:.2f} s after start")
    if demo.writer:
        print(f"  wrote {demo.writer.written} frames to {demo.writer.path}")
    if demo.json:
        print(f"  wrote {demo.frames} JSON lines to {demo.json.path}")


def _main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.utilization_monitors is not None:
        logger.warning("-u/--utilization_monitors is accepted for OMZ compatibility and ignored")
    cap_thread_pools()
    source = open_source(args.input, args.loop)  # fail on a bad input before loading anything
    # A camera wants each frame's answer soon (LATENCY); a file wants frames per second.
    hint = args.hint or ("LATENCY" if source.kind == "camera" else "THROUGHPUT")
    model = EmbeddingModel(
        resolve_model_path(args.model),
        args.device,
        args.precision,
        hint,
        args.cache_dir,
        num_requests=args.requests,
        batch=args.batch,
    )
    update = _open_gallery(model, args)
    threshold = resolve_threshold(args.threshold, update.model, update.directory)
    logger.info("unknown-place threshold %.4f (%s)", threshold.value, threshold.source)
    demo = _Run(args, update.model, update, threshold, source, started)
    headless_capped = args.no_show and args.output is not None
    reader = ThreadedReader(source, limit=args.output_limit if headless_capped else 0)
    _loop(demo, FramePipeline(update.model, args.requests), reader)
    _summary(demo)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
