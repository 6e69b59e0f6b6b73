"""The service's engine: the model and the gallery's index, reloaded when a new generation is
committed, and a batcher that embeds concurrent requests together.

Hot reload: a thread looks at the index folder's manifest every ``reload_seconds``; when its
generation changed it loads the new index (and the model that embeds queries for it) aside and
then swaps one reference, so a request sees the old index or the new one, never a mix.

Batching: requests wait in a bounded queue (a full queue is refused at once, for a 503); a
worker takes the first waiting request and the others waiting with it, and when there were
others (the server is under load) those arriving within a few milliseconds more (up to
``max_batch``); it embeds them in one call on a worker thread and answers each with its own
search. A lone request on an idle server is embedded at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.model import EmbeddingModel
from ..index.manifest import read_manifest
from ..index.place_index import default_index_dir
from ..index.records import GalleryRecord
from ..recognition.recognizer import PlaceRecognizer
from ..recognition.thresholds import Threshold, resolve_threshold
from .settings import ServiceSettings

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """More requests wait for the model than the queue holds."""


@dataclass(frozen=True)
class Gallery:
    """One generation of the gallery's index, with what the service needs to answer from it."""

    recognizer: PlaceRecognizer
    threshold: Threshold
    generation: int
    by_id: dict[str, int] = field(default_factory=dict)  # record sha256 -> faiss id

    @classmethod
    def open(cls, model: EmbeddingModel, gallery: Path, index_dir: Path, threshold: float | None):
        recognizer = PlaceRecognizer.open(model, gallery, index_dir)
        resolved = resolve_threshold(threshold, recognizer.model, index_dir)
        by_id = {record.sha256: i for i, record in enumerate(recognizer.index.records)}
        return cls(recognizer, resolved, recognizer.index.generation, by_id)

    def record(self, record_id: str) -> GalleryRecord | None:
        row = self.by_id.get(record_id)
        return None if row is None else self.recognizer.index.records[row]


@dataclass
class _Job:
    image: np.ndarray
    future: asyncio.Future
    queued: float


class Engine:
    """Serves recognition requests from one model and one gallery folder.

    Args:
        model: the model the gallery was indexed with (a fitted gallery's own model is found
            through the index, as ``PlaceRecognizer.open`` does).
        gallery: the gallery root; index_dir: its index folder (default location unless given).
        threshold: the unknown-place threshold (None: the calibrated one, as the demo does).
    """

    def __init__(
        self,
        model: EmbeddingModel,
        gallery: Path,
        index_dir: Path | None,
        settings: ServiceSettings,
        threshold: float | None = None,
    ) -> None:
        self.model, self.gallery, self.settings = model, Path(gallery), settings
        self.index_dir = (
            Path(index_dir) if index_dir else default_index_dir(gallery, model.fingerprint)
        )
        self._threshold = threshold
        self.current = Gallery.open(model, self.gallery, self.index_dir, threshold)
        self._queue: asyncio.Queue[_Job] | None = None
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="engine")
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="index-reload", daemon=True)
        self._batcher: asyncio.Task | None = None

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._queue = asyncio.Queue(maxsize=self.settings.max_queue)
        self._batcher = asyncio.get_running_loop().create_task(self._batch_forever())
        self._watcher.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._batcher is not None:
            self._batcher.cancel()
        self._workers.shutdown(wait=False, cancel_futures=True)

    # --- hot reload ----------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(self.settings.reload_seconds):
            try:
                self.reload_if_changed()
            except Exception:  # a half-written or damaged folder: keep serving the old one
                logger.exception(
                    "index reload failed; still serving generation %d", self.current.generation
                )

    def reload_if_changed(self) -> bool:
        """Load the index folder's generation if it is not the one being served."""
        manifest = read_manifest(self.index_dir, missing_ok=True)
        if manifest is None or manifest.generation == self.current.generation:
            return False
        fresh = Gallery.open(self.model, self.gallery, self.index_dir, self._threshold)
        self.current = fresh  # one reference: a request uses the old gallery or the new one
        logger.info(
            "serving index generation %d (%d images)", fresh.generation, len(fresh.recognizer.index)
        )
        return True

    # --- batching ------------------------------------------------------------------------
    async def embed(self, image: np.ndarray) -> tuple[np.ndarray, Gallery, dict[str, float]]:
        """The image's descriptor (D,), the gallery generation it is meant for, and timings (ms).

        Raises QueueFull when ``max_queue`` requests are waiting already.
        """
        assert self._queue is not None, "the engine is not started"
        future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Job(image, future, time.perf_counter()))
        except asyncio.QueueFull:
            raise QueueFull from None
        return await future

    async def _batch_forever(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            await self._gather(jobs)
            await self._run_batch(jobs)

    async def _gather(self, jobs: list[_Job]) -> None:
        """Add the requests waiting now; when some were (the server is under load), also those
        arriving within the batch window, up to ``max_batch``. A lone request does not wait."""
        while len(jobs) < self.settings.max_batch and not self._queue.empty():
            jobs.append(self._queue.get_nowait())
        if len(jobs) == 1:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.batch_window_ms / 1000.0
        while len(jobs) < self.settings.max_batch and (left := deadline - loop.time()) > 0:
            try:
                jobs.append(await asyncio.wait_for(self._queue.get(), left))
            except TimeoutError:
                return

    async def _run_batch(self, jobs: list[_Job]) -> None:
        gallery = self.current
        started = time.perf_counter()
        model = gallery.recognizer.model
        try:
            embeddings = await asyncio.get_running_loop().run_in_executor(
                self._workers, model.embed_batch, [job.image for job in jobs]
            )
        except Exception as exc:  # the model failed: every request of the batch learns it
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        inference_ms = (time.perf_counter() - started) * 1000.0
        for job, embedding in zip(jobs, embeddings, strict=True):
            if not job.future.done():  # the client may have gone
                timings = {
                    "queue": round((started - job.queued) * 1000.0, 3),
                    "inference": round(inference_ms, 3),
                }
                job.future.set_result((embedding, gallery, timings))
