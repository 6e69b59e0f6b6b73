"""How the commands print a query's answer: its verdict and its top places in one layout, the
columns of the demo's JSON lines in the same order (rank, label, score, lat, lon, path)."""

from __future__ import annotations

from ..recognition.decisions import FrameResult, PlaceHit


def verdict(result: FrameResult) -> str:
    """``place_02 (score 0.8123 >= threshold 0.5567)`` or ``unknown place (best ...)``."""
    best = result.best
    if best is None:
        return "no match (the index is empty)"
    if result.known:
        return f"{result.label} (score {best.score:.4f} >= threshold {result.threshold:.4f})"
    return (
        f"unknown place (best: {best.label}, score {best.score:.4f} < threshold "
        f"{result.threshold:.4f})"
    )


def place_rows(places: list[PlaceHit]) -> list[str]:
    """A header and one aligned row per place; coordinates are '-' where the gallery has none."""
    width = max([len("label"), *(len(place.label) for place in places)])
    header = f"  {'rank':>4}  {'label':<{width}}  {'score':>7}  {'lat':>10}  {'lon':>11}  path"
    rows = [
        f"  {place.rank + 1:>4}  {place.label:<{width}}  {place.score:>7.4f}  "
        f"{_coordinate(place.lat, 10)}  {_coordinate(place.lon, 11)}  {place.match.record.path}"
        for place in places
    ]
    return [header, *rows]


def _coordinate(value: float | None, width: int) -> str:
    return f"{value:>{width}.6f}" if value is not None else f"{'-':>{width}}"
