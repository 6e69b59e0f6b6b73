"""``places.csv``: per-file labels and coordinates that a gallery folder may give."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import PlaceRecognitionError

logger = logging.getLogger(__name__)

PLACES_CSV = "places.csv"


@dataclass(frozen=True)
class PlaceInfo:
    """Metadata from a ``places.csv`` for one image: a label, coordinates, and the route it
    lies on with its order there (``route``, ``index``: see indexing/routes.py)."""

    label: str | None = None
    lat: float | None = None
    lon: float | None = None
    route: str | None = None
    index: float | None = None


def read_places(root: Path, folders: set[str]) -> dict[str, PlaceInfo]:
    """Metadata from every ``places.csv`` in ``folders`` (relative to ``root``), by image relpath.

    Columns: ``file`` (relative to the CSV's folder) and any of ``label``, ``lat``, ``lon``,
    ``route`` and ``index`` (a number: the image's order on its route).
    """
    places: dict[str, PlaceInfo] = {}
    for folder in sorted(folders):
        csv_path = Path(root) / folder / PLACES_CSV
        if csv_path.is_file():
            places.update(_read_places_csv(csv_path, folder))
    return places


def _read_places_csv(csv_path: Path, folder: str) -> dict[str, PlaceInfo]:
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "file" not in reader.fieldnames:
            raise PlaceRecognitionError(
                f"{csv_path}: the header must name a 'file' column (and label, lat, lon)"
            )
        places = {}
        for line, row in enumerate(reader, start=2):
            relpath = (Path(folder) / row["file"].strip()).as_posix()
            places[relpath.removeprefix("./")] = PlaceInfo(
                label=(row.get("label") or "").strip() or None,
                lat=_number(row, "lat", csv_path, line),
                lon=_number(row, "lon", csv_path, line),
                route=(row.get("route") or "").strip() or None,
                index=_number(row, "index", csv_path, line),
            )
    return places


def _number(row: dict, column: str, csv_path: Path, line: int) -> float | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise PlaceRecognitionError(
            f"{csv_path}, line {line}: {column} '{text}' is not a number"
        ) from None
