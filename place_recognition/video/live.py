"""Live input: the newest frame answered now.

A camera produces frames whether or not anyone is ready for them. ``NewestFrameReader`` keeps
only the latest one: a frame that arrives while the pipeline is still busy replaces the one
waiting, which is dropped and counted, so what the pipeline takes is always the newest frame
and never more than one frame waits. Each frame carries when it became available
(``Frame.captured_at``): the grab time for a camera; for a video paced like a camera
(``--realtime``) its due time, ``t0 + i / fps`` — a frame not taken before the next one is due
is dropped, as a camera's would be.

``LivePipeline`` runs one infer request: it takes the newest frame the moment the request is
free, and hands back the previous frame's result while the next one is being inferred, so the
caller's drawing overlaps the inference and each frame waits for nothing but the model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np

from ..core.model import EmbeddingModel
from .pipeline import Embedded
from .sources import Frame, FrameSource


class NewestFrameReader:
    """Reads ``source`` on a background thread, keeping only the newest frame.

    Args:
        source: a camera or a video.
        realtime: pace a video at its own frame rate, like a camera (frame i becomes
            available at start + i / fps).
        limit: stop after that many delivered frames (0 = all).
    """

    def __init__(self, source: FrameSource, realtime: bool = False, limit: int = 0) -> None:
        self.source = source
        self.realtime = realtime
        self.delivered = 0  # frames the source made available
        self.dropped = 0  # ... replaced by a newer one before anyone took them
        self.max_waiting = 0  # the most frames that ever waited at once
        self._limit = limit
        self._waiting: Frame | None = None
        self._ended = False
        self._ready = threading.Condition()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="newest-frame", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            started = time.perf_counter()
            frames = self.source.frames()
            index = 0
            while not self._stop.is_set() and not (self._limit and index >= self._limit):
                decoding = time.perf_counter()
                item = next(frames, None)
                if item is None:
                    break
                decoded = time.perf_counter()
                if self.realtime:  # decoded ahead, made available when it is due
                    captured = started + index / self.source.fps
                    self._stop.wait(max(0.0, captured - time.perf_counter()))
                else:
                    captured = decoded
                image, name = item
                self._publish(Frame(index, image, decoded - decoding, name, captured_at=captured))
                index += 1
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._error = exc
        finally:
            with self._ready:
                self._ended = True
                self._ready.notify_all()

    def _publish(self, frame: Frame) -> None:
        with self._ready:
            self.delivered += 1
            if self._waiting is not None:
                self.dropped += 1  # nobody took it before a newer one came
            self._waiting = frame
            self.max_waiting = max(self.max_waiting, 1)
            self._ready.notify_all()

    def newest(self, wait: bool = True) -> Frame | None:
        """The newest frame not taken yet; None at the end of the input, or, with ``wait``
        False, when no frame is waiting now (``ended`` tells which)."""
        with self._ready:
            while wait and self._waiting is None and not self._ended:
                self._ready.wait()
            frame, self._waiting = self._waiting, None
        if frame is None and self.ended and self._error is not None:
            raise self._error
        return frame

    @property
    def ended(self) -> bool:
        """True once the input has ended (a frame may still wait: see ``newest``)."""
        return self._ended

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.newest()) is not None:
            yield frame

    def close(self) -> None:
        """Stop the thread and release the source."""
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        self._thread.join(timeout=5)
        self.source.close()


class LivePipeline:
    """One infer request at a time on the newest frame; results in order of capture."""

    requests = 1

    def __init__(self, model: EmbeddingModel) -> None:
        self.model = model
        self.batch = 1

    def run(self, reader: NewestFrameReader) -> Iterator[Embedded]:
        queue = self.model.infer_queue(1)
        done: dict[str, object] = {}
        queue.set_callback(lambda request, _: done.update(result=_copy_result(request)))
        previous: Embedded | None = None
        try:
            while True:
                frame = reader.newest(wait=previous is None)
                if frame is None:
                    if previous is None:
                        return  # the input ended
                    # No newer frame yet: hand the last result over now, not with the next.
                    yield previous
                    previous = None
                    continue
                started = time.perf_counter()
                queue.start_async({0: self.model.frames_tensor([frame.image])})
                if previous is not None:
                    yield previous  # drawn by the caller while this frame is inferred
                queue.wait_all()
                embedding, latency = done.pop("result")
                previous = Embedded(frame, embedding, latency or time.perf_counter() - started)
        finally:
            queue.wait_all()


def _copy_result(request) -> tuple[np.ndarray, float]:
    """The request's descriptor (copied: the buffer is reused) and its own latency (s)."""
    return request.get_output_tensor(0).data[0].copy(), request.latency / 1000.0
