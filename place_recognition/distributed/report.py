"""What a cluster run tells: one progress bar across the cluster, and a summary of who did
what (per-worker throughput) and where the time went (compiling, embedding, writing the
vectors, training, adding, merging)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tqdm import tqdm

PHASES = ("compiling", "embedding", "writing", "training", "adding", "merging")


@dataclass
class WorkerTally:
    """One worker's share: shards and images embedded, seconds spent on them."""

    shards: int = 0
    images: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


@dataclass
class ClusterReport:
    """Counts and timings of one cluster run (``lines()`` says them)."""

    cluster: str
    workers_at_start: int = 0
    shards: int = 0
    resumed: int = 0  # shard files found in staging (a killed run's, or a straggler's)
    failed: int = 0  # shards that failed every attempt
    images: int = 0  # embedded on the cluster in this run
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> wall seconds
    workers: dict[str, WorkerTally] = field(default_factory=dict)
    precisions: set[str] = field(default_factory=set)

    @contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - started

    def count(self, worker: str, images: int, seconds: float) -> None:
        tally = self.workers.setdefault(worker, WorkerTally())
        tally.shards += 1
        tally.images += images
        tally.seconds += seconds
        self.images += images

    def lines(self) -> list[str]:
        embedding = self.seconds.get("embedding", 0.0)
        rate = f" ({self.images / embedding:.1f} img/s)" if embedding > 0 and self.images else ""
        lines = [
            f"cluster {self.cluster}: {self.workers_at_start} workers at the start; "
            f"{self.shards} shards ({self.resumed} resumed from staging, {self.failed} failed), "
            f"{self.images} images embedded{rate}",
            "time: "
            + ", ".join(
                f"{phase} {self.seconds[phase]:.1f} s" for phase in PHASES if phase in self.seconds
            ),
        ]
        for worker, tally in sorted(self.workers.items()):
            lines.append(
                f"  {worker}: {tally.shards} shards, {tally.images} images, "
                f"{tally.rate:.1f} img/s while busy"
            )
        return lines


class ClusterProgress:
    """One bar for the whole cluster: images done, images per second, workers alive."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar = tqdm(
            total=total, unit="img", desc="embedding on the cluster", disable=not enabled
        )

    def advance(self, images: int) -> None:
        self._bar.update(images)

    def workers(self, alive: int) -> None:
        self._bar.set_postfix_str(f"{alive} workers alive", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()
