"""PlaceIndex: search, atomic persistence, and refusal of foreign or damaged indexes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from place_recognition.core.fingerprint import ModelFingerprint
from place_recognition.errors import IndexFormatError, IndexMismatchError, IndexWriteError
from place_recognition.index.manifest import MANIFEST
from place_recognition.index.place_index import PlaceIndex, l2_normalize
from place_recognition.index.records import GalleryRecord

FP = ModelFingerprint("tiny", "ab" * 32, (200, 300), 8)


def _records(n: int) -> list[GalleryRecord]:
    return [
        GalleryRecord(
            f"p{i}/img.jpg",
            f"p{i}",
            f"{i:064x}",
            100 + i,
            10**9 + i,
            lat=48.0 + i if i % 2 else None,
            lon=11.0 + i if i % 2 else None,
        )
        for i in range(n)
    ]


def _index(n: int = 5, seed: int = 0) -> tuple[PlaceIndex, np.ndarray]:
    vectors = l2_normalize(np.random.default_rng(seed).standard_normal((n, FP.dim)))
    return PlaceIndex.build(FP, _records(n), vectors), vectors


def test_search_ranks_by_cosine_similarity():
    index, vectors = _index(6)
    query = l2_normalize(vectors[2] + 0.1 * vectors[4])
    matches = index.search(query, k=3)[0]
    expected = np.argsort(-(vectors @ query))[:3]
    assert [m.id for m in matches] == list(expected)
    assert [m.rank for m in matches] == [0, 1, 2]
    assert matches[0].record.label == "p2"
    assert matches[0].score == pytest.approx(float(vectors[2] @ query), abs=1e-5)


def test_search_with_k_beyond_the_gallery_and_an_empty_index():
    index, vectors = _index(3)
    assert len(index.search(vectors[0], k=10)[0]) == 3
    empty = PlaceIndex.build(FP, [], np.empty((0, FP.dim), np.float32))
    assert empty.search(vectors[:2], k=5) == [[], []]


def test_save_load_round_trip(tmp_path):
    index, vectors = _index(5)
    index.save(tmp_path)
    loaded = PlaceIndex.load(tmp_path, expected=FP)
    assert loaded.records == index.records and loaded.fingerprint == FP
    np.testing.assert_allclose(loaded.vectors(), vectors, atol=1e-6)
    assert [m.id for m in loaded.search(vectors[3], 2)[0]] == [
        m.id for m in index.search(vectors[3], 2)[0]
    ]
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["count"] == 5 and manifest["model"]["key"] == FP.key
    assert manifest["metric"] == "inner_product" and manifest["dim"] == FP.dim


def test_each_save_is_a_new_generation_and_old_ones_are_deleted(tmp_path):
    _index(4)[0].save(tmp_path)
    second, _ = _index(6, seed=1)
    second.save(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["index.000002.faiss", MANIFEST, "records.000002.jsonl"]
    assert len(PlaceIndex.load(tmp_path)) == 6


def test_a_crash_before_the_manifest_leaves_the_old_index(tmp_path, monkeypatch):
    old, _ = _index(4)
    old.save(tmp_path)
    new, _ = _index(7, seed=2)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    # Fail exactly when the manifest (the commit point) is written.
    import place_recognition.index.manifest as manifest_module

    real_write = manifest_module.atomic_write_text
    monkeypatch.setattr(
        manifest_module,
        "atomic_write_text",
        lambda path, text: crash() if path.name == MANIFEST else real_write(path, text),
    )
    with pytest.raises(IndexWriteError, match="disk full"):
        new.save(tmp_path)
    monkeypatch.undo()
    assert len(PlaceIndex.load(tmp_path)) == 4  # old generation, intact


def test_another_models_index_is_refused_showing_both_fingerprints(tmp_path):
    _index(3)[0].save(tmp_path)
    other = ModelFingerprint("other", "cd" * 32, (200, 300), 8)
    with pytest.raises(IndexMismatchError) as error:
        PlaceIndex.load(tmp_path, expected=other)
    assert FP.key in str(error.value) and other.key in str(error.value)


def test_truncated_index_file_is_named_in_the_error(tmp_path):
    _index(3)[0].save(tmp_path)
    faiss_file = next(tmp_path.glob("index.*.faiss"))
    faiss_file.write_bytes(faiss_file.read_bytes()[:50])
    with pytest.raises(IndexFormatError, match=faiss_file.name):
        PlaceIndex.load(tmp_path)


def test_same_size_corruption_is_caught_by_the_sha256_check(tmp_path):
    _index(3)[0].save(tmp_path)
    records = next(tmp_path.glob("records.*.jsonl"))
    data = bytearray(records.read_bytes())
    data[20] ^= 1
    records.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match="sha256"):
        PlaceIndex.load(tmp_path)


def test_newer_format_and_damaged_manifest_are_refused(tmp_path):
    _index(3)[0].save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(IndexFormatError, match="newer"):
        PlaceIndex.load(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(IndexFormatError, match="damaged"):
        PlaceIndex.load(tmp_path)


def test_count_mismatch_between_manifest_and_files_is_refused(tmp_path):
    _index(3)[0].save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "count": 4}))
    with pytest.raises(IndexFormatError, match="do not agree"):
        PlaceIndex.load(tmp_path)


def test_missing_index_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "none")):
        PlaceIndex.load(tmp_path / "none")


def test_reader_retries_when_a_writer_replaced_its_generation(tmp_path, monkeypatch):
    first, _ = _index(3)
    first.save(tmp_path)
    import place_recognition.index.place_index as index_module

    real_read = index_module.read_manifest
    calls = {"n": 0}

    def stale_then_fresh(directory, missing_ok=False):
        calls["n"] += 1
        manifest = real_read(directory, missing_ok)
        if calls["n"] == 1:  # the reader saw generation 1 ...
            second, _ = _index(5, seed=3)
            second.save(tmp_path)  # ... then a writer committed 2 and deleted 1
        return manifest

    monkeypatch.setattr(index_module, "read_manifest", stale_then_fresh)
    assert len(PlaceIndex.load(tmp_path)) == 5
