"""The demo as a whole, for ``demo`` and the commands that run it (quick start, screenshot):
its settings, and the start-up that opens the input, the model and the gallery's index before
the frames run through ``_demo_run``.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..core.home import cache_dir
from ..core.model import EmbeddingModel
from ..core.sysinfo import cap_thread_pools
from ..errors import PlaceRecognitionError
from ..indexing.listing import list_gallery
from ..indexing.update import IndexUpdate, UpdateOptions, update_index
from ..recognition.thresholds import resolve_threshold
from ..sequence.settings import DEFAULT_MIN_CONFIDENCE, DEFAULT_VELOCITIES
from ..video.live import LivePipeline, NewestFrameReader
from ..video.pipeline import FramePipeline
from ..video.sources import FrameSource, ThreadedReader, open_source
from ._common import resolve_model_path
from ._demo_run import DemoRun, print_summary, run_loop
from ._sequence import route_stream

logger = logging.getLogger("place_recognition.cli.demo")


def _model_cache() -> Path:
    return cache_dir() / "openvino"


@dataclass
class DemoSettings:
    """What one demo run is asked to do; the demo's options have these names and defaults."""

    input: str  # 'camera', a camera index, a video, an image or a folder of images
    gallery: Path
    model: Path | None = None  # None: the default model
    device: str = "CPU"
    precision: str | None = None
    hint: str | None = None  # None: LATENCY for a camera, THROUGHPUT for files
    cache_dir: Path | None = field(default_factory=_model_cache)
    gallery_size: int | None = None
    loop: bool = False
    realtime: bool = False  # pace a video like a camera (newest frame, latency measured)
    output: Path | None = None  # overlaid frames: a video or an image pattern
    output_limit: int = 1000  # frames written at most, 0 = all (as the OMZ demo)
    no_show: bool = False
    top_k: int = 5
    threshold: float | None = None  # None: the calibrated one
    smooth: int = 1
    index: Path | None = None
    rebuild: bool = False
    index_mode: str | None = None  # None: the saved index's mode
    nprobe: int | None = None
    batch: int = 1
    requests: int | None = None
    json: Path | None = None
    sequence: int | None = None  # sequence length L; 0 = off, None = on for streams vs routes
    velocities: tuple[float, float, float] = DEFAULT_VELOCITIES
    sequence_confidence: float = DEFAULT_MIN_CONFIDENCE
    quiet: bool = False


def run_demo(settings: DemoSettings, started: float | None = None) -> DemoRun:
    """Run the demo to the end of its input (or until stopped) and print its summary."""
    started = time.perf_counter() if started is None else started
    cap_thread_pools()
    source = open_source(settings.input, settings.loop)  # fail on a bad input before loading
    try:
        live = _is_live(settings, source.kind)
        update = _open_model_and_gallery(settings, live)
    except BaseException:
        source.close()
        raise
    threshold = resolve_threshold(settings.threshold, update.model, update.directory)
    logger.info("unknown-place threshold %s", threshold.describe())
    stream = route_stream(settings, update.index, source.kind)
    demo = DemoRun(settings, update.model, update, threshold, source, started, stream, live=live)
    headless_capped = settings.no_show and settings.output is not None
    limit = settings.output_limit if headless_capped else 0
    reader, pipeline = (
        _live_path(settings, update.model, source, limit)
        if live
        # One request more than the device runs at once keeps it busy while this thread draws.
        else (
            ThreadedReader(source, 8, limit=limit),
            FramePipeline(update.model, settings.requests or update.model.num_requests + 1),
        )
    )
    run_loop(demo, pipeline, reader)
    print_summary(demo, reader)
    return demo


def _is_live(settings: DemoSettings, kind: str) -> bool:
    """A camera, or a video paced like one (--realtime): the newest frame answered now."""
    if settings.realtime and kind != "video":
        raise PlaceRecognitionError(
            f"--realtime paces a video file at its frame rate; -i {settings.input} is a {kind}"
            + (" (a camera is live already)" if kind == "camera" else "")
        )
    return kind == "camera" or settings.realtime


def _live_path(settings: DemoSettings, model: EmbeddingModel, source: FrameSource, limit: int):
    """Live input: only the newest frame is kept, one request answers it (the lowest latency
    that keeps the frame rate on CPUs, measured: docs/live.md); ``requests`` > 1 overrides."""
    reader = NewestFrameReader(source, realtime=settings.realtime, limit=limit)
    if settings.requests and settings.requests > 1:
        return reader, FramePipeline(model, settings.requests)
    return reader, LivePipeline(model)


def _open_model_and_gallery(settings: DemoSettings, live: bool) -> IndexUpdate:
    """Compile the model and bring the gallery's index up to date (``update.model`` embeds)."""
    # Live input wants each frame's answer soon (LATENCY); a file wants frames per second.
    hint = settings.hint or ("LATENCY" if live else "THROUGHPUT")
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The gallery is listed (stat calls) while the model compiles: on a warm start with a
        # big gallery these two are most of the time to the first frame.
        listing = (
            None
            if settings.rebuild
            else pool.submit(list_gallery, settings.gallery, settings.gallery_size)
        )
        model = EmbeddingModel(
            resolve_model_path(settings.model),
            settings.device,
            settings.precision,
            hint,
            settings.cache_dir,
            num_requests=settings.requests,
            batch=settings.batch,
        )
        return _open_gallery(model, settings, listing)


def _open_gallery(
    model: EmbeddingModel, settings: DemoSettings, listing: Future | None
) -> IndexUpdate:
    """Find, build or update the gallery's index; refuse a damaged or foreign one with the fix."""
    options = UpdateOptions(
        rebuild=settings.rebuild,
        max_images=settings.gallery_size,
        index_mode=settings.index_mode,
        nprobe=settings.nprobe,
        progress=not settings.quiet,
    )
    # A damaged or foreign index is refused naming --rebuild (the error's remedy, _run.run).
    update = update_index(model, settings.gallery, settings.index, options, listing=listing)
    if len(update.index) == 0:
        raise PlaceRecognitionError(
            f"gallery {settings.gallery} has no readable images (jpg, png, bmp, webp, tif in it "
            "or its subfolders); add images of the known places"
        )
    places = len({record.label for record in update.index.records})
    logger.info(
        "gallery %s: %d images of %d places (%d embedded now) in %.2f s",
        settings.gallery,
        len(update.index),
        places,
        update.embedded,
        update.seconds,
    )
    return update
