"""Frame sources and the threaded reader: order, looping, skipping, limits."""

from __future__ import annotations

import cv2
import numpy as np

from place_recognition.cli._demo_io import FrameWriter
from place_recognition.video.sources import ThreadedReader, open_source

from conftest import scene


def test_video_frames_in_order_and_loop_restarts(tmp_path):
    path = tmp_path / "v.avi"
    writer = FrameWriter(path, fps=7.0)
    for i in range(5):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.close()
    source = open_source(str(path))
    assert source.kind == "video" and source.fps == 7.0
    frames = list(ThreadedReader(source))
    assert [f.index for f in frames] == list(range(5))
    assert [round(float(f.image.mean()) / 40) for f in frames] == [0, 1, 2, 3, 4]
    looped = list(ThreadedReader(open_source(str(path), loop=True), limit=12))
    assert [round(float(f.image.mean()) / 40) for f in looped] == [0, 1, 2, 3, 4] * 2 + [0, 1]


def test_folder_is_sorted_skips_undecodable_files_and_loops(tmp_path):
    for name, seed in (("b.png", 2), ("a.png", 1), ("c.jpg", 3)):
        cv2.imwrite(str(tmp_path / name), scene(seed))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    frames = list(ThreadedReader(open_source(str(tmp_path))))
    assert [f.name for f in frames] == ["a.png", "b.png", "c.jpg"]
    looped = list(ThreadedReader(open_source(str(tmp_path), loop=True), limit=7))
    assert [f.name for f in looped][3:] == ["a.png", "b.png", "c.jpg", "a.png"]


def test_single_image_once_or_looped(tmp_path):
    cv2.imwrite(str(tmp_path / "one.png"), scene(5))
    assert len(list(ThreadedReader(open_source(str(tmp_path / "one.png"))))) == 1
    looped = list(ThreadedReader(open_source(str(tmp_path / "one.png"), loop=True), limit=4))
    assert len(looped) == 4 and all(f.decode_seconds >= 0 for f in looped)
