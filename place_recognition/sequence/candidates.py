"""``CandidateSequenceMatcher``: the sequence matcher for galleries too large for a full
similarity vector per frame (approximate index modes, millions of images).

Each frame brings only its top-K candidates (record ids and similarities) and the mean and
standard deviation of its similarities over the gallery (estimated on a sample). The matcher
keeps the hypotheses (fine position, velocity, score) that are better than "background" — the
score of a trajectory that only ever met non-candidates, whose evidence is at most the K-th
candidate's — so its cost per frame depends on K and the number of velocities, not on the
gallery size. The model is the one of ``matcher.SequenceMatcher``; with K = N it gives the
same answers.
"""

from __future__ import annotations

import numpy as np

from .layout import RouteLayout
from .matcher import SequenceAnswer
from .settings import SequenceSettings

# Hypotheses kept per candidate and velocity: trajectories that left the candidates survive
# for a while (a frame whose true place is not among its top-K does not end them).
KEEP_PER_CANDIDATE = 8


class CandidateSequenceMatcher:
    """Feed it each frame's top-K candidates; it answers like ``SequenceMatcher``."""

    def __init__(self, layout: RouteLayout, settings: SequenceSettings | None = None):
        if len(layout) == 0:
            raise ValueError("the gallery has no routes to match a sequence along")
        self.layout = layout
        self.settings = settings or SequenceSettings()
        self._fine = self.settings.substeps
        self._shifts = np.array(self.settings.fine_shifts(), np.int64)
        slots = np.full(int(layout.records.max()) + 1, -1, np.int64)
        slots[layout.records] = np.arange(len(layout))
        self._slot_of_record = slots
        # Per slot: the first and one-past-last fine position of its route.
        route = np.repeat(np.arange(len(layout.starts)), layout.ends - layout.starts)
        self._route_lo = layout.starts[route] * self._fine
        self._route_hi = layout.ends[route] * self._fine
        self.reset()

    def reset(self) -> None:
        """Forget the stream (a new input, a cut, a long gap)."""
        self.frames = 0
        self._weight = 0.0
        self._background = 0.0
        self._position = np.empty(0, np.int64)
        self._velocity = np.empty(0, np.int64)
        self._score = np.empty(0, np.float32)

    def update(
        self, records: np.ndarray, similarities: np.ndarray, mean: float, std: float
    ) -> SequenceAnswer:
        """Take the next frame: its candidates' ``records`` (K,) and ``similarities`` (K,),
        and the mean/std of its similarities over the whole gallery."""
        slots = self._slot_of_record[np.asarray(records, np.int64)]
        routed = slots >= 0
        evidence = (np.asarray(similarities, np.float32)[routed] - mean) / max(std, 1e-12)
        floor = float((np.min(similarities) - mean) / max(std, 1e-12)) if len(records) else 0.0
        slots = slots[routed]
        decay = self.settings.decay
        position, velocity, previous = self._propose(slots)
        order = np.argsort(slots)
        slot_sorted, evidence_sorted = slots[order], evidence[order]
        at = np.searchsorted(slot_sorted, position // self._fine)
        at = np.minimum(at, max(len(slot_sorted) - 1, 0))
        hit = slot_sorted[at] == position // self._fine if len(slot_sorted) else np.zeros(0, bool)
        gained = np.where(hit, evidence_sorted[at] if len(slot_sorted) else 0.0, floor)
        score = (previous * decay + gained).astype(np.float32)
        self._background = self._background * decay + floor
        self._weight = self._weight * decay + 1.0
        self.frames += 1
        self._keep(position, velocity, score, len(slots))
        return self.answer()

    def _propose(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every hypothesis moved, its velocity switches, and fresh ones at the candidates;
        one per (position, velocity), the best. Returns positions, velocities and the scores
        they bring from the previous frame."""
        rows = len(self._shifts)
        moved = self._position + self._shifts[self._velocity]
        inside = (moved >= self._route_lo[self._position // self._fine]) & (
            moved < self._route_hi[self._position // self._fine]
        )
        moved, velocity, score = moved[inside], self._velocity[inside], self._score[inside]
        cost = self.settings.change_cost
        parts_position, parts_velocity, parts_score = [moved], [velocity], [score]
        for step in (-1, 1):
            switched = velocity + step
            ok = (switched >= 0) & (switched < rows)
            parts_position.append(moved[ok])
            parts_velocity.append(switched[ok])
            parts_score.append(score[ok] - cost)
        if len(slots):
            fine = (slots[:, None] * self._fine + np.arange(self._fine)[None, :]).ravel()
            seeds = np.repeat(fine, rows)
            parts_position.append(seeds)
            parts_velocity.append(np.tile(np.arange(rows), len(fine)))
            start = self._background if self.frames else 0.0
            parts_score.append(np.full(len(seeds), start, np.float32))
        position = np.concatenate(parts_position)
        velocity = np.concatenate(parts_velocity)
        score = np.concatenate(parts_score).astype(np.float32)
        key = position * rows + velocity
        order = np.lexsort((-score, key))
        first = np.ones(len(order), bool)
        first[1:] = key[order][1:] != key[order][:-1]
        chosen = order[first]
        return position[chosen], velocity[chosen], score[chosen]

    def _keep(self, position, velocity, score, candidates: int) -> None:
        alive = score > self._background
        limit = max(1, candidates) * len(self._shifts) * self._fine * KEEP_PER_CANDIDATE
        position, velocity, score = position[alive], velocity[alive], score[alive]
        if len(score) > limit:
            best = np.argpartition(-score, limit)[:limit]
            position, velocity, score = position[best], velocity[best], score[best]
        self._position, self._velocity, self._score = position, velocity, score

    def _slot_bests(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Slots that have hypotheses, their best score and that hypothesis's velocity row,
        best slot first."""
        slots = self._position // self._fine
        order = np.lexsort((-self._score, slots))
        first = np.ones(len(order), bool)
        first[1:] = slots[order][1:] != slots[order][:-1]
        best = order[first]
        best = best[np.argsort(-self._score[best], kind="stable")]
        return slots[best], self._score[best], self._velocity[best]

    def answer(self) -> SequenceAnswer:
        slots, scores, rows = self._slot_bests()
        weight = max(self._weight, 1e-12)
        if not len(slots):  # nothing beats the background: no trajectory stands out
            return SequenceAnswer(
                int(self.layout.records[0]),
                self.layout.names[0],
                self._background / weight,
                0.0,
                0.0,
                0,
            )
        slot = int(slots[0])
        far = np.abs(slots - slot) > self.settings.window
        rival = float(scores[far][0]) if far.any() else self._background
        return SequenceAnswer(
            record=int(self.layout.records[slot]),
            route=self.layout.names[self.layout.route_of_slot(slot)],
            score=float(scores[0]) / weight,
            confidence=(float(scores[0]) - rival) / weight,
            velocity=float(self._shifts[rows[0]]) / self._fine,
            length=min(self.frames, self.settings.length),
        )

    def ranking(self, n: int) -> list[int]:
        """Record ids of the ``n`` best trajectory ends, neighbours within ``window`` of a
        better one left out (as ``SequenceMatcher.ranking``)."""
        slots, _, _ = self._slot_bests()
        ranked: list[int] = []
        for slot in slots:
            if len(ranked) == n:
                break
            if all(abs(int(slot) - kept) > self.settings.window for kept in ranked):
                ranked.append(int(slot))
        return [int(self.layout.records[slot]) for slot in ranked]
