"""Keeping OpenCV's console output out of the way while it probes a device.

Opening a camera index that is not there makes OpenCV and its backends (V4L2, FFmpeg, Orbbec
...) write about ten lines of warnings to stderr, above the one line that says what is wrong.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

import cv2

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def opencv_quiet() -> Iterator[None]:
    """OpenCV's own log silenced and file descriptor 2 (stderr) sent to a temporary file, both
    restored afterwards. With debug logging on (``-v``), OpenCV keeps its log level and what it
    wrote is logged at debug level instead.

    Redirecting fd 2 also catches what the backends print without OpenCV's logger; any thread's
    stderr goes there too meanwhile, so keep the block short.
    """
    get_level, set_level, silent = opencv_log_api()
    silence = get_level is not None and not logger.isEnabledFor(logging.DEBUG)
    previous = get_level() if silence else None
    if silence:
        set_level(silent)
    try:
        with _stderr_to_debug_log():
            yield
    finally:
        if silence:
            set_level(previous)


def opencv_log_api():
    """(getLogLevel, setLogLevel, the silent level) of this OpenCV, or Nones when it has none."""
    api = getattr(getattr(cv2, "utils", None), "logging", None)
    if api is not None and hasattr(api, "setLogLevel"):  # OpenCV 4.5+ and 5
        return api.getLogLevel, api.setLogLevel, api.LOG_LEVEL_SILENT
    if hasattr(cv2, "setLogLevel") and hasattr(cv2, "getLogLevel"):  # older 4.x
        return cv2.getLogLevel, cv2.setLogLevel, 0
    return None, None, None


@contextlib.contextmanager
def _stderr_to_debug_log() -> Iterator[None]:
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to redirect
        yield
        return
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace").split()
            if text:
                logger.debug("OpenCV said: %s", " ".join(text))
