"""The index format: version 1 indexes read and upgraded in place, later fields only added."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import faiss
import numpy as np
import pytest

from place_recognition.core.files import folder_lock
from place_recognition.core.fingerprint import ModelFingerprint
from place_recognition.core.model import EmbeddingModel
from place_recognition.errors import IndexFormatError
from place_recognition.index.manifest import MANIFEST, read_manifest, upgrade_in_place
from place_recognition.index.place_index import PlaceIndex
from place_recognition.index.records import GalleryRecord
from place_recognition.indexing.update import update_index
from place_recognition.recognition.calibration import store_threshold_in_index
from place_recognition.recognition.recognizer import PlaceRecognizer

from conftest import F32

FP = ModelFingerprint("tiny", "ab" * 32, (200, 300), 8)


def write_v1_index(directory: Path, index: PlaceIndex, generation: int, **extra) -> None:
    """An index folder as format version 1 wrote it (the writer of that version, kept here)."""
    directory.mkdir(parents=True, exist_ok=True)
    index_file = directory / f"index.{generation:06d}.faiss"
    records_file = directory / f"records.{generation:06d}.jsonl"
    flat = faiss.IndexFlatIP(index.dim)
    flat.add(np.ascontiguousarray(index.vectors(), np.float32))
    faiss.write_index(flat, str(index_file))
    lines = (json.dumps(record.to_json(), ensure_ascii=False) for record in index.records)
    records_file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    def describe(path: Path) -> dict:
        data = path.read_bytes()
        return {"name": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    manifest = {
        "format": "place-recognition-index",
        "format_version": 1,
        "generation": generation,
        "model": index.fingerprint.to_dict(),
        "metric": "inner_product",
        "factory": "Flat",
        "nprobe": 64,
        "dim": index.dim,
        "count": len(index.records),
        "files": {"index": describe(index_file), "records": describe(records_file)},
        "skipped": index.skipped,
        "listing": index.listing,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def model(tiny_ir):
    return EmbeddingModel(tiny_ir, precision=F32)


def test_a_version_1_index_is_read_then_upgraded_in_place_without_embedding(model, image_dir):
    built = update_index(model, image_dir)
    directory = built.directory
    for path in directory.iterdir():
        path.unlink()
    write_v1_index(directory, built.index, generation=3, threshold=0.42)

    # Read as it is: everything version 1 had, searching the same.
    old = read_manifest(directory)
    assert old.version == 1 and old.generation == 3 and old.listing == built.index.listing
    assert old.thresholds == {"calibrated": {"value": 0.42}}
    assert old.query_model.fingerprint == model.fingerprint and not old.query_model.files
    loaded = PlaceIndex.load(directory, expected=model.fingerprint)
    assert loaded.records == built.index.records
    queries = built.index.vectors()
    assert [[(m.id, round(m.score, 5)) for m in row] for row in loaded.search(queries, 3)] == [
        [(m.id, round(m.score, 5)) for m in row] for row in built.index.search(queries, 3)
    ]
    assert PlaceRecognizer.open(model, image_dir).index.records == built.index.records
    assert json.loads((directory / MANIFEST).read_text())["format_version"] == 1  # reading: as is

    # The next update (a writer, under the folder's lock) upgrades it in place, and gives the
    # records their routes (a new generation: the same vectors, nothing embedded again).
    update = update_index(model, image_dir)
    assert update.upgraded and update.embedded == 0 and update.reused == 0
    stored = json.loads((directory / MANIFEST).read_text())
    assert stored["format_version"] == 2 and stored["routes"] == "root"
    assert stored["thresholds"] == {"calibrated": {"value": 0.42}}
    assert stored["query_model"] == {"fingerprint": model.fingerprint.to_dict()}
    assert [(r.path, r.sha256) for r in update.index.records] == [
        (r.path, r.sha256) for r in built.index.records
    ]
    np.testing.assert_array_equal(update.index.vectors(), built.index.vectors())
    assert not update_index(model, image_dir).upgraded  # once
    assert not update_index(model, image_dir).saved  # and nothing more to do


def test_upgrading_in_place_leaves_the_data_files_alone(model, image_dir, tmp_path):
    built = update_index(model, image_dir, tmp_path / "index")
    directory = built.directory
    for path in directory.iterdir():
        path.unlink()
    write_v1_index(directory, built.index, generation=3, threshold=0.42)
    data_files = {p.name: p.read_bytes() for p in directory.iterdir() if p.name != MANIFEST}
    with folder_lock(directory, "index"):
        assert upgrade_in_place(directory) and not upgrade_in_place(directory)
    stored = json.loads((directory / MANIFEST).read_text())
    assert stored["format_version"] == 2 and stored["generation"] == 3
    assert {
        p.name: p.read_bytes() for p in directory.iterdir() if p.name not in (MANIFEST, ".lock")
    } == data_files


def test_a_version_1_fitted_model_entry_becomes_the_query_model(tmp_path):
    index = PlaceIndex.build(FP, _records(3), np.eye(3, FP.dim, dtype=np.float32))
    base = ModelFingerprint("base", "cd" * 32, (200, 300), 16)
    fitted = {
        "xml": "model.000001.xml",
        "bin": "model.000001.bin",
        "base_model": base.to_dict(),
        "vocabulary": "gallery g",
    }
    write_v1_index(tmp_path, index, generation=1, fitted_model=fitted)
    query = read_manifest(tmp_path).query_model
    assert query.files == {"xml": "model.000001.xml", "bin": "model.000001.bin"}
    assert query.fitted_from == base and query.info == {"vocabulary": "gallery g"}
    assert query.fingerprint == FP
    broken = {**fitted, "xml": "../elsewhere.xml"}  # a manifest never points out of its folder
    write_v1_index(tmp_path, index, generation=1, fitted_model=broken)
    with pytest.raises(IndexFormatError, match="bad or missing query_model"):
        read_manifest(tmp_path)


def _records(n: int) -> list[GalleryRecord]:
    return [GalleryRecord(f"p{i}/v.jpg", f"p{i}", f"{i:064x}", 10, 1) for i in range(n)]


def test_later_optional_fields_are_read_with_defaults_and_kept_by_rewrites(tmp_path):
    index = PlaceIndex.build(FP, _records(3), np.eye(3, FP.dim, dtype=np.float32))
    index.save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    records_name = manifest["files"]["records"]["name"]
    # A later version adds record fields (a heading, say) and manifest fields; this one drops
    # optional ones (lat/lon, route/position: default null).
    later = [{**r.to_json(), "heading": 12.5 * i} for i, r in enumerate(index.records)]
    dropped = ("lat", "lon", "route", "position")
    lines = [json.dumps({k: v for k, v in r.items() if k not in dropped}) for r in later]
    data = ("\n".join(lines) + "\n").encode()
    (tmp_path / records_name).write_bytes(data)
    manifest["files"]["records"].update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    manifest["shards"] = {"count": 1}
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    loaded = PlaceIndex.load(tmp_path)
    assert loaded.records == index.records and loaded.records[1].lat is None
    store_threshold_in_index(tmp_path, 0.3)  # a rewrite of the same generation keeps the field
    stored = json.loads((tmp_path / MANIFEST).read_text())
    assert stored["shards"] == {"count": 1} and stored["thresholds"]["calibrated"]["value"] == 0.3


def test_an_index_that_requires_an_unknown_feature_is_refused_naming_it(tmp_path):
    PlaceIndex.build(FP, _records(2), np.eye(2, FP.dim, dtype=np.float32)).save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["requires"] = ["gpu-codes"]  # a feature no version knows yet
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match="needs gpu-codes, which this version") as error:
        PlaceIndex.load(tmp_path)
    assert "--" not in str(error.value) and "upgrade place_recognition" in str(error.value)
