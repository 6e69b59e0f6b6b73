"""The sequence-matching example the README links (docs/stream_example.py) runs as a user would:
a script outside the repository, on a generated route gallery and a video along that route."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import cv2

from place_recognition.cli._demo_io import FrameWriter
from place_recognition.scenes.street import write_route_gallery

from conftest import ROOT

EXAMPLE = ROOT / "docs" / "stream_example.py"
LINE = re.compile(r"frame (\d+): single (\S+)  sequence (\S+) \(confidence ([\d.]+)\)")


def test_the_stream_example_follows_a_video_along_the_route(tiny_ir, tmp_path):
    frames = write_route_gallery(tmp_path / "gallery", frames=24)
    video = tmp_path / "walk.avi"
    writer = FrameWriter(video, 12.0)
    for path in frames:  # the route as the gallery has it, one video frame per gallery frame
        writer.write(cv2.imread(str(path)))
    writer.close()
    script = shutil.copy(EXAMPLE, tmp_path / "example.py")  # nothing of the checkout beside it
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "gallery"), str(video), str(tiny_ir)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # as after `pip install -e .`
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers = [LINE.fullmatch(line) for line in result.stdout.splitlines()]
    assert all(answers) and len(answers) == len(frames), result.stdout
    # Once a few frames are in, the trajectory ends at the frame the video shows.
    ends = [(int(a[1]), a[3]) for a in answers]
    assert all(path == f"frame_{number:03d}.jpg" for number, path in ends[3:]), ends
