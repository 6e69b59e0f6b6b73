"""Labelled place-recognition sets: database images, query images and each query's positives.

Three formats, one :class:`VprDataset` (:func:`read_dataset` picks the reader):

* a folder with ``ref/`` (the database), ``query/`` and ``ground_truth.csv`` whose header is
  ``query,positives`` and whose rows hold a query path and the ``;``-separated paths of its
  positive references, all relative to the folder (``../shared/datasets/*``);
* a NetVLAD split file (``pitts250k/datasets/pitts30k_val.mat``: ``dbStruct`` with image names and
  UTM positions; queries under ``queries_real/``), positives = strictly within 25 m;
* a folder with ``database/`` and ``queries/`` whose image names carry UTM as
  ``@east@north@...`` (the layout of gmberton's VPR benchmarks), positives the same way.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.images import list_images
from ..errors import PlaceRecognitionError
from .pitts import (
    QUERY_FOLDER,
    positives_within,
    read_pitts_mat,
    utm_from_name,
)

GROUND_TRUTH = "ground_truth.csv"
DATABASE_DIR = "ref"
UTM_DATABASE_DIR, UTM_QUERY_DIR = "database", "queries"
DISTANCE_THRESHOLD = 25.0  # metres: a database image closer than this shows the query's place


@dataclass(frozen=True)
class VprDataset:
    """Database and queries (paths relative to ``root``) and the positives of every query.

    ``positives[i]``: int64 indices into ``database`` of the images showing query i's place
    (may be empty: such a query can never be a hit, and still counts in the denominator).
    ``utm_database`` (N, 2) and ``utm_queries`` (Q, 2): east/north in metres, when known.
    """

    name: str
    root: Path
    database: list[str]
    queries: list[str]
    positives: list[np.ndarray]
    utm_database: np.ndarray | None = None
    utm_queries: np.ndarray | None = None

    @property
    def has_utm(self) -> bool:
        return self.utm_database is not None and self.utm_queries is not None

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


def read_pitts_split(
    split_file: Path, images_dir: Path | None = None, threshold: float = DISTANCE_THRESHOLD
) -> VprDataset:
    """A NetVLAD split (.mat) with its images: database names as listed, queries under
    ``queries_real/``. ``images_dir`` defaults to the folder above ``datasets/``."""
    split_file = Path(split_file)
    split = read_pitts_mat(split_file)
    if images_dir is None:
        parent = split_file.parent
        images_dir = parent.parent if parent.name == "datasets" else parent
    queries = [f"{QUERY_FOLDER}/{name}" for name in split.q_images]
    _require_files(Path(images_dir), [*split.db_images, *queries], split_file)
    return VprDataset(
        split_file.stem,
        Path(images_dir),
        split.db_images,
        queries,
        positives_within(split.utm_q, split.utm_db, threshold),
        split.utm_db,
        split.utm_q,
    )


def read_utm_folder(root: Path, threshold: float = DISTANCE_THRESHOLD) -> VprDataset:
    """``database/`` and ``queries/`` images named ``@east@north@...``; positives by distance."""
    root = Path(root)
    database = [f"{UTM_DATABASE_DIR}/{f.relpath}" for f in list_images(root / UTM_DATABASE_DIR)]
    queries = [f"{UTM_QUERY_DIR}/{f.relpath}" for f in list_images(root / UTM_QUERY_DIR)]
    utm_database, utm_queries = _utm_of(database), _utm_of(queries)
    if not queries or not database:
        raise PlaceRecognitionError(f"{root}: no images in {UTM_DATABASE_DIR}/ or {UTM_QUERY_DIR}/")
    return VprDataset(
        root.name,
        root,
        database,
        queries,
        positives_within(utm_queries, utm_database, threshold),
        utm_database,
        utm_queries,
    )


def read_dataset(path: Path) -> VprDataset:
    """Any supported labelled set: a ground_truth.csv folder, a NetVLAD .mat, a UTM folder."""
    path = Path(path)
    if path.suffix.lower() == ".mat":
        return read_pitts_split(path)
    if (path / GROUND_TRUTH).is_file():
        return read_ground_truth_folder(path)
    if (path / UTM_DATABASE_DIR).is_dir() and (path / UTM_QUERY_DIR).is_dir():
        return read_utm_folder(path)
    if not path.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    raise PlaceRecognitionError(
        f"{path} is not a labelled set: expected ref/ + query/ + {GROUND_TRUTH}, a NetVLAD "
        f"split .mat, or {UTM_DATABASE_DIR}/ + {UTM_QUERY_DIR}/ with @east@north@ file names"
    )


def _utm_of(names: list[str]) -> np.ndarray:
    positions = []
    for name in names:
        utm = utm_from_name(name)
        if utm is None:
            raise PlaceRecognitionError(f"{name}: no @east@north@ UTM position in the file name")
        positions.append(utm)
    return np.array(positions, np.float64).reshape(-1, 2)


def _require_files(root: Path, names: list[str], listed_in: Path) -> None:
    missing = [name for name in names if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of the {len(names)} images listed in {listed_in} are not under "
            f"{root}, e.g. {root / missing[0]} (layout: docs/accuracy.md)"
        )
