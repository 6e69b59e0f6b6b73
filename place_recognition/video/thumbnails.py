"""Gallery thumbnails for the overlay, read from disk once and then kept in memory.

The OMZ demo re-reads its ten thumbnails from disk on every frame; a bounded LRU cache keyed by
gallery path reads each image once (a frame's top-k changes little from one frame to the next).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from ..core.images import decode_image

logger = logging.getLogger(__name__)

THUMB_SIZE = (240, 320)  # (height, width): sharp enough for the overlay's largest slot


def placeholder(size: tuple[int, int] = THUMB_SIZE, text: str = "missing") -> np.ndarray:
    """A grey tile standing in for an image that cannot be read."""
    tile = np.full((*size, 3), 90, np.uint8)
    cv2.putText(tile, text, (10, size[0] // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (200, 200, 200), 2)
    return tile


class ThumbnailCache:
    """``get(relpath)`` returns the gallery image as a (height, width, 3) u8 BGR thumbnail."""

    def __init__(self, root: Path, size: tuple[int, int] = THUMB_SIZE, capacity: int = 256):
        self.root = Path(root)
        self.size = size
        self.capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.reads = 0  # files read from disk (tests check that hits are not re-read)

    def get(self, relpath: str) -> np.ndarray:
        thumb = self._cache.get(relpath)
        if thumb is not None:
            self._cache.move_to_end(relpath)
            return thumb
        thumb = self._load(relpath)
        self._cache[relpath] = thumb
        if len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return thumb

    def _load(self, relpath: str) -> np.ndarray:
        self.reads += 1
        try:
            image = decode_image((self.root / relpath).read_bytes())
        except OSError:
            image = None
        if image is None:
            logger.warning("cannot read gallery image %s for its thumbnail", self.root / relpath)
            return placeholder(self.size)
        height, width = self.size
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
