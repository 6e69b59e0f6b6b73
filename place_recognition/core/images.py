"""Finding and reading gallery images."""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from ..errors import PlaceRecognitionError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
# Images with more pixels are decoded at 1/2, 1/4 or 1/8 of their size (JPEG decodes straight to
# it): the models look at ~0.1 MP, and a 200 MP panorama would otherwise need 0.6 GB per decode.
MAX_DECODE_PIXELS = 40_000_000
_REDUCED = ((2, cv2.IMREAD_REDUCED_COLOR_2), (4, cv2.IMREAD_REDUCED_COLOR_4))


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
    """All images under ``root``, recursively, sorted by relative path: see walk_gallery."""
    return walk_gallery(root)[0]


def walk_gallery(
    root: Path, side_names: frozenset[str] = frozenset()
) -> tuple[list[ImageFile], list[ImageFile]]:
    """The images under ``root``, recursively, sorted by relative path, and the files named in
    ``side_names`` (such as ``places.csv``) met on the way, in walk order.

    Every common extension counts, in any letter case. Hidden folders (such as the
    ``.place_index`` folder where indexes live) and hidden files are skipped. Symlinked folders
    are followed once: a link back to a folder already walked (a loop) is skipped. Plain string
    operations instead of ``Path`` objects: this runs at every start, over 100k+ files.
    """
    root = require_gallery(root)
    found: list[ImageFile] = []
    side: list[ImageFile] = []
    root_stat = root.stat()
    seen = {(root_stat.st_dev, root_stat.st_ino)}  # folders walked, by device and inode
    stack = [(str(root), "")]  # (folder on disk, its POSIX path relative to root + "/")
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = [entry for entry in scan if not entry.name.startswith(".")]
        except OSError as exc:
            logger.warning("skipping folder %s: %s", folder, exc.strerror)
            continue
        for entry in entries:
            if entry.is_dir():
                stat = entry.stat()  # follows a symlink: the folder it leads to
                if (stat.st_dev, stat.st_ino) in seen:
                    logger.warning("skipping %s: a link to a folder already indexed", entry.path)
                    continue
                seen.add((stat.st_dev, stat.st_ino))
                stack.append((entry.path, f"{prefix}{entry.name}/"))
            elif entry.is_file():
                into = found if is_image_name(entry.name) else side
                if into is side and entry.name not in side_names:
                    continue
                stat = entry.stat()
                into.append(ImageFile(prefix + entry.name, stat.st_size, stat.st_mtime_ns))
    found.sort()  # by relpath, the first field (paths are unique)
    return found, side


def decode_image(data: bytes) -> np.ndarray | None:
    """Decode encoded image bytes to a u8 BGR array; None when they are not a readable image.

    Whatever the file holds (grey, 16-bit, alpha, palette), the result is 3-channel u8 BGR,
    turned upright by its EXIF orientation; huge images come out reduced (MAX_DECODE_PIXELS).
    A JPEG cut short is refused rather than returned with a grey lower part.
    """
    if not data or _jpeg_is_truncated(data):
        return None
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), _decode_flags(data))
    except cv2.error:
        return None


def why_undecodable(data: bytes) -> str:
    """A short reason for the summary, for bytes that :func:`decode_image` refused."""
    if not data:
        return "empty file"
    if _jpeg_is_truncated(data):
        return "truncated JPEG"
    size = image_size(data)
    if size is None:
        return "not a readable image"
    return f"damaged or truncated image ({size[0]}x{size[1]})"


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the image header without decoding the pixels; None if unknown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PIL warns about huge images; only the size is read
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.size
        except Image.DecompressionBombError:
            return (1 << 16, 1 << 16)  # over PIL's own limit: certainly too big to decode whole
        except Exception:  # PIL raises many kinds on garbage; any of them means "unknown"
            return None


def _decode_flags(data: bytes) -> int:
    size = image_size(data)
    pixels = size[0] * size[1] if size else 0
    if pixels <= MAX_DECODE_PIXELS:
        return cv2.IMREAD_COLOR
    for factor, flag in _REDUCED:
        if pixels <= MAX_DECODE_PIXELS * factor**2:
            return flag
    return cv2.IMREAD_REDUCED_COLOR_8


def _jpeg_is_truncated(data: bytes) -> bool:
    """True for a JPEG whose main image data has no end marker (a cut download or copy).

    Walks the marker segments to the first start-of-scan of the main image (so an EXIF
    thumbnail's own end marker does not count) and looks for the end-of-image marker after it.
    Data appended after a complete JPEG (motion photos) is fine.
    """
    if data[:3] != b"\xff\xd8\xff":
        return False
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return True  # the header itself is broken or cut
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA:
            return data.find(b"\xff\xd9", position) < 0
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return True


def read_image(path: Path) -> np.ndarray:
    """Read an image file as u8 BGR; raise a one-line error naming the file when it cannot."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FileNotFoundError(f"cannot read image {path}: {exc.strerror}") from exc
    image = decode_image(data)
    if image is None:
        raise PlaceRecognitionError(f"cannot decode image {path}: {why_undecodable(data)}")
    return image


class ImageFiles:
    """Image files decoded one at a time as they are iterated, in order; ``len()`` counts the
    files (so that a progress bar knows its total).

    ``skip_unreadable``: a file that cannot be read or decoded is logged and skipped (fewer
    images than ``len()`` then come out); otherwise its one-line error is raised.
    """

    def __init__(self, paths: Iterable[Path], skip_unreadable: bool = True) -> None:
        self.paths = [Path(path) for path in paths]
        self.skip_unreadable = skip_unreadable

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[np.ndarray]:
        for path in self.paths:
            try:
                yield read_image(path)
            except (PlaceRecognitionError, OSError) as exc:
                if not self.skip_unreadable:
                    raise
                logger.warning("skipping %s", exc)


def require_gallery(root: Path) -> Path:
    """``root`` as a Path; FileNotFoundError naming it when it is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"gallery folder not found: {root}")
    return root
