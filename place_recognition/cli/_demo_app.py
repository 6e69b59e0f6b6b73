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
from ..video.pipeline import FramePipeline
from ..video.sources import ThreadedReader, open_source
from ._common import resolve_model_path
from ._demo_run import DemoRun, print_summary, run_loop

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
    quiet: bool = False


def run_demo(settings: DemoSettings, started: float | None = None) -> DemoRun:
    """Run the demo to the end of its input (or until stopped) and print its summary."""
    started = time.perf_counter() if started is None else started
    cap_thread_pools()
    source = open_source(settings.input, settings.loop)  # fail on a bad input before loading
    try:
        update = _open_model_and_gallery(settings, source.kind)
    except BaseException:
        source.close()
        raise
    threshold = resolve_threshold(settings.threshold, update.model, update.directory)
    logger.info("unknown-place threshold %s", threshold.describe())
    demo = DemoRun(settings, update.model, update, threshold, source, started)
    headless_capped = settings.no_show and settings.output is not None
    # A camera's queue stays short, so that what is shown is what is in front of it now.
    depth = 2 if source.kind == "camera" else 8
    reader = ThreadedReader(source, depth, limit=settings.output_limit if headless_capped else 0)
    # One request more than the device runs at once keeps it busy while this thread draws.
    requests = settings.requests or update.model.num_requests + (source.kind != "camera")
    run_loop(demo, FramePipeline(update.model, requests), reader)
    print_summary(demo)
    return demo


def _open_model_and_gallery(settings: DemoSettings, source_kind: str) -> IndexUpdate:
    """Compile the model and bring the gallery's index up to date (``update.model`` embeds)."""
    # A camera wants each frame's answer soon (LATENCY); a file wants frames per second.
    hint = settings.hint or ("LATENCY" if source_kind == "camera" else "THROUGHPUT")
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
