"""The benchmark runs end to end on the tiny model (a smoke test: no timing is asserted)."""

from __future__ import annotations

import json

import pytest

from place_recognition.bench.measurements import BuildTiming, extrapolate_start, make_image_gallery
from place_recognition.cli import benchmark
from place_recognition.scenes.street import write_sample_dataset, write_sample_gallery

pytest.importorskip("nncf")


def test_start_up_extrapolation_scales_the_embedding_time_only():
    measured = BuildTiming(images=1000, compile_s=2.0, index_s=50.0)
    assert extrapolate_start(measured, 10_000) == pytest.approx(2.0 + 500.0)


def test_generated_gallery_is_made_once(tmp_path):
    first = make_image_gallery(tmp_path / "g", 7, size=(48, 64))
    stamps = [p.stat().st_mtime_ns for p in first]
    again = make_image_gallery(tmp_path / "g", 7, size=(48, 64))
    assert again == first and [p.stat().st_mtime_ns for p in again] == stamps
    assert len({p.parent for p in first}) == 3  # 3 views per place


@pytest.mark.slow
def test_benchmark_runs_every_local_section_on_the_tiny_model(tiny_ir, tmp_path, capsys):
    calibration = tmp_path / "calibration"
    write_sample_gallery(calibration, places=4, views=2)
    dataset = write_sample_dataset(tmp_path / "dataset", places=4, views=2, unknown=1)
    output = tmp_path / "report.json"
    argv = [
        "-m",
        str(tiny_ir),
        "--sections",
        "indexing,search,startup,int8",
        "--images",
        "6",
        "--runs",
        "1",
        "--index-batch",
        "1,4",
        "-t",
        "1",
        "--search-sizes",
        "300,1000",
        "--startup-images",
        "20",
        "--calibration",
        str(calibration),
        "--recall-dataset",
        str(dataset),
        "--recall-model",
        str(tiny_ir),
        "-w",
        str(tmp_path / "work"),
        "-o",
        str(output),
    ]
    assert benchmark.main(argv) == 0

    report = json.loads(output.read_text())
    assert report["machine"]["logical_cores"] >= 1 and report["machine"]["cpu"]
    assert report["precision"] in ("f32", "bf16", "f16")
    sections = report["sections"]
    indexing = sections["indexing"]["rounds"][0]
    assert indexing["ours"]["images"] == 6 and indexing["reference"]["images"] == 6
    assert set(indexing["ours_images_per_s_by_batch"]) == {"1", "4"}  # JSON keys
    assert set(indexing["benchmark_app"]["fps"]) == {
        f"{hint} b{batch}" for hint in ("latency", "throughput") for batch in (1, 4, 8)
    }
    assert all(
        f"-infer_precision {report['precision']}" in c
        for c in indexing["benchmark_app"]["commands"].values()
    )
    assert sections["indexing"]["indexing_vs_benchmark_app"] > 0
    assert indexing["decode_plus_inference_bound"] < indexing["decode_only_images_per_s"]
    assert [row["gallery"] for row in sections["search"]["sizes"]] == [300, 1000]
    assert sections["startup"]["images"] == 20 and sections["startup"]["ours_first_frame_s"] > 0
    assert sections["int8"]["speedup"] > 0
    recall = sections["int8"]["recall"]["recall_at"]
    assert 0 <= recall["int8"]["1"] <= 1 and 0 <= recall["default"]["1"] <= 1
    assert set(sections["int8"]["recall"]["float_recall_at_1_with_query_noise"]) == {
        "0",
        "0.25",
        "0.5",
    }
    assert sections["int8"]["recall"]["fidelity"]["images"] > 0
    printed = capsys.readouterr().out
    assert "$ " in printed and "benchmark_app" in printed  # every command is shown
    assert "| indexing from files / best benchmark_app |" in printed
