"""The Accuracy Checker's protocol, reproduced: metric by hand, preprocessing, host-resize model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from place_recognition.core.model import EmbeddingModel
from place_recognition.eval.ac_protocol import (
    grn_normalize,
    load_like_ac,
    localization_recall,
    read_image_like_ac,
    resize_like_ac,
)

from conftest import F32, scene
from models import flatten_model, save


def test_localization_recall_by_hand():
    database = np.eye(3, dtype=np.float32)  # three orthogonal descriptors
    utm_database = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
    queries = np.array([[0.9, 0.1, 0], [0, 1, 0], [0, 0.2, 0.9], [1, 0, 0]], np.float32)
    utm_queries = np.array(
        [
            [10.0, 0.0],  # top-1 is database 0 at 10 m: hit
            [100.0, 25.0],  # top-1 is database 1 at exactly 25 m: miss (strictly less)
            [200.0, 24.9],  # top-1 is database 2 at 24.9 m: hit
            [500.0, 500.0],  # no database image anywhere near: miss, still counted
        ]
    )
    assert localization_recall(queries, database, utm_queries, utm_database) == 0.5


def test_top_k_above_1_counts_every_correct_item_like_the_original():
    database = np.array([[1, 0], [0.9, 0.1]], np.float32)
    utm = np.array([[0.0, 0.0], [5.0, 0.0]])
    query = np.array([[1, 0]], np.float32)
    # Both top-2 items are within 25 m: the original adds 2 for one query (not Recall@2).
    assert localization_recall(query, database, np.array([[0.0, 0.0]]), utm, top_k=2) == 2.0


def test_empty_sets_give_zero_like_the_original():
    assert localization_recall(np.empty((0, 2)), np.ones((1, 2)), np.empty((0, 2)), None) == 0.0


def test_grn_renormalises_with_its_bias():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
    out = grn_normalize(x)
    np.testing.assert_allclose(out[0], [3 / np.sqrt(25 + 1e-6), 4 / np.sqrt(25 + 1e-6)])
    assert np.all(out[1] == 0)


def test_pil_decode_then_bgr_and_u8_resize(tmp_path):
    image = scene(5, 90, 130)
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), image)
    decoded = read_image_like_ac(path)
    np.testing.assert_array_equal(decoded, np.array(Image.open(path).convert("RGB"))[..., ::-1])
    resized = load_like_ac(path, (40, 60))
    assert resized.dtype == np.float32 and resized.shape == (40, 60, 3)
    expected = cv2.resize(image, (60, 40), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    np.testing.assert_array_equal(resized, expected)  # resized on u8, as the checker does
    assert np.all(resized == np.round(resized))


def test_host_preprocessing_model_takes_the_resized_tensor(tmp_path):
    path = save(flatten_model([1, 3, 20, 30]), tmp_path / "flat.xml")  # NCHW on purpose
    graph = EmbeddingModel(path, precision=F32)
    host = graph.with_host_preprocessing()
    assert host.host_preprocessing and host.fingerprint == graph.fingerprint
    tensor = resize_like_ac(scene(1), (20, 30))
    np.testing.assert_allclose(host.embed(tensor), tensor.transpose(2, 0, 1).ravel())
    np.testing.assert_allclose(host.embed_batch([tensor, tensor])[1], host.embed(tensor))
    with pytest.raises(ValueError, match="must be 20x30x3"):
        host.embed(resize_like_ac(scene(1), (21, 30)))
