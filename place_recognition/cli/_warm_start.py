"""Timing the demo's warm start (index present, model cache filled) in a fresh process each
time, for ``measure_warm_start`` and ``benchmark``'s start-up section."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ..bench.warm_start import make_file_gallery, make_unembedded_index
from ..core.model import EmbeddingModel
from ..errors import RuntimeFailure
from ._commands import child_env, command_line
from ._samples import write_sample_video

_FIRST_FRAME = re.compile(r"first frame ([\d.]+) s after start")


def warm_starts(
    model_path: Path,
    images: int,
    workdir: Path,
    runs: int,
    echo: Callable[[str], None] = print,
    progress: bool = True,
) -> list[tuple[float, float]]:
    """(first frame after the demo's start, process wall time) of ``runs`` warm demo starts
    on a gallery of ``images`` files; ``echo`` is shown the command."""
    model = EmbeddingModel(model_path)
    gallery = workdir / f"gallery_{images}"
    make_file_gallery(gallery, images, progress)
    make_unembedded_index(model, gallery)
    video = workdir / "walk.avi"
    if not video.is_file():
        write_sample_video(video, 30.0, places=2, frames_per_place=4, size=(480, 640))
    first = workdir / "first.avi"
    command = [*command_line("demo"), "-m", str(model_path.resolve()),
               "-gf", str(gallery.resolve()), "-i", str(video.resolve()), "--no-show",
               "-o", str(first.resolve()), "--output-limit", "1", "-q"]  # fmt: skip
    echo("$ " + " ".join(command))
    _demo_start(command)  # the first start fills OpenVINO's model cache
    return [_demo_start(command) for _ in range(runs)]


def _demo_start(command: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=child_env())
    wall = time.perf_counter() - started
    found = _FIRST_FRAME.search(result.stdout)
    if result.returncode != 0 or not found:
        raise RuntimeFailure(f"the demo failed: {result.stderr.strip()[-300:]}")
    return float(found.group(1)), wall
