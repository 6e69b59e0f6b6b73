"""A small Pittsburgh-format data set made from a route-ordered labelled set (e.g. corridor).

Real Pitts30k cannot be had here, so the Accuracy Checker path is proven on a stand-in of the
same format: ``pitts250k/000/…`` database images, ``pitts250k/queries_real/000/…`` queries and
``pitts250k/datasets/pitts30k_val.mat`` with ``dbStruct``. Database image i sits at UTM
``route_positions()[i]`` (10 m apart); each query sits where the 25 m rule gives back exactly its
positives from ``ground_truth.csv``, which is checked. Two queries are added on purpose: one with
no positive at all, and one whose top-1 (an exact copy of a database image) lies exactly 25 m
away, a miss because the metric wants strictly less.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..errors import PlaceRecognitionError
from .datasets import DISTANCE_THRESHOLD, VprDataset
from .pitts import (
    QUERY_FOLDER,
    PittsSplit,
    positives_within,
    route_positions,
    write_pitts_mat,
)

FAR_AWAY = 1000.0  # metres north of the route: no database image near
SPACING_HINT = "database images 10 m apart, positives within 25 m"


def make_pitts_fixture(source: VprDataset, out_dir: Path, count: int | None = None) -> Path:
    """Write the fixture under ``out_dir/pitts250k``; returns the .mat path.

    ``count`` keeps the first ``count`` database images and the queries whose positives fall
    among them (all by default).
    """
    count = min(count or len(source.database), len(source.database))
    utm_db = route_positions(count)
    queries, utm_q = [], []
    for query, positives in zip(source.queries, source.positives, strict=True):
        wanted = positives[positives < count]
        if len(positives) and len(wanted) == len(positives):
            queries.append(source.root / query)
            utm_q.append(_position_for(wanted, utm_db, query))
    if not queries:
        raise PlaceRecognitionError(f"no query of {source.name} has its positives among {count}")
    middle = count // 2
    queries += [queries[0], source.root / source.database[middle]]
    utm_q += [utm_q[0] + (0.0, FAR_AWAY), utm_db[middle] + (0.0, DISTANCE_THRESHOLD)]
    root = Path(out_dir) / "pitts250k"
    db_names = _copy_all([source.root / p for p in source.database[:count]], root, "000")
    q_names = _copy_all(queries, root / QUERY_FOLDER, "000")
    split = PittsSplit(db_names, utm_db, q_names, np.array(utm_q))
    mat = root / "datasets" / "pitts30k_val.mat"
    write_pitts_mat(mat, split)
    return mat


def _position_for(positives: np.ndarray, utm_db: np.ndarray, query: str) -> np.ndarray:
    """A route position whose database images within 25 m are exactly ``positives``."""
    for centre in range(max(0, positives.min() - 2), min(len(utm_db), positives.max() + 3)):
        found = positives_within(utm_db[centre : centre + 1], utm_db, DISTANCE_THRESHOLD)[0]
        if np.array_equal(found, np.sort(positives)):
            return utm_db[centre]
    raise PlaceRecognitionError(
        f"the positives of {query} are not the neighbours of one place on a route "
        f"({SPACING_HINT}); this set cannot be laid out as a Pittsburgh fixture"
    )


def _copy_all(paths: list[Path], folder: Path, subfolder: str) -> list[str]:
    """Copy ``paths`` to ``folder/subfolder`` under unique names; return names relative to
    ``folder`` as the .mat lists them (e.g. ``000/0003_ref_0000003.jpg``)."""
    (folder / subfolder).mkdir(parents=True, exist_ok=True)
    names = []
    for number, path in enumerate(paths):
        name = f"{subfolder}/{number:04d}_{path.parent.name}_{path.name}"
        shutil.copyfile(path, folder / name)
        names.append(name)
    return names
