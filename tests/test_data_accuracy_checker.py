"""Cross-check with the real Accuracy Checker (openvino-dev 2023.3, its own venv) on a
Pittsburgh-format fixture made from ../shared/datasets/corridor: same localization_recall."""

from __future__ import annotations

import numpy as np
import pytest

from place_recognition.core.model import EmbeddingModel
from place_recognition.eval.ac_protocol import grn_normalize, load_like_ac
from place_recognition.eval.ac_runner import run_accuracy_check
from place_recognition.eval.datasets import read_dataset, read_ground_truth_folder
from place_recognition.eval.pitts_fixture import make_pitts_fixture
from place_recognition.eval.runs import evaluate_like_accuracy_checker
from place_recognition.zoo.lite import ensure_lite_model

from conftest import F32

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module")
def fixture_set(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("pitts")
    corridor = read_ground_truth_folder(data_dir / "corridor")
    mat = make_pitts_fixture(corridor, out, count=40)
    return out, read_dataset(mat)


@pytest.fixture(scope="module")
def model():
    return EmbeddingModel(ensure_lite_model(), precision=F32)


def _recall_by_hand(model, dataset):
    """Top-1 by a plain loop over squared distances; a hit is a UTM distance under 25 m."""
    host = model.with_host_preprocessing()

    def embed(paths):
        tensors = [load_like_ac(path, host.input.size) for path in paths]
        return grn_normalize(np.stack([host.embed(tensor) for tensor in tensors]))

    database, queries = embed(dataset.database_paths()), embed(dataset.query_paths())
    tops, hits = [], 0
    for query, position in zip(queries, dataset.utm_queries, strict=True):
        distances = [float(np.sum((query - row) ** 2)) for row in database]
        top = int(np.argmin(distances))
        tops.append(top)
        east, north = position - dataset.utm_database[top]
        hits += (east**2 + north**2) ** 0.5 < 25.0
    return hits / len(queries), tops


def test_fixture_reproduces_the_ground_truth_and_has_the_edge_cases(fixture_set):
    _, dataset = fixture_set
    assert len(dataset.database) == 40 and len(dataset.queries) == 40
    assert dataset.positives[0].tolist() == [0, 1, 2]  # corridor: refs i-2..i+2, clipped
    assert dataset.positives[10].tolist() == [8, 9, 10, 11, 12]
    assert dataset.positives[-2].size == 0 and dataset.positives[-1].size == 0


def test_native_evaluator_agrees_with_a_hand_count(fixture_set, model):
    _, dataset = fixture_set
    native = evaluate_like_accuracy_checker(model, dataset, (1, 5, 10, 20), use_cache=False)
    by_hand, tops = _recall_by_hand(model, dataset)
    assert 0.2 < by_hand < 0.8
    assert native["localization_recall"] == pytest.approx(by_hand, abs=1e-12)
    assert native["recall_at"]["1"] == pytest.approx(by_hand, abs=1e-12)  # top-1 = R@1 here
    # The copy of database image 20 finds itself first, exactly 25 m away: a miss.
    assert tops[-1] == 20
    assert np.linalg.norm(dataset.utm_queries[-1] - dataset.utm_database[20]) == 25.0


def test_accuracy_checker_gives_the_same_localization_recall(fixture_set, model):
    root, dataset = fixture_set
    native = evaluate_like_accuracy_checker(model, dataset, (1,))["localization_recall"]
    checked = run_accuracy_check(root, model.path, quiet=True)  # resized to the IR's 240x320
    assert checked.metric == "localization_recall"
    assert checked.dataset_size == len(dataset.queries) + len(dataset.database)
    assert round(checked.value, 4) == round(native, 4)
