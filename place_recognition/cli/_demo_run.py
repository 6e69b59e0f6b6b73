"""One demo run: per-frame search, decision, overlay, outputs and window; the end summary.

Kept apart from ``demo.py`` (options) and ``_demo_app.py`` (settings, start-up) so that each
stays short. The window and its keys live here, in the CLI layer: library code never opens one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..core.model import EmbeddingModel
from ..core.sysinfo import machine_line
from ..indexing.update import IndexUpdate
from ..recognition.decisions import FrameResult, PlaceVoter, decide, search_places
from ..recognition.thresholds import Threshold
from ..sequence.decision import SequenceDecision, decide_sequence
from ..sequence.stream import RouteStream
from ..video.overlay import OverlayView, draw_overlay
from ..video.pipeline import Embedded
from ..video.sources import FrameSource
from ..video.thumbnails import ThumbnailCache
from ..video.timing import RateMeter, StageTimes
from ._demo_io import FrameWriter, JsonLinesWriter

if TYPE_CHECKING:
    from ._demo_app import DemoSettings

WINDOW = "place recognition"
QUIT_KEYS = {27, ord("q"), ord("Q")}
PAUSE_KEY = ord(" ")


@dataclass
class DemoRun:
    """Everything one demo run uses, and what it measured."""

    settings: DemoSettings
    model: EmbeddingModel
    update: IndexUpdate
    threshold: Threshold
    source: FrameSource
    started: float
    stream: RouteStream | None = None  # sequence matching along the gallery's routes
    times: StageTimes = field(default_factory=StageTimes)
    meter: RateMeter = field(default_factory=RateMeter)
    frames: int = 0
    first_frame_s: float | None = None
    loop_seconds: float = 0.0
    stopped_by_user: bool = False
    requests: int = 0  # infer requests in flight (set by run_loop)
    live: bool = False  # camera or --realtime: the newest frame, latency measured end to end
    latencies: list[float] = field(default_factory=list)  # live: capture to drawn, seconds
    sequence_known: int = 0  # frames whose sequence answer was a known place
    sequence_agreed: int = 0  # ... and named the single-frame answer's place

    def __post_init__(self) -> None:
        self.thumbnails = ThumbnailCache(self.settings.gallery)
        self.voter = PlaceVoter(self.settings.smooth)
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
            FrameWriter(self.settings.output, self.source.fps, self.settings.output_limit)
            if self.settings.output
            else None
        )
        self.json = JsonLinesWriter(self.settings.json) if self.settings.json else None
        self.paused = False

    def process(self, item: Embedded) -> bool:
        """Search, decide, draw, write and show one frame; False when the run should stop."""
        frame = item.frame
        started = time.perf_counter()
        places = search_places(self.update.index, item.embedding[None], self.settings.top_k)[0]
        searched = time.perf_counter()
        result = decide(places, self.threshold.value, self.voter)
        stages = {
            "decode": frame.decode_seconds,
            "inference": item.inference_seconds,
            "search": searched - started,
        }
        sequence = self._follow(item.embedding, result)
        matched = time.perf_counter()
        if self.stream is not None:
            stages["sequence"] = matched - searched
        canvas = self._draw(frame.image, result, sequence) if self.draws else None
        drawn = time.perf_counter()
        if canvas is not None:
            stages["draw"] = drawn - matched
            if self.writer:
                self.writer.write(canvas)
        if self.live and frame.captured_at is not None:
            self.latencies.append(drawn - frame.captured_at)
        for stage, seconds in stages.items():
            self.times.add(stage, seconds)
        if self.json:
            timings = {stage: round(seconds * 1000.0, 3) for stage, seconds in stages.items()}
            if self.live and frame.captured_at is not None:
                timings["end_to_end"] = round(self.latencies[-1] * 1000.0, 3)
            self.json.write(
                {
                    "frame": frame.index,
                    "name": frame.name,
                    **result.to_json(),
                    "sequence": sequence.to_json() if sequence else None,
                    "timings_ms": timings,
                }
            )
        self.frames += 1
        self.meter.tick()
        if self.first_frame_s is None:
            self.first_frame_s = time.perf_counter() - self.started
        if canvas is not None and not self.settings.no_show:
            return self._show(canvas)
        return not (self.writer and self.writer.full)

    @property
    def draws(self) -> bool:
        """Whether the overlay is needed: shown in the window or written with -o. Headless
        without -o, nobody would see it, so no frame time is spent drawing it, except for live
        input, whose end-to-end latency ends when the answer has been drawn."""
        return self.live or not self.settings.no_show or self.writer is not None

    def _follow(self, embedding: np.ndarray, result: FrameResult) -> SequenceDecision | None:
        """The frame's sequence answer (None when sequence matching is off)."""
        if self.stream is None:
            return None
        answer = self.stream.push_embedding(embedding, k=1)
        decision = decide_sequence(
            answer.sequence, answer.record, self.stream.settings.min_confidence
        )
        if decision.known:
            self.sequence_known += 1
            self.sequence_agreed += decision.label == result.label
        return decision

    def _draw(self, image, result, sequence: SequenceDecision | None = None) -> np.ndarray:
        thumbs = [self.thumbnails.get(place.match.record.path) for place in result.places]
        view = OverlayView(
            result,
            thumbs,
            self.meter.fps,
            self.times.recent_ms(),
            self.lines,
            self.notice,
            self.paused,
            sequence,
        )
        return draw_overlay(image, view)

    def _show(self, canvas) -> bool:
        cv2.imshow(WINDOW, canvas)
        key = cv2.waitKey(1) & 0xFF
        while True:
            closed = cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1  # window's [x]
            if key in QUIT_KEYS or closed:
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
        if not self.settings.no_show:
            cv2.destroyAllWindows()


def run_loop(demo: DemoRun, pipeline, reader) -> None:
    """Process the pipeline's results until the input ends or the user stops."""
    demo.requests = pipeline.requests
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


def live_latency_line(latencies: list[float], dropped: int, delivered: int) -> str:
    """``end-to-end latency  median 31.2 ms  p90 40.5 ms  (frames dropped 12 of 300)``."""
    ms = np.asarray(latencies, np.float64) * 1000.0
    median, p90 = (np.median(ms), np.percentile(ms, 90)) if len(ms) else (float("nan"),) * 2
    return (
        f"end-to-end latency  median {median:.1f} ms  p90 {p90:.1f} ms  "
        f"(frames dropped {dropped} of {delivered})"
    )


def print_summary(demo: DemoRun, reader=None) -> None:
    fps = demo.frames / demo.loop_seconds if demo.loop_seconds > 0 else 0.0
    why = (
        "stopped by the user"
        if demo.stopped_by_user
        else ("the camera stopped delivering frames" if demo.source.ended_early else "end of input")
    )
    print(f"summary: {demo.frames} frames ({why}), mean FPS {fps:.2f}")
    if demo.live and reader is not None:
        print(live_latency_line(demo.latencies, reader.dropped, reader.delivered))
    for stage, stats in demo.times.summary().items():
        print(f"  {stage:<10} median {stats.median_ms:8.2f} ms   p90 {stats.p90_ms:8.2f} ms")
    model = demo.model
    print(
        f"  model {model.name}: device {model.device}, precision {model.precision}, "
        f"batch {model.batch}, {demo.requests} requests"
    )
    print(f"  machine: {machine_line()}")
    if demo.stream is not None:
        settings = demo.stream.settings
        print(
            f"  sequence (L={settings.length}): a known place in {demo.sequence_known} of "
            f"{demo.frames} frames, the single-frame answer's place in {demo.sequence_agreed}"
        )
    if demo.first_frame_s is not None:
        print(f"  first frame {demo.first_frame_s:.2f} s after start")
    if demo.writer:
        print(f"  wrote {demo.writer.written} frames to {demo.writer.path}")
    if demo.json:
        print(f"  wrote {demo.frames} JSON lines to {demo.json.path}")
