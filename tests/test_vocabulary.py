"""NetVLAD fitting in NumPy/faiss, Recall@N and the threshold, on hand-checkable data."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from place_recognition.errors import PlaceRecognitionError
from place_recognition.eval.metrics import rank_database, recall_at_n
from place_recognition.nets.vocabulary import (
    SECOND_NEAREST_WEIGHT,
    fit_vocabulary,
    fit_whitening,
    soft_assignment,
    vlad,
    vlad_batch,
)
from place_recognition.recognition.calibration import calibrate_threshold


def unit_rows(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_whitening_makes_the_training_covariance_identity():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((300, 40)) * np.linspace(5, 0.5, 40)  # anisotropic
    for samples in (data, data[:30]):  # covariance path and Gram path (N < F)
        dim = min(20, len(samples) - 2)
        matrix, bias = fit_whitening(samples, dim)
        projected = samples @ matrix.T + bias
        np.testing.assert_allclose(projected.mean(axis=0), 0, atol=1e-4)
        np.testing.assert_allclose(np.cov(projected.T, bias=True), np.eye(dim), atol=1e-3)


def test_whitening_refuses_more_dims_than_samples():
    with pytest.raises(ValueError, match="more than 10 samples"):
        fit_whitening(np.random.default_rng(0).standard_normal((10, 50)), 10)


@pytest.mark.parametrize("second_weight", [SECOND_NEAREST_WEIGHT, 0.25])
def test_alpha_gives_the_second_nearest_centre_the_asked_weight(second_weight):
    rng = np.random.default_rng(1)
    descriptors = unit_rows(rng, 2000, 16)
    centers, alpha = fit_vocabulary(descriptors, 8, second_weight=second_weight)
    weights = np.sort(soft_assignment(descriptors, centers, alpha), axis=1)
    ratio = np.exp(np.mean(np.log(weights[:, -2] / weights[:, -1])))
    assert centers.shape == (8, 16) and alpha > 0
    # geometric mean near the target (exp of the mean gap, not the mean of exps: within 3x)
    assert second_weight / 3 < ratio < min(3 * second_weight, 0.9)


def test_kmeans_restarts_keep_the_lowest_distortion_run():
    descriptors = unit_rows(np.random.default_rng(3), 300, 8)

    def distortion(restarts):
        centers, _ = fit_vocabulary(descriptors, 10, restarts=restarts)
        index = faiss.IndexFlatL2(8)
        index.add(centers)
        return float(index.search(descriptors, 1)[0].sum())

    # The first run is the single run's (same seed), so the best of five is never worse; on
    # this sample, whose one run lands in a poor local minimum, it is strictly better.
    assert distortion(5) < distortion(1)


def test_too_few_descriptors_are_one_explained_line_not_faiss_warnings(capfd, caplog):
    descriptors = unit_rows(np.random.default_rng(4), 300, 8)
    fit_vocabulary(descriptors, 16, restarts=3)
    assert "WARNING clustering" not in capfd.readouterr().err  # faiss's, once per restart
    (record,) = [r for r in caplog.records if "k-means vocabulary" in r.getMessage()]
    assert "16 clusters from 300 local descriptors, fewer than the 624" in record.getMessage()


def test_vlad_batch_equals_the_per_image_reference_and_is_normalised():
    rng = np.random.default_rng(2)
    images = [unit_rows(rng, 12, 6) for _ in range(5)]
    centers = unit_rows(rng, 3, 6)
    batch = vlad_batch(images, centers, 4.0)
    for row, features in zip(batch, images, strict=True):
        np.testing.assert_allclose(row, vlad(features, centers, 4.0), atol=1e-5)
        per_cluster = row.reshape(6, 3)  # d-major: index d*K + k
        np.testing.assert_allclose(np.linalg.norm(per_cluster, axis=0), 1 / np.sqrt(3), atol=1e-5)


def test_recall_counts_each_query_once_and_keeps_unanswerable_queries():
    ranked = np.array([[0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 1, 2]])
    positives = [np.array([0, 1]), np.array([1]), np.array([0]), np.array([], np.int64)]
    # query 0: hit at rank 0 (two positives in top-2 still count once); 1: rank 1; 2: rank 2;
    # query 3 has no positive: never a hit, still in the denominator.
    assert recall_at_n(ranked, positives, (1, 2, 3)) == {1: 0.25, 2: 0.5, 3: 0.75}


def test_ranking_is_by_inner_product_best_first():
    database = np.eye(4, dtype=np.float32)
    queries = np.array([[0.1, 0.9, 0.3, 0.0]], np.float32)
    indices, scores = rank_database(queries, database, 3)
    assert indices.tolist() == [[1, 2, 0]]
    np.testing.assert_allclose(scores, [[0.9, 0.3, 0.1]], atol=1e-6)


def test_threshold_maximises_f1_and_can_target_precision():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([True, True, False, True, False, False])
    answerable = np.array([True, True, True, True, False, False])
    best = calibrate_threshold(scores, correct, answerable)
    # accepting the top 4 gives precision 3/4, recall 3/4, F1 0.75 (top 2: F1 2/3)
    assert best.threshold == 0.6 and best.precision == 0.75 and best.recall == 0.75
    described = best.describe()
    assert described.startswith("threshold 0.600: F1 0.75 (precision 0.75, recall 0.75)")
    assert described.endswith("on 6 queries, 3 of them with the right top-1")
    strict = calibrate_threshold(scores, correct, answerable, target_precision=1.0)
    assert strict.threshold == 0.8 and strict.recall == 0.5
    with pytest.raises(PlaceRecognitionError, match="no query's top-1 is correct"):
        calibrate_threshold(scores, np.zeros(6, bool), answerable)
