"""The demo's inference pipeline: frames in, embeddings out, in order, several requests in flight.

Capture/decode runs on the reader's thread (``frames.ThreadedReader``), inference on OpenVINO's
threads through an ``AsyncInferQueue``, and the caller's thread searches, draws and writes the
results of earlier frames meanwhile. Up to ``batch`` consecutive frames of the same size go into
one request (batching raises throughput on CPUs; a camera wants batch 1 for latency).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
import openvino as ov

from ..core.model import EmbeddingModel
from .sources import Frame


@dataclass(frozen=True)
class Embedded:
    """A frame with its descriptor (D,) float32 and the latency of the request that made it."""

    frame: Frame
    embedding: np.ndarray
    inference_seconds: float


class FramePipeline:
    """Embeds a stream of frames with ``model``; yields ``Embedded`` in input order."""

    def __init__(self, model: EmbeddingModel, requests: int | None = None) -> None:
        self.model = model
        self.batch = model.batch
        self.requests = requests or model.num_requests
        self._done: dict[int, tuple[np.ndarray, float]] = {}

    def run(self, frames: Iterable[Frame]) -> Iterator[Embedded]:
        queue = self.model.infer_queue(self.requests)
        # The callback must not reference this pipeline (or the model): if its call, on an
        # OpenVINO thread, held the last reference, the compiled model would be destroyed on its
        # own thread, which aborts the process. It only fills a dict.
        queue.set_callback(partial(_on_done, self._done))
        pending: dict[int, list[Frame]] = {}  # job number -> its frames
        group: list[Frame] = []
        job = next_job = 0
        try:
            for frame in frames:
                full = len(group) == self.batch
                if group and (full or frame.image.shape != group[0].image.shape):
                    pending[job] = group
                    self._submit(queue, job, group)
                    job, group = job + 1, []
                    next_job = yield from self._ready(pending, next_job)
                group.append(frame)
            if group:
                pending[job] = group
                self._submit(queue, job, group)
            queue.wait_all()
            yield from self._ready(pending, next_job)
        finally:
            queue.wait_all()

    def _submit(self, queue: ov.AsyncInferQueue, job: int, group: list[Frame]) -> None:
        tensor = self.model.frames_tensor([frame.image for frame in group])
        queue.start_async({0: tensor}, userdata=(job, time.perf_counter()))

    def _ready(self, pending: dict[int, list[Frame]], next_job: int) -> Iterator[Embedded]:
        """Yield the finished jobs that are next in order; return the next job number."""
        while next_job in self._done:
            outputs, latency = self._done.pop(next_job)
            group = pending.pop(next_job)
            for frame, embedding in zip(group, outputs[: len(group)], strict=True):
                yield Embedded(frame, embedding, latency)
            next_job += 1
        return next_job


def _on_done(done: dict, request: ov.InferRequest, userdata: tuple[int, float]) -> None:
    """AsyncInferQueue callback: store a job's outputs (copied) and the request's latency."""
    job, started = userdata
    # Copy now: the request's output buffer is reused by its next job.
    outputs = request.get_output_tensor(0).data.copy()
    # The request's own latency (not the time it waited for a free request).
    latency = request.latency / 1000.0 if request.latency else time.perf_counter() - started
    done[job] = (outputs, latency)
