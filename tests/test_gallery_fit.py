"""Fitting to a gallery: the fitted model is saved with the index and used by every entry point,
which says so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_lite import SIZE, random_params

from place_recognition.core.ir_files import save_ir
from place_recognition.core.model import EmbeddingModel
from place_recognition.errors import PlaceRecognitionError
from place_recognition.index.manifest import MANIFEST, read_manifest
from place_recognition.index.place_index import PlaceIndex, default_index_dir
from place_recognition.indexing.gallery_fit import fit_lite_to_images, fit_to_gallery
from place_recognition.indexing.query_model import GIVEN, STORED
from place_recognition.indexing.update import update_index
from place_recognition.nets.lite import build_lite_model, read_backbone
from place_recognition.nets.lite_build import folder_images
from place_recognition.recognition.calibration import store_threshold_in_index
from place_recognition.recognition.recognizer import PlaceRecognizer
from place_recognition.recognition.thresholds import (
    INDEX_CALIBRATED,
    INDEX_GALLERY,
    resolve_threshold,
)
from place_recognition.scenes.street import write_sample_gallery

from conftest import F32


@pytest.fixture(scope="module")
def base_ir(tmp_path_factory):
    """A small netvlad-lite (s16 tap, K=4, 8-d) with a random head: fitting replaces it."""
    params = random_params("s16", 112, clusters=4, dim=8)
    path = tmp_path_factory.mktemp("lite") / "lite.xml"
    return save_ir(build_lite_model(read_backbone(), params, SIZE), path)


@pytest.fixture
def gallery(tmp_path):
    root = tmp_path / "gallery"
    write_sample_gallery(root, places=4, views=3)
    return root


def test_fitted_model_is_saved_recorded_and_used_saying_so(base_ir, gallery, caplog):
    base = EmbeddingModel(base_ir, precision=F32)
    update = fit_to_gallery(base, gallery, scenes=12)
    directory = default_index_dir(gallery, base.fingerprint)
    query = read_manifest(directory).query_model
    assert update.directory == directory and len(update.index) == 12
    assert (directory / query.files["xml"]).is_file() and (directory / query.files["bin"]).is_file()
    assert query.fitted_from == base.fingerprint and update.model_reason == STORED
    assert query.fingerprint == update.model.fingerprint != base.fingerprint
    assert read_manifest(directory).model == query.fingerprint  # its vectors embed the gallery
    assert update.model.dim == 8 and update.model.info["vocabulary"] == f"gallery {gallery.name}"
    # The base model finds the fitted one: nothing is re-embedded, search embeds with it.
    again = update_index(base, gallery)
    assert again.embedded == 0 and not again.saved and again.model_reason == STORED
    assert again.model.fingerprint == update.model.fingerprint
    caplog.set_level("INFO", logger="place_recognition")
    recognizer = PlaceRecognizer.open(base, gallery)
    assert recognizer.model.fingerprint == update.model.fingerprint
    assert recognizer.model_reason == STORED
    assert f"{query.files['xml']} (netvlad-lite-fitted" in caplog.text
    assert "the gallery-fitted model stored with the index" in caplog.text
    hit = recognizer.match(_image(gallery, "place_02/view_1.jpg"), k=1)
    assert hit[0].record.path == "place_02/view_1.jpg"
    # The fitted model's own scale: the gallery-derived threshold applies, not the model's.
    threshold = resolve_threshold(None, recognizer.model, directory)
    gallery_entry = read_manifest(directory).thresholds["gallery"]
    assert threshold.source == INDEX_GALLERY and threshold.value == gallery_entry["value"]
    assert gallery_entry["places"] == 4 and gallery_entry["images"] == 12


def test_an_index_that_was_not_fitted_embeds_with_the_model_given(tiny_ir, gallery, caplog):
    model = EmbeddingModel(tiny_ir, precision=F32)
    update = update_index(model, gallery)
    assert update.model is model and update.model_reason == GIVEN
    query = read_manifest(update.directory).query_model
    assert query.fingerprint == model.fingerprint and not query.files and not query.fitted_from
    caplog.set_level("INFO", logger="place_recognition")
    recognizer = PlaceRecognizer.open(model, gallery)
    assert recognizer.model is model and recognizer.model_reason == GIVEN
    assert f"{tiny_ir} (" in caplog.text and "the model given" in caplog.text


def test_fitting_computes_features_in_f32_whatever_the_models_precision(base_ir, gallery, tmp_path):
    fitted = []
    for precision in ("bf16", F32):  # bf16: this CPU's default, and a real difference
        model = EmbeddingModel(base_ir, precision=precision)
        out = tmp_path / precision / "fitted.xml"
        fitted.append(fit_lite_to_images(model, folder_images(gallery), out, "test", scenes=12))
    bf16, f32 = (path.with_suffix(".bin").read_bytes() for path in fitted)
    assert bf16 == f32
    info = EmbeddingModel(fitted[1], precision=F32).info
    assert info["kmeans_restarts"] == "5" and info["vocabulary_images"] == "12"


def test_a_gallery_vocabulary_keeps_netvlads_sharp_assignment(gallery, tmp_path):
    """The shipped head is softer (0.25); a gallery's own vocabulary is better sharp (0.01)."""
    params = random_params("s16", 112, clusters=4, dim=8)
    params.info["second_nearest_weight"] = "0.25"
    soft_base = save_ir(build_lite_model(read_backbone(), params, SIZE), tmp_path / "soft.xml")
    base = EmbeddingModel(soft_base, precision=F32)
    assert base.info["second_nearest_weight"] == "0.25"
    out = fit_lite_to_images(base, folder_images(gallery), tmp_path / "fit.xml", "test", scenes=12)
    assert EmbeddingModel(out, precision=F32).info["second_nearest_weight"] == "0.01"


def _image(gallery, relpath):
    import cv2

    return cv2.imread(str(gallery / relpath))


def test_refitting_replaces_the_model_files_and_incremental_saves_keep_them(base_ir, gallery):
    base = EmbeddingModel(base_ir, precision=F32)
    first = fit_to_gallery(base, gallery, scenes=12)
    directory = first.directory
    store_threshold_in_index(directory, 0.42)
    fitted_query = read_manifest(directory).query_model
    (gallery / "place_00" / "view_0.jpg").unlink()  # an incremental update saves a new generation
    update = update_index(base, gallery)
    manifest = read_manifest(directory)
    assert update.saved and update.removed == 1 and manifest.generation == 2
    assert manifest.query_model == fitted_query
    assert (directory / manifest.query_model.files["xml"]).is_file()
    assert manifest.thresholds["calibrated"]["value"] == 0.42  # carried over by the save
    assert manifest.thresholds["gallery"]["images"] == 11  # derived again from the new records
    assert resolve_threshold(None, update.model, directory).source == INDEX_CALIBRATED
    second = fit_to_gallery(base, gallery, clusters=3, dim=6, scenes=12)
    manifest = read_manifest(directory)
    names = sorted(p.name for p in directory.iterdir() if p.name != ".lock")  # the writers' lock
    assert second.model.dim == 6 and PlaceIndex.load(directory).dim == 6
    assert names == sorted(
        [
            MANIFEST,
            manifest.query_model.files["xml"],
            manifest.query_model.files["bin"],
            manifest.files["index"].name,
            manifest.files["records"].name,
        ]
    )
    # Another model: the old calibrated threshold does not apply.
    assert set(manifest.thresholds) == {"gallery"}
    json.loads((directory / MANIFEST).read_text())


def test_fitting_needs_a_netvlad_lite_model(tiny_ir, gallery):
    with pytest.raises(PlaceRecognitionError, match="no NetVLAD head to fit"):
        fit_to_gallery(EmbeddingModel(tiny_ir), gallery, scenes=4)


def test_fitting_needs_more_images_than_dimensions(base_ir, gallery):
    with pytest.raises(PlaceRecognitionError, match="more images than dimensions"):
        fit_to_gallery(EmbeddingModel(base_ir), gallery, dim=40, scenes=4)
    assert np.isfinite(0)
