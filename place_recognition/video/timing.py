"""Per-stage latency and frame-rate bookkeeping for the demo: numbers only, no drawing.

The overlay shows moving averages (the last ``window`` frames, so warm-up stops counting after a
few seconds, unlike the OMZ demo's all-time means); the end summary uses every sample.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

STAGES = ("decode", "inference", "search", "sequence", "draw")


class MovingAverage:
    """Mean of the last ``window`` values."""

    def __init__(self, window: int = 30) -> None:
        self._values: deque[float] = deque(maxlen=window)

    def add(self, value: float) -> None:
        self._values.append(value)

    @property
    def value(self) -> float | None:
        return float(np.mean(self._values)) if self._values else None


@dataclass(frozen=True)
class StageStats:
    """Summary of one stage over a run, in milliseconds."""

    count: int
    mean_ms: float
    median_ms: float
    p90_ms: float


class RateMeter:
    """Frames per second over a moving window of frame completion times."""

    def __init__(self, window: int = 30) -> None:
        self._stamps: deque[float] = deque(maxlen=window + 1)

    def tick(self, now: float | None = None) -> None:
        self._stamps.append(time.perf_counter() if now is None else now)

    @property
    def fps(self) -> float | None:
        if len(self._stamps) < 2 or self._stamps[-1] <= self._stamps[0]:
            return None
        return (len(self._stamps) - 1) / (self._stamps[-1] - self._stamps[0])


class StageTimes:
    """Per-stage latencies (seconds): a moving average for display and all samples for the end."""

    def __init__(self, stages: tuple[str, ...] = STAGES, window: int = 30) -> None:
        self.stages = stages
        self._recent = {stage: MovingAverage(window) for stage in stages}
        self._all: dict[str, list[float]] = {stage: [] for stage in stages}

    def add(self, stage: str, seconds: float) -> None:
        self._recent[stage].add(seconds)
        self._all[stage].append(seconds)

    def recent_ms(self) -> dict[str, float]:
        """Moving-average latency per stage in ms (stages without samples are left out)."""
        return {
            stage: avg.value * 1000.0
            for stage, avg in self._recent.items()
            if avg.value is not None
        }

    def summary(self) -> dict[str, StageStats]:
        """Count, mean, median and 90th percentile per stage over the whole run, in ms."""
        result = {}
        for stage, samples in self._all.items():
            if samples:
                ms = np.asarray(samples) * 1000.0
                result[stage] = StageStats(
                    len(ms), float(ms.mean()), float(np.median(ms)), float(np.percentile(ms, 90))
                )
        return result
