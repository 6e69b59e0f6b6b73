"""``SequenceMatcher``: online, causal matching of a frame stream along the gallery's routes.

A forward (max-product) pass over hypotheses "the stream is at gallery position p, moving at
velocity v". Positions live on a fine grid (1/STEP positions per gallery frame) so that
fractional speeds such as 0.5 or 1.5 gallery frames per query frame advance exactly. At every
frame each hypothesis moves by its velocity, may switch to a neighbouring velocity at
``change_cost``, keeps ``1 - 1/L`` of its score and adds the frame's evidence at its position:
the frame's similarity to that gallery image as a z-score over the gallery (how many standard
deviations above the mean), so scores mean the same for any model and gallery size.

This is SeqSLAM's idea (Milford & Wyeth, ICRA 2012: sum the similarities along straight lines
through the similarity matrix, searching over velocities) made online and causal, in the way
of Vysotska & Stachniss (RA-L 2016: one hypothesis update per incoming frame): trajectories
end at the current frame instead of being centred on it, exponential forgetting replaces the
fixed window, and the velocity is part of the state instead of a search per line, which makes
an update O(N x velocities) instead of O(N x velocities x L). docs/sequence.md has the
measurements that chose it over the windowed line search.

No trajectory crosses from one route into another: a hypothesis that would leave its route
starts afresh at the route's first (or, backwards, last) positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layout import RouteLayout
from .settings import SequenceSettings


@dataclass(frozen=True)
class SequenceAnswer:
    """The best trajectory ending at the current frame.

    ``record``: the gallery record (faiss id) where it ends; ``score``: the mean z-score of
    the similarities along it (weighted as the matcher forgets); ``confidence``: its margin
    over the best trajectory ending outside ``window`` gallery frames of it (0 when there is
    no other); ``velocity``: its gallery frames per query frame; ``length``: the frames it
    spans (up to L since the last reset).
    """

    record: int
    route: str
    score: float
    confidence: float
    velocity: float
    length: int


class SequenceMatcher:
    """Feed it one frame's similarities at a time; it answers with the best route position.

    Args:
        layout: the gallery's routes (``RouteLayout.from_records(index.records)``).
        settings: length, velocities, change cost, window.
    """

    def __init__(self, layout: RouteLayout, settings: SequenceSettings | None = None):
        if len(layout) == 0:
            raise ValueError("the gallery has no routes to match a sequence along")
        self.layout = layout
        self.settings = settings or SequenceSettings()
        self._shifts = self.settings.fine_shifts()
        self._fine = self.settings.substeps
        self._size = len(layout) * self._fine
        self._fresh = [self._fresh_positions(shift) for shift in self._shifts]
        self._scores = np.zeros((len(self._shifts), self._size), np.float32)
        self._best = np.empty_like(self._scores)
        self._switched = np.empty_like(self._scores)
        self._slot_scores = np.zeros(len(layout), np.float32)
        # Galleries whose records all lie on one route in id order need no gather per frame.
        self._in_id_order = np.array_equal(layout.records, np.arange(len(layout.records)))
        self.reset()

    def reset(self) -> None:
        """Forget the stream (a new input, a cut, a long gap)."""
        self.frames = 0
        self._weight = 0.0

    def update(self, similarities: np.ndarray) -> SequenceAnswer:
        """Take the next frame: ``similarities`` (N,) float32, its cosine similarity to every
        gallery record in faiss-id order. Returns the answer for this frame."""
        values = np.asarray(similarities, np.float32)
        if not self._in_id_order:
            values = values[self.layout.records]
        std = float(values.std())
        evidence = (values - values.mean()) / (std if std > 1e-12 else 1.0)
        self._advance(np.repeat(evidence, self._fine))
        return self.answer()

    def update_z(self, evidence: np.ndarray) -> SequenceAnswer:
        """Take the next frame as z-scores per slot ((M,) float32, layout order)."""
        self._advance(np.repeat(np.asarray(evidence, np.float32), self._fine))
        return self.answer()

    def _advance(self, fine_evidence: np.ndarray) -> None:
        decay = self.settings.decay
        if self.frames == 0:
            self._scores[:] = fine_evidence
        else:
            self._move_and_switch()
            np.multiply(self._best, decay, out=self._scores)
            self._scores += fine_evidence
        self._weight = self._weight * decay + 1.0
        self.frames += 1
        fine_best = self._scores.max(axis=0)
        # Best of each slot's fine positions (strided maxima: far faster than reshape + max).
        slots = fine_best[0 :: self._fine].copy()
        for offset in range(1, self._fine):
            np.maximum(slots, fine_best[offset :: self._fine], out=slots)
        self._slot_scores = slots

    def _move_and_switch(self) -> None:
        """Move each velocity's hypotheses by its fine step; a hypothesis may also arrive with
        a neighbouring velocity and switch, at ``change_cost``. Entries that would come from
        outside their route start at 0 (a fresh hypothesis: no evidence for or against)."""
        np.subtract(self._scores, self.settings.change_cost, out=self._switched)
        rows = len(self._shifts)
        for row, shift in enumerate(self._shifts):
            target = self._best[row]
            _shift_into(target, self._scores[row], shift)
            for neighbour in (row - 1, row + 1):
                if 0 <= neighbour < rows:
                    _shift_max_into(target, self._switched[neighbour], self._shifts[neighbour])
            target[self._fresh[row]] = 0.0

    def _fresh_positions(self, shift: int) -> np.ndarray:
        """Fine positions whose hypothesis would come from outside their own route."""
        if shift == 0:
            return np.empty(0, np.int64)
        edges = self.layout.starts if shift > 0 else self.layout.ends
        offsets = np.arange(shift) if shift > 0 else np.arange(shift, 0)
        fresh = (edges[:, None] * self._fine + offsets[None, :]).ravel()
        return fresh[(fresh >= 0) & (fresh < self._size)]

    def slot_scores(self) -> np.ndarray:
        """(M,) each slot's best trajectory score, normalised like ``SequenceAnswer.score``."""
        return self._slot_scores / self._weight

    def answer(self) -> SequenceAnswer:
        scores = self.slot_scores()
        slot = int(np.argmax(scores))
        route = self.layout.route_of_slot(slot)
        velocity_row = int(
            np.argmax(self._scores[:, slot * self._fine : (slot + 1) * self._fine].max(axis=1))
        )
        return SequenceAnswer(
            record=int(self.layout.records[slot]),
            route=self.layout.names[route],
            score=float(scores[slot]),
            confidence=self._margin(scores, slot),
            velocity=self._shifts[velocity_row] / self._fine,
            length=min(self.frames, self.settings.length),
        )

    def _margin(self, scores: np.ndarray, slot: int) -> float:
        window = self.settings.window
        before, after = scores[: max(0, slot - window)], scores[slot + window + 1 :]
        if not len(before) and not len(after):
            return 0.0
        rival = max(before.max(initial=-np.inf), after.max(initial=-np.inf))
        return float(scores[slot] - rival)

    def ranking(self, n: int) -> list[int]:
        """Record ids of the ``n`` best trajectory ends, best first; answers within ``window``
        gallery frames of a better one are left out (they are the same place)."""
        scores = self.slot_scores().copy()
        window, ranked = self.settings.window, []
        for _ in range(min(n, len(scores))):
            slot = int(np.argmax(scores))
            if scores[slot] == -np.inf:
                break
            ranked.append(int(self.layout.records[slot]))
            scores[max(0, slot - window) : slot + window + 1] = -np.inf
        return ranked


def _shift_into(target: np.ndarray, source: np.ndarray, shift: int) -> None:
    """target[p] = source[p - shift] (edges left as they are: the caller overwrites them)."""
    if shift > 0:
        target[shift:] = source[:-shift]
    elif shift < 0:
        target[:shift] = source[-shift:]
    else:
        target[:] = source


def _shift_max_into(target: np.ndarray, source: np.ndarray, shift: int) -> None:
    """target[p] = max(target[p], source[p - shift]) where p - shift is inside."""
    if shift > 0:
        np.maximum(target[shift:], source[:-shift], out=target[shift:])
    elif shift < 0:
        np.maximum(target[:shift], source[-shift:], out=target[:shift])
    else:
        np.maximum(target, source, out=target)
