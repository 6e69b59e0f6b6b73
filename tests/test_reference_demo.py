"""The reference demo's method (benchmark baseline) does what docs/background/omz-demo.md says."""

from __future__ import annotations

import numpy as np

from place_recognition.bench.reference_demo import ReferenceDemo, reference_search
from place_recognition.core.fingerprint import ModelFingerprint
from place_recognition.index.place_index import PlaceIndex
from place_recognition.index.records import GalleryRecord

from conftest import scene


def test_central_square_crop_then_stretch(tiny_ir):
    demo = ReferenceDemo(tiny_ir)
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, 100:200] = 255  # the central square is all white, the sides black
    tensor = demo.preprocess(image)
    assert tensor.shape == (1, 200, 300, 3) and tensor.dtype == np.float32
    assert (tensor == 255).all()


def test_gallery_embedding_is_one_vector_per_image(tiny_ir, tmp_path):
    import cv2

    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.jpg")
        cv2.imwrite(str(paths[-1]), scene(i))
    vectors = ReferenceDemo(tiny_ir).embed_gallery(paths)
    assert vectors.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_l2_order_equals_the_inner_product_order_of_our_index():
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(500, 16)).astype(np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    probe = gallery[7] + 0.1 * rng.normal(size=16).astype(np.float32)
    probe /= np.linalg.norm(probe)
    fingerprint = ModelFingerprint("m", "0" * 64, (1, 1), 16)
    records = [GalleryRecord(str(i), "", "", 0, 0) for i in range(500)]
    ours = [m.id for m in PlaceIndex.build(fingerprint, records, gallery).search(probe, 10)[0]]
    assert list(reference_search(gallery, probe)[:10]) == ours
