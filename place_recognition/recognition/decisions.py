"""From image matches to places: distinct places, the unknown-place decision, temporal voting.

A gallery usually holds several views of each place, so the top-k *images* of a frame are often
one place k times. The demo shows the top-k distinct *places* instead (the best-scoring image of
each), with the place's coordinates when the gallery gives them.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from ..index.place_index import Match, PlaceIndex

OVERSAMPLE = 8  # images searched per place wanted, so that k distinct places are usually found


@dataclass(frozen=True)
class PlaceHit:
    """One place in a frame's ranking, represented by its best-matching gallery image."""

    rank: int
    label: str
    score: float
    match: Match

    @property
    def lat(self) -> float | None:
        return self.match.record.lat

    @property
    def lon(self) -> float | None:
        return self.match.record.lon

    def to_json(self) -> dict:
        return {
            "rank": self.rank,
            "label": self.label,
            "score": round(self.score, 6),
            "lat": self.lat,
            "lon": self.lon,
            "path": self.match.record.path,
        }


@dataclass(frozen=True)
class FrameResult:
    """What the demo decided for one frame.

    ``places`` are the top-k distinct places, best first. ``label`` is the place shown: the
    (possibly smoothed) best place, or None when the best score is below the threshold.
    """

    places: list[PlaceHit]
    threshold: float
    label: str | None

    @property
    def best(self) -> PlaceHit | None:
        return self.places[0] if self.places else None

    @property
    def known(self) -> bool:
        return self.label is not None

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "known": self.known,
            "threshold": self.threshold,
            "top_k": [place.to_json() for place in self.places],
        }


def distinct_places(matches: list[Match], k: int) -> list[PlaceHit]:
    """The first ``k`` distinct labels of ``matches`` (sorted best first), best image of each."""
    hits: list[PlaceHit] = []
    seen: set[str] = set()
    for match in matches:
        label = match.record.label
        if label in seen:
            continue
        seen.add(label)
        hits.append(PlaceHit(len(hits), label, match.score, match))
        if len(hits) == k:
            break
    return hits


def search_places(index: PlaceIndex, embeddings, k: int) -> list[list[PlaceHit]]:
    """Top-``k`` distinct places for each row of ``embeddings`` (N, D) float32."""
    rows = index.search(embeddings, k * OVERSAMPLE)
    return [distinct_places(matches, k) for matches in rows]


def accept(places: list[PlaceHit], threshold: float) -> str | None:
    """The best place's label when its score reaches ``threshold``, else None (unknown)."""
    if not places or places[0].score < threshold:
        return None
    return places[0].label


class PlaceVoter:
    """Temporal smoothing: the place most voted for by the last ``window`` frames.

    An unknown frame votes for "unknown". Ties go to the candidate seen most recently, so a
    window of 1 is no smoothing at all.
    """

    def __init__(self, window: int = 1) -> None:
        if window < 1:
            raise ValueError(f"the smoothing window must be >= 1, got {window}")
        self._votes: deque[str | None] = deque(maxlen=window)

    def vote(self, label: str | None) -> str | None:
        self._votes.append(label)
        counts = Counter(self._votes)
        top = max(counts.values())
        for candidate in reversed(self._votes):
            if counts[candidate] == top:
                return candidate
        raise AssertionError("unreachable: the window holds the vote just cast")


def decide(places: list[PlaceHit], threshold: float, voter: PlaceVoter) -> FrameResult:
    """Apply the threshold to one frame's places, then the temporal vote."""
    return FrameResult(places, threshold, voter.vote(accept(places, threshold)))
