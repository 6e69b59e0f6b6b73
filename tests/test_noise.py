"""Recall under query noise: unchanged without noise, lower when the noise drowns the image."""

from __future__ import annotations

from place_recognition.core.model import EmbeddingModel
from place_recognition.eval.datasets import read_dataset
from place_recognition.eval.noise import recall_under_query_noise
from place_recognition.eval.runs import evaluate_dataset
from place_recognition.scenes.street import write_sample_dataset

from conftest import F32


def test_recall_falls_when_noise_drowns_the_queries(tiny_ir, tmp_path):
    dataset = read_dataset(write_sample_dataset(tmp_path / "set", places=8, views=3, unknown=0))
    recalls = recall_under_query_noise(tiny_ir, dataset, sigmas=(0.25, 400.0), precision="f32")
    assert set(recalls) == {"0", "0.25", "400"}

    report, _ = evaluate_dataset(EmbeddingModel(tiny_ir, precision=F32), dataset, use_cache=False)
    assert recalls["0"] == report.recall_at[1]  # the host resize twin ranks like the product
    assert recalls["0"] >= 0.5  # generated views of one place are easy
    assert recalls["400"] < recalls["0"]
