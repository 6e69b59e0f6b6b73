"""Sequence matching end to end: the demo on a generated route walk (JSON lines, summary, the
automatic default), and the evaluator's --sequence report."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from place_recognition.cli import demo, evaluate
from place_recognition.cli._demo_io import FrameWriter
from place_recognition.scenes.street import (
    route_walk_frames,
    sample_video_frames,
    write_route_gallery,
    write_sample_gallery,
)
from place_recognition.zoo.lite import ensure_lite_model

SEQUENCE_KEYS = {"label", "known", "score", "confidence", "path", "length"}
GALLERY_FRAMES = 30


@pytest.fixture(scope="module")
def route(tmp_path_factory) -> tuple[Path, Path, list[float]]:
    """A route gallery of 30 frames and a walk along it at half speed, at dusk with a noisy
    camera; returns (gallery, video, where the walk was at each frame)."""
    root = tmp_path_factory.mktemp("route")
    write_route_gallery(root / "gallery", frames=GALLERY_FRAMES)
    writer, truth = FrameWriter(root / "walk.avi", fps=10.0), []
    for frame, along in route_walk_frames(GALLERY_FRAMES, speed=0.5):
        writer.write(frame)
        truth.append(along)
    writer.close()
    return root / "gallery", root / "walk.avi", truth


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _frame(path: str) -> int:
    return int(Path(path).stem.rpartition("_")[2])


@pytest.mark.slow
def test_the_demo_follows_a_slower_walk_at_dusk_where_single_frames_fail(route, tmp_path, capsys):
    gallery, video, truth = route
    out = tmp_path / "walk.jsonl"
    argv = ["-m", str(ensure_lite_model()), "-gf", str(gallery), "-i", str(video)]
    assert demo.main([*argv, "--no_show", "-q", "--json", str(out)]) == 0
    lines = _lines(out)
    assert len(lines) == len(truth)
    assert all(set(line["sequence"]) == SEQUENCE_KEYS for line in lines)
    sequence_hits = [
        abs(_frame(x["sequence"]["path"]) - t) <= 1 for x, t in zip(lines, truth, strict=True)
    ]
    single_hits = [
        abs(_frame(x["top_k"][0]["path"]) - t) <= 1 for x, t in zip(lines, truth, strict=True)
    ]
    counts = f"single {sum(single_hits)}, sequence {sum(sequence_hits)} of {len(truth)}"
    assert sum(sequence_hits[10:]) >= 0.9 * len(truth[10:]), counts
    assert sum(sequence_hits) > sum(single_hits) + 5, counts
    assert lines[-1]["sequence"]["length"] == 10 and lines[0]["sequence"]["length"] == 1
    summary = capsys.readouterr().out
    assert "sequence (L=10): a known place in" in summary


def test_sequence_json_lines_with_a_tiny_model_and_switching_it_off(tiny_ir, route, tmp_path):
    gallery, video, _ = route
    argv = ["-m", str(tiny_ir), "-gf", str(gallery), "-i", str(video), "--no_show", "-q"]
    assert demo.main([*argv, "--sequence", "5", "--json", str(tmp_path / "on.jsonl")]) == 0
    on = _lines(tmp_path / "on.jsonl")
    assert all(set(line["sequence"]) == SEQUENCE_KEYS for line in on)
    assert max(line["sequence"]["length"] for line in on) == 5
    assert all(isinstance(line["sequence"]["known"], bool) for line in on)
    assert all(line["sequence"]["label"] is None for line in on if not line["sequence"]["known"])
    assert demo.main([*argv, "--sequence", "0", "--json", str(tmp_path / "off.jsonl")]) == 0
    assert all(line["sequence"] is None for line in _lines(tmp_path / "off.jsonl"))


def test_an_unordered_gallery_stays_single_frame_by_default(tiny_ir, tmp_path):
    write_sample_gallery(tmp_path / "places", places=3, views=2)  # places in subfolders
    writer = FrameWriter(tmp_path / "walk.avi", fps=10.0)
    for frame in sample_video_frames(3, 3, size=(120, 160)):
        writer.write(frame)
    writer.close()
    out = tmp_path / "walk.jsonl"
    argv = ["-m", str(tiny_ir), "-gf", str(tmp_path / "places"), "-i", str(tmp_path / "walk.avi")]
    assert demo.main([*argv, "--no_show", "-q", "--json", str(out)]) == 0
    lines = _lines(out)
    assert lines and all(line["sequence"] is None and line["top_k"] for line in lines)


def test_a_single_image_input_is_answered_single_frame(tiny_ir, route, tmp_path):
    gallery, _, _ = route
    image = tmp_path / "one.png"
    cv2.imwrite(str(image), next(route_walk_frames(GALLERY_FRAMES))[0])
    out = tmp_path / "one.jsonl"
    argv = ["-m", str(tiny_ir), "-gf", str(gallery), "-i", str(image), "--no_show", "-q"]
    assert demo.main([*argv, "--json", str(out)]) == 0
    assert _lines(out)[0]["sequence"] is None


def test_evaluate_reports_sequences_next_to_single_frames(tiny_ir, route, tmp_path, capsys):
    gallery, _, truth = route
    dataset = tmp_path / "set"
    (dataset / "ref").mkdir(parents=True)
    (dataset / "query").mkdir()
    for path in sorted(gallery.glob("*.jpg")):
        (dataset / "ref" / path.name).write_bytes(path.read_bytes())
    rows = ["query,positives"]
    for t, (frame, along) in enumerate(route_walk_frames(GALLERY_FRAMES, speed=0.5)):
        cv2.imwrite(str(dataset / "query" / f"q{t}.png"), frame)  # natural order: q2 < q10
        near = [f"ref/frame_{i:03d}.jpg" for i in range(GALLERY_FRAMES) if abs(i - along) <= 1]
        rows.append(f"query/q{t}.png," + ";".join(near))
    (dataset / "ground_truth.csv").write_text("\n".join(rows) + "\n")
    argv = ["--dataset", str(dataset), "-m", str(tiny_ir), "-o", str(tmp_path / "out"), "-q"]
    assert (
        evaluate.main(
            [*argv, "--sequence", "4", "--velocities", "0.5,1.5", "--recall-at", "1", "3"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    report_path = Path(printed.split("report: ")[1].splitlines()[0])
    report = json.loads(report_path.read_text())
    entry = report["sequence"]
    assert set(report["recall_at"]) == {"1", "3"} == set(entry["recall_at"])
    assert entry["length"] == 4 and entry["velocities"] == [0.5, 1.5, 0.5] and entry["causal"]
    assert len(entry["top1"]) == len(truth)
    assert all(path.startswith("ref/frame_") for path in entry["top1"])
    assert "sequences (L=4, velocities 0.5,1.5,0.5, causal)" in printed
