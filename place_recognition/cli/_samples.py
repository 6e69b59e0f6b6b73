"""The generated sample gallery and walk video that the quick start, the screenshot and the
measuring commands run the demo on (no external data), and the measuring commands' demo run
in a child process, read from its summary."""

from __future__ import annotations

import re
import subprocess
from itertools import islice
from pathlib import Path

from ..core.home import data_home
from ..errors import RuntimeFailure
from ..scenes.street import sample_video_frames, write_sample_gallery
from ._commands import child_env, command_line
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


def run_demo_process(*options: str) -> str:
    """What the demo printed, run with ``options`` in a fresh process (the command is printed
    first); RuntimeFailure with its last lines when it fails."""
    command = [*command_line("demo"), *options]
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=child_env())
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise RuntimeFailure(f"the demo failed: {tail}")
    return result.stdout + result.stderr


def demo_fps_and_precision(output: str) -> tuple[float, str]:
    """The mean FPS and the precision in effect, from the demo's summary."""
    fps = float(re.search(r"mean FPS ([\d.]+)", output).group(1))
    return fps, re.search(r"precision (\w+)", output).group(1)
