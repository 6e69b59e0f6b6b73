"""Frame sources for the demo: a camera, a video file, one image or a folder of images.

``open_source`` decides what ``-i`` names (in the OMZ demo's order: camera index, image, folder,
video) and fails early, with one line naming the input and the fix, when it cannot be opened or
holds no frame. ``ThreadedReader`` captures and decodes on a background thread, so that decoding
the next frames overlaps inference of the current ones (OpenCV releases the GIL while it decodes).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core.images import decode_image, is_image_name, list_images
from ..errors import PlaceRecognitionError
from .opencv_quiet import opencv_quiet

logger = logging.getLogger(__name__)

STILL_FPS = 1.0  # frame rate written for image and folder inputs (as the OMZ demo does)


@dataclass(frozen=True)
class Frame:
    """One captured frame: its position in the stream, the u8 BGR image, the capture+decode time."""

    index: int
    image: np.ndarray
    decode_seconds: float
    name: str = ""
    captured_at: float | None = None  # when it became available (perf_counter), live inputs


class FrameSource:
    """Base class: ``frames()`` yields u8 BGR images with their names; ``fps`` is the input rate."""

    kind = "source"
    fps: float = STILL_FPS

    def __init__(self, loop: bool = False) -> None:
        self.loop = loop
        self.ended_early = False  # a camera that stopped delivering frames

    def frames(self) -> Iterator[tuple[np.ndarray, str]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file (idempotent)."""


class ImageSource(FrameSource):
    """One image; with ``loop`` it is shown again and again."""

    kind = "image"

    def __init__(self, path: Path, loop: bool = False) -> None:
        super().__init__(loop)
        self.path = path
        self._image = _read_still(path)

    def frames(self) -> Iterator[tuple[np.ndarray, str]]:
        while True:
            yield self._image, self.path.name
            if not self.loop:
                return


class FolderSource(FrameSource):
    """The images of a folder (and its subfolders), sorted by path; undecodable ones are skipped."""

    kind = "folder"

    def __init__(self, path: Path, loop: bool = False) -> None:
        super().__init__(loop)
        self.path = path
        self._files = [path / f.relpath for f in list_images(path)]
        if not self._files:
            raise PlaceRecognitionError(
                f"input folder {path} holds no images (jpg, png, bmp, webp, tif); "
                "give a folder of images, a video, an image or a camera index"
            )

    def frames(self) -> Iterator[tuple[np.ndarray, str]]:
        while True:
            shown = 0
            for file in self._files:
                image = decode_image(_read_bytes(file))
                if image is None:
                    logger.warning("skipping %s: cannot decode", file)
                    continue
                shown += 1
                yield image, file.name
            if not self.loop or shown == 0:
                return


class VideoSource(FrameSource):
    """A video file (``loop`` seeks back to the start) or a camera (``camera`` set)."""

    def __init__(self, capture: cv2.VideoCapture, name: str, loop: bool, camera: bool) -> None:
        super().__init__(loop and not camera)
        self.kind = "camera" if camera else "video"
        self.name = name
        self._capture = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else 30.0
        ok, first = capture.read()
        if not ok or first is None:
            capture.release()
            fix = (
                "check the camera connection or try another index (-i 1)"
                if camera
                else "the file holds no readable frames; check it plays, or convert it"
            )
            raise PlaceRecognitionError(
                f"{'camera' if camera else 'video'} {name}: no frame; {fix}"
            )
        self._first: np.ndarray | None = first

    def frames(self) -> Iterator[tuple[np.ndarray, str]]:
        number = 0
        while True:
            if self._first is not None:
                frame, self._first = self._first, None
            else:
                ok, frame = self._capture.read()
                if not ok or frame is None:
                    if self.kind == "camera":
                        self.ended_early = True
                        logger.warning("camera %s stopped delivering frames", self.name)
                        return
                    if self.loop and number > 0 and self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
                        number = 0
                        continue
                    return
            number += 1
            yield frame, f"{self.name}#{number}"

    def close(self) -> None:
        self._capture.release()


def open_source(spec: str, loop: bool = False) -> FrameSource:
    """Open what ``-i`` names: ``camera``, a camera index, an image, a folder or a video file."""
    text = str(spec).strip()
    if text.lower() == "camera" or text.isdigit():
        return _open_camera(0 if text.lower() == "camera" else int(text))
    path = Path(text)
    if path.is_dir():
        return FolderSource(path, loop)
    if not path.exists():
        raise FileNotFoundError(
            f"input not found: {path} (give a video, an image, a folder, 'camera' or a camera "
            "index such as 0)"
        )
    if is_image_name(path.name):
        return ImageSource(path, loop)
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise PlaceRecognitionError(
            f"cannot open {path} as a video or image; give a video OpenCV can read (avi, mp4, "
            "mkv ...), an image, a folder or a camera index"
        )
    return VideoSource(capture, path.name, loop, camera=False)


def _open_camera(index: int) -> VideoSource:
    # Probing a camera makes OpenCV and its backends (V4L2, FFmpeg, Orbbec ...) write about ten
    # lines of warnings to stderr when there is none; the one-line error below says it all.
    with opencv_quiet():
        capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            capture.release()
            raise PlaceRecognitionError(
                f"cannot open camera {index}; check that it is connected and not in use, or try "
                "another camera index or a video file"
            )
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # show what is in front of the camera now
        return VideoSource(capture, f"camera {index}", loop=False, camera=True)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        logger.warning("cannot read %s: %s", path, exc.strerror)
        return b""


def _read_still(path: Path) -> np.ndarray:
    image = decode_image(_read_bytes(path))
    if image is None:
        raise PlaceRecognitionError(f"cannot decode image {path}: not a supported image file")
    return image


_END = object()


class ThreadedReader:
    """Reads ``source`` on a background thread into a bounded queue; iterate to get ``Frame``s.

    ``depth`` bounds how far capture runs ahead (memory stays small on long videos; a camera
    keeps at most ``depth`` frames of lag). ``limit`` stops after that many frames (0 = all).
    """

    def __init__(self, source: FrameSource, depth: int = 8, limit: int = 0) -> None:
        self.source = source
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._limit = limit
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            frames = self.source.frames()
            index = 0
            while not self._stop.is_set() and (self._limit <= 0 or index < self._limit):
                started = time.perf_counter()
                item = next(frames, None)
                if item is None:
                    break
                image, name = item
                self._put(Frame(index, image, time.perf_counter() - started, name))
                index += 1
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._error = exc
        finally:
            self._put(_END)

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def close(self) -> None:
        """Stop the thread and release the source."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.source.close()
