"""NetVLAD's Pittsburgh/Tokyo dataset specs: the ``dbStruct`` .mat files and UTM file names.

A split file (e.g. ``pitts250k/datasets/pitts30k_val.mat``, MAT level 5) holds a struct
``dbStruct`` with ``dbImageFns`` (database image paths), ``utmDb`` (2 x N UTM east/north, metres),
``qImageFns`` and ``utmQ`` for the queries, plus fields this project does not use (``whichSet``,
``posDistThr`` ...). Query images live under ``queries_real/`` beside the database folders, as the
Open Model Zoo Accuracy Checker expects (docs/background/accuracy-checker.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PlaceRecognitionError

QUERY_FOLDER = "queries_real"
_UTM_NAME = re.compile(r"@(-?\d+(?:\.\d+)?)@(-?\d+(?:\.\d+)?)@")


@dataclass(frozen=True)
class PittsSplit:
    """Database and query image names with their UTM positions ((N, 2) east, north)."""

    db_images: list[str]
    utm_db: np.ndarray
    q_images: list[str]
    utm_q: np.ndarray


def _loadmat():
    try:
        from scipy.io import loadmat, savemat
    except ImportError as exc:  # pragma: no cover - scipy is in requirements.txt
        raise PlaceRecognitionError("reading NetVLAD .mat files needs scipy") from exc
    return loadmat, savemat


def _names(value: object) -> list[str]:
    """Cell array of strings (any shape, possibly nested 1-element arrays) -> list of str."""
    names = []
    for item in np.asarray(value, dtype=object).ravel():
        while isinstance(item, np.ndarray):
            item = item.ravel()[0]
        names.append(str(item))
    return names


def _utm(value: object, count: int, field: str, path: Path) -> np.ndarray:
    utm = np.asarray(value, dtype=np.float64).reshape(2, -1).T
    if len(utm) != count:
        raise PlaceRecognitionError(f"{path}: {field} has {len(utm)} positions for {count} images")
    return utm


def read_pitts_mat(path: Path) -> PittsSplit:
    """Read a NetVLAD split file (MAT level 5, variable ``dbStruct``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"split file not found: {path}")
    loadmat, _ = _loadmat()
    try:
        struct = loadmat(str(path), simplify_cells=True)["dbStruct"]
        db_images, q_images = _names(struct["dbImageFns"]), _names(struct["qImageFns"])
        utm_db = _utm(struct["utmDb"], len(db_images), "utmDb", path)
        utm_q = _utm(struct["utmQ"], len(q_images), "utmQ", path)
    except (KeyError, ValueError, TypeError, NotImplementedError) as exc:
        raise PlaceRecognitionError(
            f"{path} is not a NetVLAD split file with dbStruct (dbImageFns, utmDb, qImageFns, "
            f"utmQ); MAT level 5 is required: {exc}"
        ) from exc
    return PittsSplit(db_images, utm_db, q_images, utm_q)


def write_pitts_mat(path: Path, split: PittsSplit, which_set: str = "val") -> None:
    """Write ``split`` as a NetVLAD ``dbStruct`` .mat (MAT level 5, as the originals)."""
    _, savemat = _loadmat()

    def cells(names: list[str]) -> np.ndarray:
        array = np.empty((len(names), 1), dtype=object)
        array[:, 0] = names
        return array

    struct = {
        "whichSet": which_set,
        "dbImageFns": cells(split.db_images),
        "utmDb": np.asarray(split.utm_db, np.float64).T,
        "qImageFns": cells(split.q_images),
        "utmQ": np.asarray(split.utm_q, np.float64).T,
        "numImages": float(len(split.db_images)),
        "numQueries": float(len(split.q_images)),
        "posDistThr": 25.0,
        "posDistSqThr": 625.0,
        "nonTrivPosDistSqThr": 100.0,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    savemat(str(path), {"dbStruct": struct}, format="5")


def utm_from_name(name: str) -> tuple[float, float] | None:
    """UTM (east, north) from a file name like ``@0585000.12@4477000.34@17@T@...jpg``."""
    match = _UTM_NAME.search(Path(name).name)
    return (float(match.group(1)), float(match.group(2))) if match else None


SPACING = 10.0  # metres between consecutive places of a fixture route
ORIGIN = (585000.0, 4477000.0)  # an arbitrary point in Pittsburgh's UTM zone 17T


def route_positions(count: int) -> np.ndarray:
    """UTM positions along a straight route, ``SPACING`` metres apart: (count, 2)."""
    east = ORIGIN[0] + SPACING * np.arange(count)
    return np.stack([east, np.full(count, ORIGIN[1])], axis=1)


def positives_within(
    utm_q: np.ndarray, utm_db: np.ndarray, threshold: float = 25.0
) -> list[np.ndarray]:
    """Per query, the database indices **strictly** closer than ``threshold`` metres (int64).

    Strictly, as the Accuracy Checker counts a hit; NetVLAD's MATLAB code uses <= instead.
    """
    positives = []
    for start in range(0, len(utm_q), 512):  # bounded memory on Pitts-sized sets
        chunk = np.asarray(utm_q[start : start + 512], np.float64)
        distances = np.linalg.norm(chunk[:, None, :] - utm_db[None, :, :], axis=2)
        positives.extend(np.flatnonzero(row < threshold).astype(np.int64) for row in distances)
    return positives
