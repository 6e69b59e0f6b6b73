"""The sequence answer as a decision: which place, known or not, with what confidence."""

from __future__ import annotations

from dataclasses import dataclass

from ..index.records import GalleryRecord
from .matcher import SequenceAnswer


@dataclass(frozen=True)
class SequenceDecision:
    """What the demo, the service and the JSON lines report for a frame's sequence answer.

    ``label`` is the place when ``known`` (confidence at least the minimum), else None;
    ``path`` is the gallery image where the best trajectory ends, known or not.
    """

    label: str | None
    known: bool
    score: float
    confidence: float
    path: str
    length: int
    velocity: float
    nearest: str  # the label of the answer's gallery image, known or not

    def to_json(self) -> dict:
        """The ``"sequence"`` object of a JSON line (keys as documented in docs/sequence.md)."""
        return {
            "label": self.label,
            "known": self.known,
            "score": round(self.score, 4),
            "confidence": round(self.confidence, 4),
            "path": self.path,
            "length": self.length,
        }


def decide_sequence(
    answer: SequenceAnswer, record: GalleryRecord, min_confidence: float
) -> SequenceDecision:
    known = answer.confidence >= min_confidence
    return SequenceDecision(
        label=record.label if known else None,
        known=known,
        score=answer.score,
        confidence=answer.confidence,
        path=record.path,
        length=answer.length,
        velocity=answer.velocity,
        nearest=record.label,
    )
