"""The training and validation sets on cached local features (NumPy only, no torch)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .places import (
    Positions,
    Split,
    place_labels,
    within,
)


@dataclass
class TrainingSet:
    """Training images' features and, per query, its potential positives and non-negatives.

    ``positives[i]``: database rows within the positive radius of query i; ``near[i]``: rows
    within the negative radius (never used as negatives). ``labels``: place IDs of the queries
    then the database images, for the triplet loss.
    """

    queries: np.ndarray  # (Q, n, C)
    database: np.ndarray  # (N, n, C)
    positives: list[np.ndarray]
    near: list[np.ndarray]
    labels: np.ndarray

    @property
    def usable_queries(self) -> np.ndarray:
        """Queries with at least one potential positive (the others cannot make a tuple)."""
        return np.array([i for i, p in enumerate(self.positives) if len(p)], np.int64)


@dataclass
class ValidationSet:
    """Validation images' features and each query's positives (rows of ``database``)."""

    queries: np.ndarray
    database: np.ndarray
    positives: list[np.ndarray]


def build_sets(
    query_features: np.ndarray,
    database_features: np.ndarray,
    positions: Positions,
    split: Split,
    ground_truth: list[np.ndarray],
    pos_radius: float,
    neg_radius: float,
) -> tuple[TrainingSet, ValidationSet]:
    """Cut the features by ``split``; validation positives come from the dataset's own ground
    truth (``ground_truth[i]``: database rows of query i), restricted to the validation images."""
    q_pos = positions.queries[split.train_queries]
    db_pos = positions.database[split.train_database]
    if positions.query_labels is not None and positions.database_labels is not None:
        labels = np.concatenate(
            [
                positions.query_labels[split.train_queries],
                positions.database_labels[split.train_database],
            ]
        )
    else:
        labels = place_labels(np.concatenate([q_pos, db_pos]), pos_radius)
    train = TrainingSet(
        np.asarray(query_features[split.train_queries], np.float32),
        np.asarray(database_features[split.train_database], np.float32),
        within(q_pos, db_pos, pos_radius),
        within(q_pos, db_pos, neg_radius),
        labels,
    )
    val = ValidationSet(
        np.asarray(query_features[split.val_queries], np.float32),
        np.asarray(database_features[split.val_database], np.float32),
        validation_positives(ground_truth, split, len(database_features)),
    )
    return train, val


def validation_positives(
    ground_truth: list[np.ndarray], split: Split, database_size: int
) -> list[np.ndarray]:
    """Each validation query's positives as rows of the validation database (others dropped)."""
    row = np.full(database_size, -1, np.int64)
    row[split.val_database] = np.arange(len(split.val_database))
    return [np.sort(r[r >= 0]) for r in (row[ground_truth[q]] for q in split.val_queries)]
