"""Real images (../shared/datasets/corridor): index the 111 references and find each one."""

from __future__ import annotations

import cv2
import pytest

from place_recognition.core.model import EmbeddingModel
from place_recognition.indexing.update import update_index
from place_recognition.recognition.recognizer import PlaceRecognizer

pytestmark = pytest.mark.data


def test_corridor_references_find_themselves_and_reindex_is_free(tiny_ir, data_dir, tmp_path):
    gallery = data_dir / "corridor" / "ref"
    model = EmbeddingModel(tiny_ir)  # the default (bf16 here): self-matches must hold anyway
    index_dir = tmp_path / "index"  # never write into the shared data
    first = update_index(model, gallery, index_dir)
    assert len(first.index) == 111 and first.embedded == 111 and not first.failed
    recognizer = PlaceRecognizer(model, first.index, gallery)
    images = [cv2.imread(str(gallery / r.path)) for r in first.index.records]
    for record, matches in zip(
        first.index.records, recognizer.match_batch(images, k=1), strict=True
    ):
        assert matches[0].record.path == record.path
    second = update_index(model, gallery, index_dir)
    assert second.embedded == 0 and not second.saved
