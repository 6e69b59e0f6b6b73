"""``places.csv``: labels and coordinates that a gallery gives its images, anywhere in its tree.

A ``places.csv`` may sit in any folder of the gallery, the root included. Its ``file`` column
names images of that folder or of its subfolders, relative to it (``view_1.jpg``,
``street/1.jpg``); the other columns are optional (``COLUMNS``): ``label`` (the place, instead
of the image's folder), ``lat`` and ``lon``. An entry naming no image of the gallery is reported
with the CSV's path and line, and ignored. When two ``places.csv`` name the same image, the one
nearer to it wins: a folder's own file overrides its parents', whole rows at a time.
"""

from __future__ import annotations

import csv
import logging
import posixpath
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.images import is_image_name
from ..errors import PlaceRecognitionError

logger = logging.getLogger(__name__)

PLACES_CSV = "places.csv"
FILE_COLUMN = "file"


@dataclass(frozen=True)
class PlaceInfo:
    """What a ``places.csv`` row says about one image; None where it says nothing. ``route``
    and ``index`` place it on a route in order (see indexing/routes.py)."""

    label: str | None = None
    lat: float | None = None
    lon: float | None = None
    route: str | None = None
    index: float | None = None


# The optional columns: each is read into the PlaceInfo field of its name by its parser, whose
# ValueError becomes a one-line error naming what was expected. A new column is one entry here
# and one field above.
COLUMNS: dict[str, tuple[Callable[[str], Any], str]] = {
    "label": (str, "a label"),
    "lat": (float, "a number"),
    "lon": (float, "a number"),
    "route": (str, "a route name"),
    "index": (float, "a number (the image's order on its route)"),
}


def read_places(root: Path, relpaths: Collection[str]) -> dict[str, PlaceInfo]:
    """What the ``places.csv`` files of the gallery ``root`` say about its images ``relpaths``
    (POSIX paths relative to ``root``), by relpath; see the module docstring for the rules.

    Only the folders holding ``relpaths`` and the folders above them are looked in.
    """
    images = relpaths if isinstance(relpaths, (set, frozenset)) else set(relpaths)
    places: dict[str, PlaceInfo] = {}
    # Root first, deeper folders after: a nearer places.csv overwrites a farther one's entries.
    for folder in sorted(ancestor_folders(images), key=lambda f: (f.count("/") + bool(f), f)):
        csv_path = Path(root) / folder / PLACES_CSV
        if csv_path.is_file():
            places.update(_read_places_csv(Path(root), csv_path, folder, images))
    return places


def ancestor_folders(relpaths: Iterable[str]) -> set[str]:
    """The folders holding ``relpaths`` and every folder above them, up to the root ``""``."""
    folders = {relpath.rpartition("/")[0] for relpath in relpaths}
    found: set[str] = set()
    for folder in folders:
        while folder not in found:
            found.add(folder)
            if not folder:
                break
            folder = folder.rpartition("/")[0]
    return found


def _read_places_csv(
    root: Path, csv_path: Path, folder: str, images: Collection[str]
) -> dict[str, PlaceInfo]:
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or FILE_COLUMN not in reader.fieldnames:
            raise PlaceRecognitionError(
                f"{csv_path}: the header must name a '{FILE_COLUMN}' column (and any of "
                f"{', '.join(COLUMNS)})"
            )
        places = {}
        for line, row in enumerate(reader, start=2):
            relpath = _named_image(root, csv_path, folder, line, row[FILE_COLUMN] or "", images)
            if relpath is not None:
                places[relpath] = _place_info(row, csv_path, line)
    return places


def _named_image(
    root: Path, csv_path: Path, folder: str, line: int, name: str, images: Collection[str]
) -> str | None:
    """The gallery relpath an entry names, or None (reported) when it names no image."""
    name = name.strip().replace("\\", "/")  # a CSV written on Windows
    relpath = posixpath.normpath(posixpath.join(folder, name))
    if not name:
        problem = f"the {FILE_COLUMN} column is empty"
    elif not _inside(folder, name, relpath):
        problem = f"{name} is not inside {csv_path.parent}"
    elif relpath in images:
        return relpath
    elif is_image_name(relpath) and (root / relpath).is_file():
        return None  # an image left out of this index (a gallery size limit): nothing wrong
    else:
        problem = f"{name} is not an image of the gallery"
    logger.warning("%s, line %d: %s; the entry is ignored", csv_path, line, problem)
    return None


def _inside(folder: str, name: str, relpath: str) -> bool:
    """Whether ``name`` (as written in the places.csv of ``folder``) stays inside ``folder``."""
    if name.startswith("/"):
        return False
    if folder:
        return relpath.startswith(f"{folder}/")
    return relpath != ".." and not relpath.startswith("../")


def _place_info(row: dict, csv_path: Path, line: int) -> PlaceInfo:
    values = {}
    for column, (parse, expected) in COLUMNS.items():
        text = (row.get(column) or "").strip()
        if not text:
            continue
        try:
            values[column] = parse(text)
        except ValueError:
            raise PlaceRecognitionError(
                f"{csv_path}, line {line}: {column} '{text}' is not {expected}"
            ) from None
    return PlaceInfo(**values)
