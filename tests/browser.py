"""Headless Chromium for the page's tests (the driver itself is cli/_browser.py's, shared with
the screenshot command), Chromium's fake-camera file format, and the skip rule."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from place_recognition.cli._browser import CHROMEDRIVER, CHROMIUM, chromium  # noqa: F401


def require_chromium(config: pytest.Config) -> None:
    """Skip (or, with --require-browser, fail) when Chromium or its driver is missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return
    reason = f"no browser: {', '.join(missing)} missing (apt install chromium chromium-driver)"
    if config.getoption("--require-browser"):
        pytest.fail(reason)
    pytest.skip(reason)


def write_y4m(path: Path, frames, fps: int = 10) -> Path:
    """Frames (u8 BGR, one size) as a YUV4MPEG2 file, Chromium's fake camera format."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path
