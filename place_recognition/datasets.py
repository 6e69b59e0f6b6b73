"""Labelled place-recognition sets: database images, query images and each query's positives.

One reader so far, for the simple format of ``../shared/datasets/*``: a folder with ``ref/``
(the database), ``query/`` and ``ground_truth.csv`` whose header is ``query,positives`` and whose
rows hold a query path and the ``;``-separated paths of its positive references, all relative to
the folder. Other formats (Pittsburgh ``.mat`` + UTM, ...) add readers returning the same
:class:`VprDataset`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import PlaceRecognitionError
from .images import list_images

GROUND_TRUTH = "ground_truth.csv"
DATABASE_DIR = "ref"


@dataclass(frozen=True)
class VprDataset:
    """Database and queries (paths relative to ``root``) and the positives of every query.

    ``positives[i]``: int64 indices into ``database`` of the images showing query i's place
    (may be empty: such a query can never be a hit, and still counts in the denominator).
    """

    name: str
    root: Path
    database: list[str]
    queries: list[str]
    positives: list[np.ndarray]

    def database_paths(self) -> list[Path]:
        return [self.root / p for p in self.database]

    def query_paths(self) -> list[Path]:
        return [self.root / p for p in self.queries]

    def describe(self) -> str:
        return f"{self.name}: {len(self.queries)} queries, {len(self.database)} database images"


def read_ground_truth_folder(root: Path) -> VprDataset:
    """Read a ``ref/`` + ``query/`` + ``ground_truth.csv`` folder; errors name the bad line."""
    root = Path(root)
    csv_path = root / GROUND_TRUTH
    if not csv_path.is_file():
        raise FileNotFoundError(
            f"no {GROUND_TRUTH} in {root}; expected ref/, query/ and {GROUND_TRUTH} "
            "(header query,positives)"
        )
    database = [f"{DATABASE_DIR}/{f.relpath}" for f in list_images(root / DATABASE_DIR)]
    row_of = {path: i for i, path in enumerate(database)}
    queries: list[str] = []
    positives: list[np.ndarray] = []
    with open(csv_path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"query", "positives"} <= set(reader.fieldnames):
            raise PlaceRecognitionError(f"{csv_path}: the header must be 'query,positives'")
        for line, row in enumerate(reader, start=2):
            query = (row["query"] or "").strip()
            if not query or not (root / query).is_file():
                raise PlaceRecognitionError(f"{csv_path}, line {line}: query {query!r} not found")
            names = [p.strip() for p in (row["positives"] or "").split(";") if p.strip()]
            missing = [p for p in names if p not in row_of]
            if missing:
                raise PlaceRecognitionError(
                    f"{csv_path}, line {line}: positive {missing[0]!r} is not an image in "
                    f"{root / DATABASE_DIR}"
                )
            queries.append(query)
            positives.append(np.array(sorted(row_of[p] for p in names), np.int64))
    if not queries:
        raise PlaceRecognitionError(f"{csv_path} lists no queries")
    return VprDataset(root.name, root, database, queries, positives)
