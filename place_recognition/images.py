"""Finding and reading gallery images."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from .errors import PlaceRecognitionError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
PLACES_CSV = "places.csv"


class ImageFile(NamedTuple):
    """An image found under a gallery root; ``relpath`` is POSIX-style and relative to it.

    A NamedTuple rather than a dataclass: a listing makes one per gallery image at every start,
    and tuples are several times cheaper to create.
    """

    relpath: str
    size: int
    mtime_ns: int


def is_image_name(name: str) -> bool:
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def list_images(root: Path) -> list[ImageFile]:
    """All images under ``root``, recursively, sorted by relative path.

    Every common extension counts, in any letter case. Hidden folders (such as the
    ``.place_index`` folder where indexes live) and hidden files are skipped. Plain string
    operations instead of ``Path`` objects: this runs at every start, over 100k+ files.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"gallery folder not found: {root}")
    found: list[ImageFile] = []
    stack = [(str(root), "")]  # (folder on disk, its POSIX path relative to root + "/")
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as scan:
            entries = [entry for entry in scan if not entry.name.startswith(".")]
        stack.extend((e.path, f"{prefix}{e.name}/") for e in entries if e.is_dir())
        for entry in entries:
            if entry.is_file() and is_image_name(entry.name):
                stat = entry.stat()
                found.append(ImageFile(prefix + entry.name, stat.st_size, stat.st_mtime_ns))
    found.sort()  # by relpath, the first field (paths are unique)
    return found


def default_label(relpath: str) -> str:
    """The place of an image: its subfolder path, or its file stem when it sits in the root."""
    parent = Path(relpath).parent.as_posix()
    return Path(relpath).stem if parent == "." else parent


def decode_image(data: bytes) -> np.ndarray | None:
    """Decode encoded image bytes to a u8 BGR array; None when they are not a readable image."""
    if not data:
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def read_image(path: Path) -> np.ndarray:
    """Read an image file as u8 BGR; raise a one-line error naming the file when it cannot."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FileNotFoundError(f"cannot read image {path}: {exc.strerror}") from exc
    image = decode_image(data)
    if image is None:
        raise PlaceRecognitionError(f"cannot decode image {path}: not a supported image file")
    return image


@dataclass(frozen=True)
class PlaceInfo:
    """Metadata from a ``places.csv``: a label and/or coordinates for one image."""

    label: str | None = None
    lat: float | None = None
    lon: float | None = None


def read_places(root: Path, folders: set[str]) -> dict[str, PlaceInfo]:
    """Metadata from every ``places.csv`` in ``folders`` (relative to ``root``), by image relpath.

    Columns: ``file`` (relative to the CSV's folder) and any of ``label``, ``lat``, ``lon``.
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
                lat=_coordinate(row, "lat", csv_path, line),
                lon=_coordinate(row, "lon", csv_path, line),
            )
    return places


def _coordinate(row: dict, column: str, csv_path: Path, line: int) -> float | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise PlaceRecognitionError(
            f"{csv_path}, line {line}: {column} '{text}' is not a number"
        ) from None
