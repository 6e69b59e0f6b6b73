"""The demo end to end, headless, on a tiny IR through the real OpenVINO runtime."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from place_recognition.cli import demo
from place_recognition.cli._demo_io import FrameWriter
from place_recognition.errors import PlaceRecognitionError
from place_recognition.index.manifest import MANIFEST
from place_recognition.index.place_index import INDEX_DIRNAME, PlaceIndex
from place_recognition.nets.synthetic import write_synthetic_model
from place_recognition.recognition.calibration import store_threshold_in_index
from place_recognition.scenes.street import (
    place_coordinates,
    sample_video_frames,
    write_sample_gallery,
)
from place_recognition.video import sources as frames_module
from place_recognition.video.opencv_quiet import opencv_log_api
from place_recognition.video.overlay import overlay_size

from conftest import ROOT

FRAME_SHAPE = (120, 160, 3)
PLACES, PER_PLACE = 3, 4
VIDEO_FRAMES = (PLACES + 1) * PER_PLACE  # the walk ends at a place not in the gallery


@pytest.fixture(scope="module")
def walk(tmp_path_factory) -> tuple[Path, Path]:
    """A generated gallery (3 places x 2 views) and a generated video walking past them."""
    root = tmp_path_factory.mktemp("walk")
    write_sample_gallery(root / "gallery", places=PLACES, views=2)
    writer = FrameWriter(root / "walk.avi", fps=10.0)
    for frame in sample_video_frames(PLACES, PER_PLACE, size=FRAME_SHAPE[:2]):
        writer.write(frame)
    writer.close()
    return root / "gallery", root / "walk.avi"


def run_demo(tiny_ir, gallery, *argv) -> int:
    return demo.main(["-m", str(tiny_ir), "-gf", str(gallery), "--no-show", "-q", *argv])


def video_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    images = []
    while True:
        ok, image = capture.read()
        if not ok:
            return images
        images.append(image)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_video_in_overlaid_video_and_json_out(tiny_ir, walk, tmp_path, capsys):
    gallery, video = walk
    out, jsonl = tmp_path / "out.avi", tmp_path / "out.jsonl"
    argv = ["-i", str(video), "-o", str(out), "--output-limit", "0", "--json", str(jsonl)]
    argv += ["-k", "2"]
    assert run_demo(tiny_ir, gallery, *argv) == 0
    written = video_frames(out)
    assert len(written) == VIDEO_FRAMES
    assert written[0].shape[:2] == overlay_size(FRAME_SHAPE)
    summary = capsys.readouterr().out
    assert f"summary: {VIDEO_FRAMES} frames" in summary and "mean FPS" in summary
    for stage in ("decode", "inference", "search", "draw"):
        assert stage in summary and "p90" in summary
    assert "device CPU, precision " in summary
    lines = read_jsonl(jsonl)
    assert [line["frame"] for line in lines] == list(range(VIDEO_FRAMES))
    for line in lines:
        labels = [hit["label"] for hit in line["top_k"]]
        assert len(labels) == 2 and len(set(labels)) == 2  # distinct places
        assert line["top_k"][0]["score"] >= line["top_k"][1]["score"]
        assert set(line["timings_ms"]) == {"decode", "inference", "search", "draw"}
        for hit in line["top_k"]:  # the sample gallery's places.csv gives coordinates
            index = int(hit["label"].removeprefix("place_"))
            assert (hit["lat"], hit["lon"]) == place_coordinates(index)


def test_image_folder_in_image_pattern_out(tiny_ir, walk, tmp_path, capsys):
    gallery, _ = walk
    folder = tmp_path / "queries"
    folder.mkdir()
    for i, frame in enumerate(sample_video_frames(2, 2, size=(90, 200), unknown=False)):
        cv2.imwrite(str(folder / f"q{i}.png"), frame)
    (folder / "notes.txt").write_text("not an image")
    pattern = tmp_path / "out" / "frame_%03d.jpg"
    assert run_demo(tiny_ir, gallery, "-i", str(folder), "-o", str(pattern)) == 0
    written = sorted(pattern.parent.iterdir())
    assert [p.name for p in written] == [f"frame_{i:03d}.jpg" for i in range(4)]
    assert cv2.imread(str(written[0])).shape[:2] == overlay_size((90, 200))
    assert "summary: 4 frames" in capsys.readouterr().out


def test_limit_caps_the_written_frames(tiny_ir, walk, tmp_path):
    gallery, video = walk
    out = tmp_path / "out.avi"
    assert run_demo(tiny_ir, gallery, "-i", str(video), "-o", str(out), "--output-limit", "5") == 0
    assert len(video_frames(out)) == 5


def test_batched_pipeline_keeps_frame_order_and_results(tiny_ir, walk, tmp_path):
    gallery, video = walk
    runs = {}
    for batch in ("1", "3"):
        jsonl = tmp_path / f"b{batch}.jsonl"
        argv = ["-i", str(video), "--json", str(jsonl), "--batch", batch, "--precision", "f32"]
        assert run_demo(tiny_ir, gallery, *argv) == 0
        runs[batch] = read_jsonl(jsonl)
    assert [line["frame"] for line in runs["3"]] == list(range(VIDEO_FRAMES))
    for one, three in zip(runs["1"], runs["3"], strict=True):
        assert one["top_k"][0]["label"] == three["top_k"][0]["label"]
        assert abs(one["top_k"][0]["score"] - three["top_k"][0]["score"]) < 1e-4


def test_threshold_rejects_unknown_places_and_defaults_to_the_calibrated_one(
    tiny_ir, walk, tmp_path
):
    gallery, video = walk
    jsonl = tmp_path / "t.jsonl"
    assert run_demo(tiny_ir, gallery, "-i", str(video), "--json", str(jsonl)) == 0
    lines = read_jsonl(jsonl)
    assert all(line["known"] and line["threshold"] == 0.0 for line in lines)  # uncalibrated
    assert "draw" not in lines[0]["timings_ms"]  # headless without -o: no overlay is drawn
    scores = sorted(line["top_k"][0]["score"] for line in lines)
    cut = (scores[5] + scores[6]) / 2  # between the 6th and 7th best-match scores
    index_dir = next((gallery / INDEX_DIRNAME).iterdir())
    store_threshold_in_index(index_dir, cut)
    try:
        assert run_demo(tiny_ir, gallery, "-i", str(video), "--json", str(jsonl)) == 0
    finally:
        manifest = json.loads((index_dir / MANIFEST).read_text())
        manifest["thresholds"].pop("calibrated")
        (index_dir / MANIFEST).write_text(json.dumps(manifest))
    lines = read_jsonl(jsonl)
    assert {line["threshold"] for line in lines} == {cut}
    unknown = [line for line in lines if not line["known"]]
    assert len(unknown) == 6
    assert all(line["label"] is None and line["top_k"][0]["score"] < cut for line in unknown)
    assert all(line["label"] == line["top_k"][0]["label"] for line in lines if line["known"])


def test_u_is_accepted_and_ignored_with_a_notice(tiny_ir, walk, tmp_path, capsys):
    gallery, video = walk
    out = tmp_path / "o.avi"
    argv = ["-i", str(video), "--output-limit", "2", "-o", str(out), "-u", "cdm"]
    assert run_demo(tiny_ir, gallery, *argv) == 0
    notice = "-u/--utilization-monitors is accepted for OMZ compatibility and ignored"
    assert notice in capsys.readouterr().err


def test_a_camera_that_stops_ends_the_run_with_the_summary(tiny_ir, walk, monkeypatch, capsys):
    """The camera is replaced by a real capture of the video file, which then runs out."""
    gallery, video = walk
    real = cv2.VideoCapture

    def capture(source, *args):
        return real(str(video)) if isinstance(source, int) else real(source, *args)

    monkeypatch.setattr(frames_module.cv2, "VideoCapture", capture)
    assert run_demo(tiny_ir, gallery, "-i", "0", "--loop") == 0
    out = capsys.readouterr().out
    processed = int(re.search(r"summary: (\d+) frames \(the camera stopped", out).group(1))
    # A camera is live: only the newest frame is answered, the others are dropped and counted.
    dropped = int(re.search(rf"frames dropped (\d+) of {VIDEO_FRAMES}\)", out).group(1))
    assert processed >= 1 and processed + dropped == VIDEO_FRAMES


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_a_window_without_a_display_is_a_clear_error(tiny_ir, walk, monkeypatch, capsys):
    gallery, video = walk
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert demo.main(["-m", str(tiny_ir), "-gf", str(gallery), "-i", str(video)]) == 2
    assert "--no-show" in one_line_error(capsys)


def test_input_errors_are_one_line(tiny_ir, walk, tmp_path, capsys):
    gallery, _ = walk
    assert run_demo(tiny_ir, gallery, "-i", str(tmp_path / "nope.mp4")) == 2
    assert "input not found" in one_line_error(capsys)
    assert run_demo(tiny_ir, gallery, "-i", "7") == 2  # no camera 7 here
    assert "cannot open camera 7" in one_line_error(capsys)
    empty = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    writer.release()  # a valid container holding no frame
    assert run_demo(tiny_ir, gallery, "-i", str(empty)) == 2
    assert "empty.avi" in one_line_error(capsys)
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    assert run_demo(tiny_ir, gallery, "-i", str(tmp_path / "broken.mp4")) == 2
    assert "broken.mp4" in one_line_error(capsys)
    (tmp_path / "no_images").mkdir()
    assert run_demo(tiny_ir, gallery, "-i", str(tmp_path / "no_images")) == 2
    assert "holds no images" in one_line_error(capsys)


def test_gallery_errors_name_the_fix(tiny_ir, walk, tmp_path, capsys):
    _, video = walk
    empty = tmp_path / "empty_gallery"
    empty.mkdir()
    assert run_demo(tiny_ir, empty, "-i", str(video)) == 2
    assert "has no readable images" in one_line_error(capsys)
    gallery = tmp_path / "gallery"
    write_sample_gallery(gallery, places=2, views=1)
    assert run_demo(tiny_ir, gallery, "-i", str(video), "--output-limit", "1") == 0
    capsys.readouterr()
    index_dir = next((gallery / INDEX_DIRNAME).iterdir())
    faiss_file = next(index_dir.glob("index.*.faiss"))
    faiss_file.write_bytes(faiss_file.read_bytes()[:-8])  # truncated: damaged
    assert run_demo(tiny_ir, gallery, "-i", str(video)) == 2
    message = one_line_error(capsys)
    assert faiss_file.name in message and "--rebuild" in message
    assert run_demo(tiny_ir, gallery, "-i", str(video), "--rebuild", "--output-limit", "1") == 0


def test_output_errors_are_one_line(tiny_ir, walk, tmp_path, capsys):
    gallery, video = walk
    assert run_demo(tiny_ir, gallery, "-i", str(video), "-o", str(tmp_path / "out.xyz")) == 2
    assert "unknown video type" in one_line_error(capsys)
    assert run_demo(tiny_ir, gallery, "-i", str(video), "-o", str(tmp_path / "o_%d_%d.jpg")) == 2
    assert "one integer field" in one_line_error(capsys)


def test_newer_or_foreign_indexes_are_refused_until_rebuild(tiny_ir, walk, tmp_path, capsys):
    _, video = walk
    gallery = tmp_path / "gallery"
    write_sample_gallery(gallery, places=2, views=1)
    assert run_demo(tiny_ir, gallery, "-i", str(video), "--output-limit", "1") == 0
    index_dir = next((gallery / INDEX_DIRNAME).iterdir())
    other = write_synthetic_model(tmp_path / "other.xml", width=32)
    argv = ["-i", str(video), "--output-limit", "1", "--index", str(index_dir)]
    assert run_demo(other, gallery, *argv) == 2  # another model's index, given with --index
    message = one_line_error(capsys)
    assert "was built with model" in message and "--rebuild" in message
    manifest = json.loads((index_dir / MANIFEST).read_text())
    (index_dir / MANIFEST).write_text(json.dumps({**manifest, "format_version": 99}))
    assert run_demo(tiny_ir, gallery, "-i", str(video), "--output-limit", "1") == 2
    message = one_line_error(capsys)
    assert "newer" in message and "--rebuild" in message
    assert run_demo(tiny_ir, gallery, "-i", str(video), "--output-limit", "1", "--rebuild") == 0
    assert json.loads((index_dir / MANIFEST).read_text())["format_version"] == 2


@pytest.mark.parametrize(
    ("wrapper", "option"),
    [
        ("demo.py", "--gallery_folder"),
        ("scripts/measure_demo_fps.py", "--runs"),
        ("scripts/measure_warm_start.py", "--images"),
        ("scripts/make_screenshot.py", "--frame"),
    ],
)
def test_wrappers_run_from_any_folder(tmp_path, wrapper, option):
    result = subprocess.run(
        [sys.executable, str(ROOT / wrapper), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and option in result.stdout


def test_the_omz_demo_spellings_still_work(tiny_ir, walk, tmp_path):
    _, video = walk
    gallery, out = tmp_path / "gallery", tmp_path / "omz.avi"
    write_sample_gallery(gallery, places=2, views=3)
    argv = ["-m", str(tiny_ir), "-i", str(video), "--gallery_folder", str(gallery), "-q"]
    argv += ["--gallery_size", "4", "--no_show", "-o", str(out), "-limit", "3"]
    assert demo.main([*argv, "--utilization_monitors", "cdm"]) == 0
    assert len(video_frames(out)) == 3
    index = PlaceIndex.load(next((gallery / INDEX_DIRNAME).iterdir()))
    assert len(index) == 4


def test_a_missing_camera_is_one_line_without_opencv_noise(tiny_ir, tmp_path):
    """OpenCV and its backends print about ten lines when probing a camera that is not there."""
    argv = [sys.executable, str(ROOT / "demo.py"), "-i", "9", "-m", str(tiny_ir)]
    argv += ["-gf", str(tmp_path), "--no-show"]
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("demo: error: cannot open camera 9;")


def test_probing_a_camera_restores_opencv_logging_and_stderr(capfd):
    get_level, _, _ = opencv_log_api()
    before = get_level()
    with pytest.raises(PlaceRecognitionError, match="cannot open camera 9"):
        frames_module.open_source("9")
    assert get_level() == before
    os.write(2, b"stderr is back\n")
    assert capfd.readouterr().err.endswith("stderr is back\n")
