"""Storing a threshold while an index commits: the manifest never names deleted files."""

from __future__ import annotations

import threading

import cv2

import place_recognition.index.manifest as manifest_module
from place_recognition.core.model import EmbeddingModel
from place_recognition.errors import PlaceRecognitionError
from place_recognition.index.place_index import PlaceIndex
from place_recognition.indexing.update import update_index
from place_recognition.recognition.calibration import store_threshold_in_index

from conftest import F32, scene


def test_a_commit_between_the_threshold_writers_read_and_write_cannot_be_undone(
    tiny_ir, image_dir, monkeypatch
):
    model = EmbeddingModel(tiny_ir, precision=F32)
    directory = update_index(model, image_dir).directory
    cv2.imwrite(str(image_dir / "place0" / "v2.png"), scene(77))  # the next update commits
    commit: dict = {}

    def concurrent_commit() -> None:
        try:
            commit["update"] = update_index(model, image_dir)
        except PlaceRecognitionError as exc:
            commit["refused"] = str(exc)

    real_read = manifest_module.read_manifest

    def read_then_let_a_commit_run(path, missing_ok=False):
        """The threshold writer's read of the manifest it will write back; right after it,
        a real update commits from another thread (run to its end: no timing involved)."""
        manifest = real_read(path, missing_ok)
        if threading.current_thread() is threading.main_thread() and not commit:
            other = threading.Thread(target=concurrent_commit)
            other.start()
            other.join()
        return manifest

    monkeypatch.setattr(manifest_module, "read_manifest", read_then_let_a_commit_run)
    store_threshold_in_index(directory, 0.25)
    monkeypatch.undo()

    # The index still loads: its manifest names files that exist (without the folder lock, the
    # writer put back generation 1's manifest after the commit had deleted its files).
    index = PlaceIndex.load(directory)
    assert manifest_module.read_manifest(directory).thresholds["calibrated"]["value"] == 0.25
    # The commit waited for nothing and lost nothing: it was refused, saying why ...
    assert "another run is updating the index" in commit["refused"]
    assert len(index) == 7
    # ... and the next run commits, keeping the threshold.
    again = update_index(model, image_dir)
    assert again.saved and len(again.index) == 8 and again.embedded == 1
    assert manifest_module.read_manifest(directory).thresholds["calibrated"]["value"] == 0.25
