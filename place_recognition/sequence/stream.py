"""``RouteStream``: a ``PlaceRecognizer`` following a stream of frames along the gallery's routes.

Each frame gets its single-frame matches and the sequence answer. With an exact index the
matcher gets the frame's similarity to every gallery image (read in place, no copy); with an
approximate index, the frame's top candidates (exact scores) and the mean and spread of its
similarities over a fixed sample of the gallery, so the cost does not grow with the gallery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.model import EmbeddingModel
from ..index import modes
from ..index.place_index import Match, PlaceIndex
from ..index.records import GalleryRecord
from ..recognition.recognizer import PlaceRecognizer
from .candidates import CandidateSequenceMatcher
from .layout import RouteLayout
from .matcher import SequenceAnswer, SequenceMatcher
from .settings import SequenceSettings

CANDIDATES = 100  # top candidates per frame for an approximate index (K, docs/sequence.md)
STATISTICS_SAMPLE = 1000  # gallery vectors that estimate a frame's similarity mean and spread


@dataclass(frozen=True)
class StreamAnswer:
    """One frame's answers: its single-frame ``matches`` (best first) and, when the gallery
    has routes, the ``sequence`` answer with its gallery ``record``."""

    matches: list[Match]
    sequence: SequenceAnswer | None = None
    record: GalleryRecord | None = None


class RouteStream:
    """Feed it frames in order; it answers each from that frame and the ones before it.

    Args:
        index: the gallery's index.
        settings: the sequence matcher's (None: the defaults).
        candidates: top candidates per frame with an approximate index.
        model: the model that embeds frames for ``index`` (needed by ``push``, not by
            ``push_embedding``); ``RouteStream.of(recognizer)`` takes the recognizer's.
    """

    def __init__(
        self,
        index: PlaceIndex,
        settings: SequenceSettings | None = None,
        candidates: int = CANDIDATES,
        model: EmbeddingModel | None = None,
    ):
        self.index, self.model = index, model
        self.settings = settings or SequenceSettings()
        self.layout = RouteLayout.from_records(index.records)
        self.candidates = min(candidates, len(index))
        self._exact = index.factory == modes.EXACT
        self._matcher: SequenceMatcher | CandidateSequenceMatcher | None = None
        if len(self.layout):
            kind = SequenceMatcher if self._exact else CandidateSequenceMatcher
            self._matcher = kind(self.layout, self.settings)
        rng = np.random.default_rng(0)
        size = min(STATISTICS_SAMPLE, len(index))
        self._sample = np.sort(rng.choice(len(index), size, replace=False)) if size else None

    @classmethod
    def of(
        cls, recognizer: PlaceRecognizer, settings: SequenceSettings | None = None
    ) -> RouteStream:
        """The stream of a recognizer's model and index."""
        return cls(recognizer.index, settings, model=recognizer.model)

    @property
    def active(self) -> bool:
        """True when the gallery has routes to follow (else every answer is single-frame)."""
        return self._matcher is not None

    def reset(self) -> None:
        """Forget the frames so far (a new input, a cut, a long gap)."""
        if self._matcher is not None:
            self._matcher.reset()

    def push(self, frame: np.ndarray, k: int = 5) -> StreamAnswer:
        """The answers for the next u8 BGR frame."""
        if self.model is None:
            raise ValueError("this RouteStream has no model to embed frames with")
        return self.push_embedding(self.model.embed(frame).reshape(-1), k)

    def push_embedding(self, embedding: np.ndarray, k: int = 5) -> StreamAnswer:
        """The answers for the next frame, given its descriptor (D,) float32."""
        index = self.index
        if self._matcher is None:
            return StreamAnswer(index.search(embedding, k)[0])
        if self._exact:
            similarities = index.similarities(embedding)
            answer = self._matcher.update(similarities)
            matches = _top_matches(similarities, index.records, k)
        else:
            matches = index.search(embedding, max(k, self.candidates))[0]
            sample = index.vectors(self._sample) @ np.asarray(embedding, np.float32).reshape(-1)
            ids = np.array([m.id for m in matches], np.int64)
            scores = np.array([m.score for m in matches], np.float32)
            answer = self._matcher.update(ids, scores, float(sample.mean()), float(sample.std()))
            matches = matches[:k]
        return StreamAnswer(matches, answer, index.records[answer.record])


def _top_matches(similarities: np.ndarray, records: list, k: int) -> list[Match]:
    """The ``k`` best records of a full similarity vector, best first (ties: lower id)."""
    k = min(k, len(similarities))
    if k <= 0:
        return []
    top = np.argpartition(-similarities, k - 1)[:k]
    top = top[np.lexsort((top, -similarities[top]))]
    return [Match(rank, int(i), float(similarities[i]), records[i]) for rank, i in enumerate(top)]
