"""The generated sample gallery and walk video that the quick start, the screenshot and the
measuring commands run the demo on (no external data)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from ..core.home import data_home
from ..scenes.street import sample_video_frames, write_sample_gallery
from ._demo_io import FrameWriter

SAMPLE_GALLERY = data_home() / "gallery" / "sample"
SAMPLE_VIDEO_FPS = 12.0


def write_sample_video(
    path: Path, fps: float = SAMPLE_VIDEO_FPS, frames: int | None = None, **walk
) -> Path:
    """The generated walk past the sample gallery's places and one unknown place, as a video
    (its first ``frames`` frames, when given); ``walk``: the keyword arguments of
    ``scenes.street.sample_video_frames``."""
    writer = FrameWriter(path, fps)
    for frame in islice(sample_video_frames(**walk), frames):
        writer.write(frame)
    writer.close()
    return path


def measuring_inputs(workdir: Path, video_name: str, fps: float, **walk) -> tuple[Path, Path]:
    """(the sample gallery, a VGA walk video) in a measuring command's work folder, made once
    and reused; ``walk``: as :func:`write_sample_video`'s."""
    gallery, video = workdir / "gallery", workdir / video_name
    if not gallery.is_dir():
        write_sample_gallery(gallery)
    if not video.is_file():
        write_sample_video(video, fps, size=(480, 640), **walk)
    return gallery, video
