"""benchmark_sequence end to end on a tiny model and a generated labelled set: the recall table
covers every stream, method and length, and the cost rows every size."""

from __future__ import annotations

import json

from place_recognition.cli import benchmark_sequence
from place_recognition.scenes.street import write_sample_dataset

from conftest import F32


def test_the_sequence_benchmark_reports_recall_and_cost(tiny_ir, tmp_path):
    dataset = write_sample_dataset(tmp_path / "set", places=8, views=4, unknown=0)
    report_path = tmp_path / "report.json"
    argv = ["-m", str(tiny_ir), "--precision", F32, "--dataset", str(dataset), "-q"]
    argv += ["--lengths", "1,5", "--sizes", "2000", "--candidate-sizes", "5000"]
    argv += ["--candidates", "20", "-o", str(report_path)]
    assert benchmark_sequence.main(argv) == 0
    report = json.loads(report_path.read_text())
    rows = report["recall"]
    streams = {row["stream"] for row in rows}
    assert len(streams) == 4  # as given, every 2nd frame, every frame twice, changing speed
    by_key = {(row["stream"], row["method"], row["length"]): row["recall_at"] for row in rows}
    single = [key for key in by_key if key[2] == 1 and "single" in key[1]]
    assert single, sorted(by_key)
    for stream, method, _ in single:
        # One frame of memory is no sequence: its R@1 is the single frame's.
        matcher = [k for k in by_key if k[0] == stream and k[2] == 1 and k[1] != method]
        assert matcher and all(by_key[k]["1"] == by_key[(stream, method, 1)]["1"] for k in matcher)
    for recall in by_key.values():
        assert all(0.0 <= value <= 1.0 for value in recall.values())
    assert [(row["gallery"], row["candidates"]) for row in report["cost"]] == [
        (2000, None),
        (5000, 20),
    ]
    assert all(row["median_ms"] > 0 for row in report["cost"])


def test_impossible_velocities_are_one_line_with_the_reason(capsys):
    assert benchmark_sequence.main(["--velocities", "2,1", "--sizes", "100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "benchmark_sequence: error: velocities 2.0,1.0,0.5: need MIN <= MAX and a positive STEP"
    ]
