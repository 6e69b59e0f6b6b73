"""Recall@N of sequence matching on a labelled set, streamed causally.

The queries in natural order of their file names are one traverse and the references in natural
order one route (unless routes are given). The queries are fed to a ``SequenceMatcher`` one at
a time, so the answer for query t depends on queries up to t only. Every query counts in the
denominator, the first L - 1 too (they are answered with the shorter sequences they have).
Recall@N ranks gallery positions by their best trajectory score, leaving out positions within
the matcher's window of a better one (they are the same place), so R@N counts N distinct places.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..indexing.routes import ROOT_ROUTE, natural_key
from ..sequence.layout import RouteLayout
from ..sequence.matcher import SequenceMatcher
from ..sequence.settings import SequenceSettings
from .metrics import recall_at_n


def natural_order(paths: Sequence[str]) -> np.ndarray:
    """Indices that put ``paths`` in natural order (numbers compared by value)."""
    return np.array(sorted(range(len(paths)), key=lambda i: natural_key(paths[i])), np.int64)


def reference_layout(database: Sequence[str]) -> RouteLayout:
    """The references as one route, in natural order of their paths."""
    spots: list[tuple[str, int] | None] = [None] * len(database)
    for position, index in enumerate(natural_order(database)):
        spots[index] = (ROOT_ROUTE, position)
    return RouteLayout.from_spots(spots)


def sequence_rankings(
    queries: np.ndarray,
    database: np.ndarray,
    query_paths: Sequence[str],
    layout: RouteLayout,
    settings: SequenceSettings,
    n: int,
) -> np.ndarray:
    """(Q, n) database indices ranked by the sequence matcher for each query, in the queries'
    own order (-1 where fewer than n distinct places exist). ``queries`` (Q, D) and
    ``database`` (N, D) are L2-normalised float32."""
    matcher = SequenceMatcher(layout, settings)
    ranked = np.full((len(queries), n), -1, np.int64)
    for index in natural_order(query_paths):
        matcher.update(database @ queries[index])
        row = matcher.ranking(n)
        ranked[index, : len(row)] = row
    return ranked


def evaluate_sequences(
    queries: np.ndarray,
    database: np.ndarray,
    query_paths: Sequence[str],
    database_paths: Sequence[str],
    positives: list[np.ndarray],
    settings: SequenceSettings,
    ns: tuple[int, ...],
) -> dict:
    """The report's ``sequence`` entry: settings, Recall@N and each query's top-1 path."""
    ranked = sequence_rankings(
        queries, database, query_paths, reference_layout(database_paths), settings, max(ns)
    )
    recall = recall_at_n(ranked, positives, ns)
    return {
        "length": settings.length,
        "velocities": list(settings.velocities),
        "causal": True,
        "recall_at": {str(n): value for n, value in recall.items()},
        "top1": [database_paths[i] if i >= 0 else None for i in ranked[:, 0]],
        "suppressed_within": settings.window,
        "change_cost": settings.change_cost,
    }
