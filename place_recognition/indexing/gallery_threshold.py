"""An unknown-place threshold from the gallery itself, for a gallery-fitted model.

A model fitted to a gallery (indexing/gallery_fit.py) scores on its own scale (best matches
around 0.1 where its base model gives 0.6), so the threshold stored with the base model does
not apply, and a gallery owner rarely has labelled queries to calibrate one. Instead, a sample
of gallery images is searched in the gallery: each image's best score against images of *other*
places stands for a view of a place the gallery does not have. The threshold is a robust upper
tail of those scores, median + 2 robust standard deviations (1.4826 MAD): a plain high quantile
is thrown off by routes, where neighbouring places look alike and give near-duplicate scores.

docs/thresholds.md measures it against thresholds calibrated on real labelled queries: with a
fitted model it is never worse than no threshold, and it rejects most unknown places on
nordland, but on corridor and gardens point it is too low to reject them (the fitted whitening
makes gallery images less alike among themselves than queries are to them). With a model that
is not fitted it is far too high (gallery images of one traverse are more alike than queries
from another), so it is derived for fitted indexes only (recognition/thresholds.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..index.manifest import update_manifest
from ..index.place_index import PlaceIndex

NAME = "gallery"  # this threshold's name in the index manifest's ``thresholds``
SPREAD = 2.0  # robust standard deviations above the median; see docs/thresholds.md
SAMPLE = 500  # gallery images searched (exact search of 500 in 100k x 1024-d: a few seconds)
NEIGHBOURS = 64  # matches looked at per image: a place with more images than this is rare


def sample_rows(count: int, sample: int = SAMPLE, seed: int = 0) -> np.ndarray:
    """Sorted rows of a seeded sample of at most ``sample`` of ``count`` gallery images."""
    if count <= sample:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, sample, replace=False))


def best_scores(index: PlaceIndex, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each gallery row in ``rows``: its best score against another image of its own place
    (-inf when none is among the first NEIGHBOURS matches) and against images of other places
    (the last match's score, an upper bound, when none is among them)."""
    rows = np.asarray(rows, np.int64)
    matches = index.search(index.vectors(rows), min(len(index), NEIGHBOURS + 1))
    same = np.full(len(rows), -np.inf, np.float32)
    other = np.full(len(rows), -np.inf, np.float32)
    for i, (row, found) in enumerate(zip(rows, matches, strict=True)):
        label = index.records[row].label
        same[i] = next((m.score for m in found if m.id != row and m.record.label == label), -np.inf)
        last = found[-1].score if found else -np.inf
        other[i] = next((m.score for m in found if m.record.label != label), last)
    return same, other


def robust_tail(scores: np.ndarray, spread: float = SPREAD) -> float:
    """median + ``spread`` x 1.4826 x MAD of ``scores`` (the MAD scaled to a normal's sigma)."""
    median = float(np.median(scores))
    return median + spread * 1.4826 * float(np.median(np.abs(scores - median)))


def gallery_threshold(index: PlaceIndex) -> dict | None:
    """The gallery-derived threshold of ``index`` and its provenance (a ``thresholds`` entry of
    the manifest), or None when the gallery has fewer than two places to tell apart."""
    places = len({record.label for record in index.records})
    if places < 2:
        return None
    rows = sample_rows(len(index))
    same, other = best_scores(index, rows)
    known = same[np.isfinite(same)]
    return {
        "value": robust_tail(other),
        "method": f"median + {SPREAD:g} robust sd of gallery images' best other-place scores",
        "images": len(rows),
        "places": places,
        "same_place_median": float(np.median(known)) if known.size else None,
        "other_place_median": float(np.median(other)),
    }


def applies(index: PlaceIndex) -> bool:
    """True for an index whose query model was fitted to its gallery (see the docstring)."""
    return index.query_model is not None and index.query_model.fitted_from is not None


def store_if_missing(index: PlaceIndex, directory: Path) -> None:
    """Derive and store the gallery-derived threshold of a saved fitted index that has none
    (saved by an older format). The caller holds the folder's lock."""
    if NAME in index.thresholds or not applies(index):
        return
    derived = gallery_threshold(index)
    if derived:
        index.thresholds[NAME] = derived
        update_manifest(directory, thresholds=dict(index.thresholds))
