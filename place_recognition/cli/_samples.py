"""The generated sample gallery and walk video that the quick start, the screenshot and the
measuring commands run the demo on (no external data)."""

from __future__ import annotations

from pathlib import Path

from ..core.home import data_home
from ..scenes.street import sample_video_frames
from ._demo_io import FrameWriter

SAMPLE_GALLERY = data_home() / "gallery" / "sample"
SAMPLE_VIDEO_FPS = 12.0


def write_sample_video(path: Path, fps: float = SAMPLE_VIDEO_FPS, **walk) -> Path:
    """The generated walk past the sample gallery's places and one unknown place, as a video;
    ``walk``: the keyword arguments of ``scenes.street.sample_video_frames``."""
    writer = FrameWriter(path, fps)
    for frame in sample_video_frames(**walk):
        writer.write(frame)
    writer.close()
    return path
