"""The demo's outputs: the overlaid frames (a video or an image pattern) and per-frame JSON lines.

Files appear atomically: a video and the JSON lines are written under a temporary name in the
target folder and renamed when the run ends; each image of a pattern is written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from ..core.files import atomic_write_bytes
from ..errors import PlaceRecognitionError

# Container -> codec: MJPG in .avi is what the OMZ demo writes and what every OpenCV build has.
_CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG", ".mov": "mp4v"}


def _partial(path: Path) -> Path:
    """A temporary name beside ``path`` with its extension (OpenCV picks the container by it)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


class FrameWriter:
    """Writes up to ``limit`` frames (0 = all) to ``path``: a video, or an image pattern ('%')."""

    def __init__(self, path: Path, fps: float, limit: int = 0) -> None:
        self.path = Path(path)
        self.fps = fps
        self.limit = limit
        self.written = 0
        self._video: cv2.VideoWriter | None = None
        self._pattern = "%" in self.path.name
        suffix = self.path.suffix.lower()
        if self._pattern:
            try:
                self.path.name % 0
            except (TypeError, ValueError):
                raise PlaceRecognitionError(
                    f"-o {path}: an image pattern needs one integer field, e.g. out_%04d.jpg"
                ) from None
            if not cv2.haveImageWriter(f"x{suffix}"):
                raise PlaceRecognitionError(f"-o {path}: OpenCV cannot write {suffix} images")
        elif suffix not in _CODECS:
            raise PlaceRecognitionError(
                f"-o {path}: unknown video type; use .avi (MJPG), .mp4, or an image pattern such "
                "as out_%04d.jpg"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def full(self) -> bool:
        return 0 < self.limit <= self.written

    def write(self, image: np.ndarray) -> None:
        if self.full:
            return
        if self._pattern:
            target = self.path.with_name(self.path.name % self.written)
            ok, data = cv2.imencode(self.path.suffix, image)
            if not ok:
                raise PlaceRecognitionError(f"cannot encode {target}")
            atomic_write_bytes(target, data.tobytes())
        else:
            self._video_for(image).write(image)
        self.written += 1

    def _video_for(self, image: np.ndarray) -> cv2.VideoWriter:
        if self._video is None:
            fourcc = cv2.VideoWriter_fourcc(*_CODECS[self.path.suffix.lower()])
            size = (image.shape[1], image.shape[0])
            self._video = cv2.VideoWriter(str(_partial(self.path)), fourcc, self.fps, size)
            if not self._video.isOpened():
                raise PlaceRecognitionError(
                    f"-o {self.path}: OpenCV cannot write this video here; try an .avi name or an "
                    "image pattern such as out_%04d.jpg"
                )
        return self._video

    def close(self) -> None:
        """Finish the file and give it its final name."""
        if self._video is not None:
            self._video.release()
            self._video = None
            os.replace(_partial(self.path), self.path)


class JsonLinesWriter:
    """One JSON object per line; the file gets its final name on ``close``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = _partial(self.path)
        self._file = open(self._tmp, "w", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
            os.replace(self._tmp, self.path)
