"""evaluate and calibrate_threshold end to end on a generated labelled set; the default model."""

from __future__ import annotations

import json

import cv2
import pytest

from place_recognition.cli import calibrate_threshold, evaluate
from place_recognition.core.model import EmbeddingModel
from place_recognition.errors import PlaceRecognitionError
from place_recognition.eval.datasets import read_ground_truth_folder
from place_recognition.scenes.street import write_sample_dataset


@pytest.fixture
def labelled(tmp_path):
    return write_sample_dataset(tmp_path / "set", places=4, views=3, unknown=2)


def test_sample_dataset_reads_back_with_unknown_queries(labelled):
    dataset = read_ground_truth_folder(labelled)
    assert len(dataset.database) == 4 and len(dataset.queries) == 4 * 2 + 2
    assert [len(p) for p in dataset.positives].count(0) == 2


def test_reader_names_the_bad_line(labelled):
    csv = labelled / "ground_truth.csv"
    csv.write_text(csv.read_text() + "query/place_00_1.jpg,ref/nope.jpg\n")
    with pytest.raises(PlaceRecognitionError, match=r"line 12: positive 'ref/nope.jpg'"):
        read_ground_truth_folder(labelled)


def test_evaluate_writes_json_and_plot_and_reuses_embeddings(tiny_ir, labelled, tmp_path, capsys):
    argv = ["-m", str(tiny_ir), "--dataset", str(labelled), "-o", str(tmp_path / "out"), "-q"]
    assert evaluate.main(argv) == 0
    out = capsys.readouterr().out
    assert "R@1" in out and "vocabulary: n/a" in out
    report = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert report["queries"] == 10 and set(report["recall_at"]) == {"1", "5", "10", "20"}
    assert report["timings"]["embed_queries_s"] > 0
    plot = cv2.imread(str(next((tmp_path / "out").glob("*.png"))))
    assert plot is not None and plot.shape == (480, 640, 3)
    assert evaluate.main(argv) == 0  # second run: embeddings from the cache
    again = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert again["timings"]["embed_queries_s"] == 0 and again["recall_at"] == report["recall_at"]


def test_calibrate_stores_the_threshold_in_the_model(tiny_ir, labelled, tmp_path, capsys):
    model_path = tmp_path / "m.xml"
    model_path.write_bytes(tiny_ir.read_bytes())
    model_path.with_suffix(".bin").write_bytes(tiny_ir.with_suffix(".bin").read_bytes())
    assert calibrate_threshold.main(["-m", str(model_path), "--dataset", str(labelled), "-q"]) == 0
    stored = json.loads(capsys.readouterr().out.splitlines()[1])["threshold"]
    model = EmbeddingModel(model_path)
    assert float(model.info["threshold"]) == pytest.approx(stored)


def test_build_from_a_calibration_folder_and_the_baseline(tmp_path, labelled, capsys):
    from place_recognition.cli import build_netvlad_lite as build_lite

    out = tmp_path / "lite.xml"
    argv = ["--calibration", str(labelled / "ref"), "-K", "2", "--dim", "3", "--tap", "s16"]
    assert build_lite.main([*argv, "--input-size", "64x96", "-o", str(out), "-q"]) == 0
    model = EmbeddingModel(out)
    assert model.dim == 3 and model.info["vocabulary"] == "folder ref"
    assert "threshold" in model.info
    assert not out.with_suffix(".recipe").exists()  # never taken for the shipped model
    base = tmp_path / "mp.xml"
    assert build_lite.main(["--meanpool", "--input-size", "64x64", "-o", str(base), "-q"]) == 0
    assert EmbeddingModel(base).dim == 1280
