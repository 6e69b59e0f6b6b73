"""JPEG thumbnails of indexed gallery images, made once and kept (bounded)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import cv2

from ..core.images import read_image
from ..index.records import GalleryRecord

THUMBNAIL_SIZE = 256  # the longer side, in pixels
CACHED = 512


class Thumbnails:
    """Thumbnails by record id (sha256 of the file), least recently used dropped first."""

    def __init__(self, capacity: int = CACHED) -> None:
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def jpeg(self, gallery: Path, record: GalleryRecord) -> bytes:
        with self._lock:
            if record.sha256 in self._cache:
                self._cache.move_to_end(record.sha256)
                return self._cache[record.sha256]
        data = _make(Path(gallery) / record.path)
        with self._lock:
            self._cache[record.sha256] = data
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return data


def _make(path: Path) -> bytes:
    image = read_image(path)
    height, width = image.shape[:2]
    scale = THUMBNAIL_SIZE / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError(f"cannot encode a thumbnail of {path}")
    return encoded.tobytes()
