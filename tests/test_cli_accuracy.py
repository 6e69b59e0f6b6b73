"""The evaluate command on a UTM-named set (both protocols), and the Accuracy Checker runner's
argument handling (no openvino-dev needed for these)."""

from __future__ import annotations

import json

import cv2
import pytest

from place_recognition.cli import evaluate
from place_recognition.cli import run_accuracy_check as accuracy_check
from place_recognition.errors import PlaceRecognitionError
from place_recognition.eval.ac_runner import (
    CONFIG,
    ir_input_size,
    model_folder,
    resized_config,
)
from place_recognition.nets.synthetic import write_synthetic_model

from conftest import scene


def _utm_set(root):
    """Three places 100 m apart; each query is a slightly changed copy of its place's image."""
    for folder in ("database", "queries"):
        (root / folder).mkdir(parents=True)
    for place in range(3):
        east = 585000 + 100 * place
        image = scene(place)
        cv2.imwrite(str(root / "database" / f"@{east}@4477000@p{place}.png"), image)
        cv2.imwrite(str(root / "queries" / f"@{east + 5}@4477000@q{place}.png"), image[:, 4:])
    return root


def test_evaluate_reports_both_protocols_for_utm_sets(tiny_ir, tmp_path, capsys):
    dataset = _utm_set(tmp_path / "set")
    argv = ["-m", str(tiny_ir), "--dataset", str(dataset), "-o", str(tmp_path / "out"), "-q"]
    assert evaluate.main([*argv, "--precision", "f32", "--recall-at", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "product path" in out and "localization_recall" in out
    report = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert set(report["recall_at"]) == {"1", "2"} and report["queries"] == 3
    checker = report["extra"]["accuracy_checker"]
    assert 0.0 <= checker["localization_recall"] <= 1.0
    assert checker["localization_recall"] == checker["recall_at"]["1"]  # top-1, same 25 m rule
    assert list((tmp_path / "out").glob("*.png"))


def test_resized_config_changes_only_the_resize(tmp_path):
    out = resized_config(CONFIG, (240, 320), tmp_path / "c.yml").read_text()
    assert "dst_height: 240" in out and "dst_width: 320" in out
    assert out.replace("240", "200").replace("320", "300") == CONFIG.read_text()


def test_the_config_is_resized_to_the_irs_own_input_by_default(tiny_ir, tmp_path):
    assert ir_input_size(model_folder(tiny_ir, tmp_path) / "netvlad-tf.xml") == (200, 300)
    small = write_synthetic_model(tmp_path / "small.xml", width=16, input_size=(240, 320))
    assert ir_input_size(small) == (240, 320)


def test_model_folder_holds_exactly_one_ir(tiny_ir, tmp_path):
    folder = model_folder(tiny_ir, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["netvlad-tf.bin", "netvlad-tf.xml"]
    (tmp_path / "two").mkdir()
    for name in ("a.xml", "b.xml"):
        (tmp_path / "two" / name).write_text("")
    with pytest.raises(PlaceRecognitionError, match="exactly one"):
        model_folder(tmp_path / "two", tmp_path)


def test_runner_errors_are_one_line(tmp_path, capsys):
    assert accuracy_check.main(["-s", str(tmp_path / "nope"), "-m", "x.xml"]) == 2
    assert "data folder not found" in capsys.readouterr().err
    assert accuracy_check.main([]) == 2
    assert "-s" in capsys.readouterr().err
