"""A short fine-tuning run on nordland_train beats the untrained (k-means/PCA) head on the
held-out validation segment, measured through OpenVINO on the exported IR (docs/training.md)."""

from __future__ import annotations

import pytest

from place_recognition.zoo.lite import ensure_lite_model

from conftest import DATASETS

torch = pytest.importorskip("torch")

from place_recognition.training.loop import TrainSettings  # noqa: E402
from place_recognition.training.run import RunOptions, train_and_export  # noqa: E402

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_short_fine_tuning_improves_validation_recall(tmp_path):
    data = DATASETS / "nordland_train"
    if not data.is_dir():
        pytest.skip(f"{data} not found")
    options = RunOptions(
        dataset=data,
        base_model=ensure_lite_model(),
        output=tmp_path,
        position_from_name=True,
        pos_radius=25.0,  # the ground truth's +-20 in file number (every 10th frame)
        neg_radius=100.0,
    )
    report = train_and_export(options, TrainSettings(epochs=1, lr=1e-3, steps_per_epoch=30))
    before = report["validation_openvino"]["before"]
    after = report["validation_openvino"]["after"]
    assert (
        report["split"].startswith("train 1430 queries")
        and "validation 360 / 360" in report["split"]
    )
    # at least two more of the 360 validation queries found first (one could be a tie's luck)
    assert after["1"] >= before["1"] + 2 / 360
    assert report["best_epoch"] == 1
