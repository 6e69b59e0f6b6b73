"""Where each image was taken, the train/validation split by route, and the tuples' candidates.

Positions are (N, d) arrays in one unit (metres for UTM, frame numbers along a route): from a
positions CSV, from the dataset's UTM, or from the number in each file name (a route position,
e.g. Nordland's frame number). Potential positives lie within ``pos_radius`` of a query,
definite negatives beyond ``neg_radius`` (GPS-style weak supervision, NetVLAD section 4).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..errors import PlaceRecognitionError, Remedy
from ..eval.datasets import VprDataset

_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Positions:
    """Positions (N, d) of the database and the queries, and optional place labels."""

    database: np.ndarray
    queries: np.ndarray
    database_labels: np.ndarray | None = None
    query_labels: np.ndarray | None = None


def positions_from_names(names: list[str]) -> np.ndarray:
    """The last number in each file name's stem as a 1-D route position: (N, 1)."""
    values = []
    for name in names:
        numbers = _NUMBER.findall(Path(name).stem)
        if not numbers:
            raise PlaceRecognitionError(
                f"{name}: no number in the file name to take the route position from "
                "(give a positions table instead)",
                remedy=Remedy.POSITIONS,
            )
        values.append(float(numbers[-1]))
    return np.array(values, np.float64).reshape(-1, 1)


def read_positions_csv(path: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """Positions (N, d) and labels of ``names`` from a CSV ``file,x[,y][,label]``.

    ``file`` is relative to the dataset folder (``ref/a.png``, ``query/b.png``); every image
    must be listed. The label column (place IDs) is used by ``--loss triplet`` only.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"positions CSV not found: {path}")
    rows: dict[str, tuple[list[float], str | None]] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        if "file" not in fields or "x" not in fields:
            raise PlaceRecognitionError(f"{path}: the header must be 'file,x[,y][,label]'")
        columns = ["x", "y"] if "y" in fields else ["x"]
        for line, row in enumerate(reader, start=2):
            try:
                coords = [float(row[c]) for c in columns]
            except (TypeError, ValueError):
                raise PlaceRecognitionError(f"{path}, line {line}: x/y must be numbers") from None
            rows[(row["file"] or "").strip().removeprefix("./")] = (coords, row.get("label"))
    missing = [name for name in names if name not in rows]
    if missing:
        raise PlaceRecognitionError(
            f"{path}: {len(missing)} images have no position, e.g. {missing[0]!r} (list every "
            "ref/ and query/ image, relative to the dataset folder)"
        )
    positions = np.array([rows[name][0] for name in names], np.float64)
    labels = [rows[name][1] for name in names]
    if all(label not in (None, "") for label in labels):
        return positions, np.unique(np.array(labels), return_inverse=True)[1].astype(np.int64)
    return positions, None


def dataset_positions(
    dataset: VprDataset, positions_csv: Path | None = None, from_names: bool = False
) -> Positions:
    """Positions of ``dataset``'s images: the CSV, else its UTM, else the file-name numbers."""
    if positions_csv is not None:
        db, db_labels = read_positions_csv(positions_csv, dataset.database)
        q, q_labels = read_positions_csv(positions_csv, dataset.queries)
        if db.shape[1] != q.shape[1]:
            raise PlaceRecognitionError(f"{positions_csv}: every row needs the same columns")
        return Positions(db, q, db_labels if q_labels is not None else None, q_labels)
    if from_names:
        return Positions(
            positions_from_names(dataset.database), positions_from_names(dataset.queries)
        )
    if dataset.has_utm:
        return Positions(np.asarray(dataset.utm_database), np.asarray(dataset.utm_queries))
    raise PlaceRecognitionError(
        f"{dataset.root}: no image positions; give a positions table (file,x[,y]) or take "
        "them from the file names (the number in each file name is the route position)",
        remedy=Remedy.POSITIONS,
    )


@dataclass(frozen=True)
class Split:
    """Indices of the training and validation images (database rows, query rows)."""

    train_database: np.ndarray
    train_queries: np.ndarray
    val_database: np.ndarray
    val_queries: np.ndarray

    def describe(self) -> str:
        return (
            f"train {len(self.train_queries)} queries / {len(self.train_database)} database, "
            f"validation {len(self.val_queries)} / {len(self.val_database)}"
        )


def split_route(positions: Positions, val_fraction: float, gap: float) -> Split:
    """A contiguous validation segment at the end of the route, training the rest minus a gap.

    The route axis is the positions' first principal direction (the position itself in 1-D);
    validation takes the last ``val_fraction`` of the queries along it, with every database
    image past the same cut; training keeps only the images farther than ``gap`` (use more than
    the negative radius) from every validation image, so no training tuple sees a validation
    place, not even as a negative.
    """
    everything = np.concatenate([positions.database, positions.queries])
    centred = everything - everything.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0] if centred.shape[1] > 1 else [1.0]
    along = centred @ np.asarray(axis, np.float64)
    if (
        along[len(positions.database) :].std() > 0
        and np.corrcoef(np.arange(len(positions.queries)), along[len(positions.database) :])[0, 1]
        < 0
    ):
        along = -along  # keep "the end of the route" where the query order ends
    cut = np.quantile(along[len(positions.database) :], 1.0 - val_fraction)
    is_val = along >= cut
    tree = cKDTree(everything[is_val])
    nearest, _ = tree.query(everything, k=1)
    is_train = ~is_val & (nearest > gap)
    n = len(positions.database)
    split = Split(
        np.flatnonzero(is_train[:n]),
        np.flatnonzero(is_train[n:]),
        np.flatnonzero(is_val[:n]),
        np.flatnonzero(is_val[n:]),
    )
    if min(len(split.train_queries), len(split.val_queries), len(split.val_database)) == 0:
        raise PlaceRecognitionError(
            f"the split leaves no training or validation images ({split.describe()}): lower "
            "the negative radius or change the validation share",
            remedy=Remedy.NEGATIVE_RADIUS,
        )
    return split


def within(
    query_positions: np.ndarray, database_positions: np.ndarray, radius: float
) -> list[np.ndarray]:
    """Per query, the sorted database rows strictly within ``radius``."""
    tree = cKDTree(database_positions)
    found = tree.query_ball_point(query_positions, r=radius, p=2.0, return_sorted=True)
    inside = []
    for rows, q in zip(found, query_positions, strict=True):
        rows = np.asarray(rows, np.int64)
        distance = np.linalg.norm(database_positions[rows] - q, axis=1) if len(rows) else rows
        inside.append(rows[distance < radius])
    return inside


def place_labels(positions: np.ndarray, cell: float) -> np.ndarray:
    """Place IDs from positions: grid cells of side ``cell`` (for ``--loss triplet``)."""
    cells = np.floor(positions / cell).astype(np.int64)
    return np.unique(cells, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
