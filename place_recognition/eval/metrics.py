"""Recall@N, pure NumPy: a query counts once if any of its top-N database images is a positive.

Queries without any positive stay in the denominator (as the Accuracy Checker does), so recall
is hits / all queries. Ranking is by inner product of L2-normalised descriptors (= cosine).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.files import atomic_write_text

DEFAULT_NS = (1, 5, 10)
_CHUNK = 1024  # queries ranked per matrix product: bounds memory on large sets


def rank_database(queries: np.ndarray, database: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Top-``k`` database rows per query by inner product, best first.

    ``queries``: (Q, D), ``database``: (N, D) float32. Returns (indices (Q, k) int64, scores
    (Q, k) float32). Ties keep the lower index first (a stable sort), so results are reproducible.
    """
    k = min(k, len(database))
    indices = np.empty((len(queries), k), np.int64)
    scores = np.empty((len(queries), k), np.float32)
    for start in range(0, len(queries), _CHUNK):
        similarity = queries[start : start + _CHUNK] @ database.T
        order = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        indices[start : start + _CHUNK] = order
        scores[start : start + _CHUNK] = np.take_along_axis(similarity, order, axis=1)
    return indices, scores


def first_hit_rank(ranked: np.ndarray, positives: list[np.ndarray]) -> np.ndarray:
    """Per query, the 0-based rank of its first positive in ``ranked`` (Q, k), or -1."""
    ranks = np.full(len(ranked), -1, np.int64)
    for i, (row, good) in enumerate(zip(ranked, positives, strict=True)):
        hits = np.flatnonzero(np.isin(row, good))
        if hits.size:
            ranks[i] = hits[0]
    return ranks


def recall_at_n(
    ranked: np.ndarray, positives: list[np.ndarray], ns: tuple[int, ...] = DEFAULT_NS
) -> dict[int, float]:
    """Recall@N for each N in ``ns`` from ranked database indices (Q, k), k >= max(ns)."""
    if len(ranked) == 0:
        raise ValueError("no queries to evaluate")
    ranks = first_hit_rank(ranked, positives)
    return {n: float(np.mean((ranks >= 0) & (ranks < n))) for n in ns}


@dataclass
class RecallReport:
    """What an evaluation run measured; ``to_json`` is the on-disk report."""

    dataset: str
    model: dict
    recall_at: dict[int, float]
    queries: int
    database: int
    vocabulary: str = ""
    precision: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    sequence: dict | None = None  # eval/sequences.py's entry, when sequences were evaluated

    def to_json(self) -> dict:
        data = asdict(self)
        data["recall_at"] = {str(n): v for n, v in self.recall_at.items()}
        if self.sequence is None:
            del data["sequence"]
        return data

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.to_json(), indent=2) + "\n")
        return path

    def summary(self) -> str:
        recalls = "  ".join(f"R@{n} {v:.3f}" for n, v in self.recall_at.items())
        return f"{self.dataset}: {recalls}  ({self.queries} queries, {self.database} database)"
