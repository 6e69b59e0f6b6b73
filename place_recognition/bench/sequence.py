"""Sequence matching measured: Recall@N on streams at several speeds, and the cost per frame.

Streams made from a labelled set's queries (in natural order): as given; every 2nd frame
(velocity 2); every frame repeated (velocity 0.5); and a speed that changes every 60 frames
(1, 2, 0.5, 1.5 gallery frames per query frame). Each is matched by the product's matcher and,
for comparison, by a causal windowed line search (SeqSLAM's straight lines over the last L
frames, ending at the current one). The cost of one matcher update is timed on synthetic
similarities at a given gallery size (the similarity search itself is not included).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

from ..eval.metrics import recall_at_n
from ..eval.sequences import natural_order
from ..sequence.candidates import CandidateSequenceMatcher
from ..sequence.layout import RouteLayout
from ..sequence.matcher import SequenceMatcher
from ..sequence.settings import SequenceSettings

MIXED_SEGMENT = 60
MIXED_SPEEDS = (1.0, 2.0, 0.5, 1.5)


def speed_streams(count: int) -> Iterator[tuple[str, np.ndarray]]:
    """(name, indices into the traverse) of the four test streams over ``count`` frames."""
    yield "as given", np.arange(count)
    yield "every 2nd frame", np.arange(0, count, 2)
    yield "every frame twice", np.repeat(np.arange(count), 2)
    indices, position, frame = [], 0.0, 0
    while position < count:
        indices.append(int(position))
        position += MIXED_SPEEDS[(frame // MIXED_SEGMENT) % len(MIXED_SPEEDS)]
        frame += 1
    yield "changing speed", np.array(indices, np.int64)


def _ranked(update: Callable[[np.ndarray], list[int]], similarities: np.ndarray, n: int):
    ranked = np.full((len(similarities), n), -1, np.int64)
    for t, row in enumerate(similarities):
        found = update(row)[:n]
        ranked[t, : len(found)] = found
    return ranked


def recall_table(
    queries: np.ndarray,
    database: np.ndarray,
    query_paths: list[str],
    database_paths: list[str],
    positives: list[np.ndarray],
    lengths: tuple[int, ...],
    settings: SequenceSettings,
    ns: tuple[int, ...] = (1, 5, 10),
) -> list[dict]:
    """One row per (stream, method, L): Recall@N of the single frames, the product's matcher
    and the windowed line search, on the references as one route in natural order."""
    order = natural_order(query_paths)
    database_order = natural_order(database_paths)
    ordered_db = database[database_order]  # slot i = i-th reference in natural order
    layout = RouteLayout.from_spots([(".", i) for i in range(len(ordered_db))])
    rows = []
    for stream, frames in speed_streams(len(order)):
        chosen = order[frames]
        similarities = queries[chosen] @ ordered_db.T
        truth = [np.flatnonzero(np.isin(database_order, positives[i])) for i in chosen]
        single = np.argsort(-similarities, axis=1, kind="stable")[:, : max(ns)]
        rows.append(_row(stream, "single frame", 1, recall_at_n(single, truth, ns)))
        for length in lengths:
            tuned = SequenceSettings(
                length, settings.velocities, settings.change_cost, settings.window
            )
            ranked = _ranked(
                _ranker(SequenceMatcher(layout, tuned), max(ns)), similarities, max(ns)
            )
            rows.append(_row(stream, "sequence matcher", length, recall_at_n(ranked, truth, ns)))
            search = WindowedLineSearch(len(ordered_db), tuned)
            ranked = _ranked(search.update, similarities, max(ns))
            rows.append(
                _row(stream, "windowed line search", length, recall_at_n(ranked, truth, ns))
            )
    return rows


def _ranker(matcher: SequenceMatcher, n: int) -> Callable[[np.ndarray], list[int]]:
    def update(similarities: np.ndarray) -> list[int]:
        matcher.update(similarities)
        return matcher.ranking(n)

    return update


def _row(stream: str, method: str, length: int, recall: dict[int, float]) -> dict:
    return {
        "stream": stream,
        "method": method,
        "length": length,
        "recall_at": {str(n): round(v, 4) for n, v in recall.items()},
    }


class WindowedLineSearch:
    """The comparison baseline: for every end position and velocity, the mean z-scored
    similarity along the straight line through the last L frames ending there (causal
    SeqSLAM); the best velocity wins. O(N x velocities x L) per frame."""

    def __init__(self, size: int, settings: SequenceSettings):
        self.size, self.settings = size, settings
        low, high, step = settings.velocities
        self.velocities = np.arange(low, high + step / 2, step)
        self.frames: list[np.ndarray] = []

    def update(self, similarities: np.ndarray) -> list[int]:
        z = (similarities - similarities.mean()) / max(float(similarities.std()), 1e-12)
        self.frames = [*self.frames, z][-self.settings.length :]
        ends = np.arange(self.size)
        best = np.full(self.size, -np.inf)
        for velocity in self.velocities:
            total, count = np.zeros(self.size), np.zeros(self.size)
            for back, frame in enumerate(reversed(self.frames)):
                at = ends - round(float(velocity) * back)
                inside = (at >= 0) & (at < self.size)
                total[inside] += frame[at[inside]]
                count[inside] += 1
            np.maximum(best, total / np.maximum(count, 1), out=best)
        return _distinct_best(best, self.settings.window, 10)


def _distinct_best(scores: np.ndarray, window: int, n: int) -> list[int]:
    scores, found = scores.copy(), []
    for _ in range(min(n, len(scores))):
        best = int(np.argmax(scores))
        found.append(best)
        scores[max(0, best - window) : best + window + 1] = -np.inf
    return found


def update_cost(
    gallery: int, candidates: int | None, frames: int = 300, route_length: int = 1000, seed: int = 0
) -> dict:
    """Median and p90 milliseconds of one matcher update (answer included) at ``gallery``
    images on routes of ``route_length``: the full similarity vector when ``candidates`` is
    None, else each frame's top-``candidates`` (a true track among random candidates)."""
    rng = np.random.default_rng(seed)
    layout = RouteLayout.from_spots(
        [(f"r{i // route_length}", i % route_length) for i in range(gallery)]
    )
    times = []
    if candidates is None:
        matcher = SequenceMatcher(layout)
        rows = rng.random((20, gallery), dtype=np.float32)
        for t in range(frames):
            started = time.perf_counter()
            matcher.update(rows[t % len(rows)])
            times.append(time.perf_counter() - started)
    else:
        sparse = CandidateSequenceMatcher(layout)
        for t in range(frames):
            ids = rng.choice(gallery, candidates, replace=False)
            scores = rng.normal(0.3, 0.05, candidates).astype(np.float32)
            ids[0], scores[0] = (gallery // 2 + t) % gallery, 0.45
            started = time.perf_counter()
            sparse.update(ids, scores, 0.2, 0.05)
            times.append(time.perf_counter() - started)
    warm = np.array(times[frames // 10 :]) * 1000
    return {
        "gallery": gallery,
        "candidates": candidates,
        "median_ms": round(float(np.median(warm)), 3),
        "p90_ms": round(float(np.percentile(warm, 90)), 3),
        "frames": len(warm),
    }
