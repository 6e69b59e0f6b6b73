"""Approximate index modes: factory strings, training on the gallery, exact re-ranking."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from place_recognition.cli import build_index, search
from place_recognition.core.fingerprint import ModelFingerprint
from place_recognition.core.model import EmbeddingModel
from place_recognition.errors import IndexFormatError, PlaceRecognitionError
from place_recognition.index import modes as ann
from place_recognition.index.manifest import MANIFEST, read_manifest
from place_recognition.index.place_index import PlaceIndex
from place_recognition.index.records import GalleryRecord
from place_recognition.indexing.update import UpdateOptions, update_index

from conftest import F32

FP = ModelFingerprint("clustered", "cd" * 32, (8, 8), 64)
SMALL_IVF = "PCAR64,IVF64,SQ8"  # trains in well under a second


def _clustered(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 200 centres: neighbours are meaningful, not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, FP.dim))
    vectors = centres[rng.integers(0, 200, count)] + 0.6 * rng.normal(size=(count, FP.dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _records(count: int) -> list[GalleryRecord]:
    return [GalleryRecord(f"p/{i}.png", f"p{i % 50}", f"{i:064x}", 1, i) for i in range(count)]


@pytest.fixture(scope="module")
def gallery_vectors() -> np.ndarray:
    return _clustered(6000)


def test_auto_mode_is_exact_for_small_galleries_and_ivf_pq_for_large():
    assert ann.resolve_factory("auto", 10_000) == "Flat"
    assert ann.resolve_factory("auto", 1_000_000) == "IVF4096,SQ8"
    assert ann.resolve_factory("auto", 300_000) == "IVF2048,SQ8"
    assert ann.resolve_factory("exact", 10**7) == "Flat"
    assert ann.resolve_factory("PCAR64,HNSW32", 10) == "PCAR64,HNSW32"


def test_approximate_search_agrees_with_exact_and_gives_exact_scores(gallery_vectors, tmp_path):
    exact = PlaceIndex.build(FP, _records(6000), gallery_vectors)
    approximate = PlaceIndex.build(FP, _records(6000), gallery_vectors, SMALL_IVF)
    queries = _clustered(300, seed=1)
    top_exact = exact.search(queries, 5)
    top_approximate = approximate.search(queries, 5)
    agreement = np.mean(
        [a[0].id == e[0].id for a, e in zip(top_approximate, top_exact, strict=True)]
    )
    assert agreement >= 0.95
    for a, e in zip(top_approximate, top_exact, strict=True):
        if a[0].id == e[0].id:  # re-ranked: the very same cosine similarity
            assert a[0].score == pytest.approx(e[0].score, abs=1e-5)
        assert [m.score for m in a] == sorted((m.score for m in a), reverse=True)

    approximate.save(tmp_path)
    loaded = PlaceIndex.load(tmp_path)
    assert loaded.factory == SMALL_IVF and isinstance(loaded.vectors(), np.memmap)
    np.testing.assert_array_equal(loaded.vectors(), approximate.vectors())
    assert [m.id for m in loaded.search(queries[:20], 3)[0]] == [
        m.id for m in approximate.search(queries[:20], 3)[0]
    ]
    manifest = read_manifest(tmp_path)
    assert manifest.factory == SMALL_IVF and "vectors" in manifest.files


def test_more_probes_get_closer_to_exact(gallery_vectors):
    exact = PlaceIndex.build(FP, _records(6000), gallery_vectors)
    approximate = PlaceIndex.build(FP, _records(6000), gallery_vectors, "IVF64,Flat")
    queries = _clustered(300, seed=2)
    truth = [m[0].id for m in exact.search(queries, 1)]

    def agreement(nprobe: int) -> float:
        approximate.nprobe = nprobe
        found = [m[0].id for m in approximate.search(queries, 1)]
        return float(np.mean(np.array(found) == np.array(truth)))

    assert agreement(1) < agreement(64) == 1.0  # all 64 lists visited + exact re-rank = exact


def test_damaged_or_missing_exact_vectors_are_refused(gallery_vectors, tmp_path):
    PlaceIndex.build(FP, _records(6000), gallery_vectors, SMALL_IVF).save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    vectors_file = tmp_path / manifest["files"]["vectors"]["name"]
    data = bytearray(vectors_file.read_bytes())
    data[-3] ^= 0xFF
    vectors_file.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=vectors_file.name):
        PlaceIndex.load(tmp_path)
    del manifest["files"]["vectors"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match="factory"):
        PlaceIndex.load(tmp_path)


def test_bad_factory_string_and_too_small_gallery_are_one_line_errors(gallery_vectors):
    with pytest.raises(PlaceRecognitionError, match="not a faiss index factory string"):
        PlaceIndex.build(FP, _records(100), gallery_vectors[:100], "IVF64,Bogus")
    with pytest.raises(
        PlaceRecognitionError, match="cannot train the index mode on 100 gallery vectors"
    ):
        PlaceIndex.build(FP, _records(100), gallery_vectors[:100], "PCAR32,IVF16,PQ8")


def _centroids(index: PlaceIndex) -> np.ndarray:
    ivf = faiss.extract_index_ivf(index.trained_index)
    return ivf.quantizer.reconstruct_n(0, ivf.nlist)


def test_indexing_switches_modes_without_embedding_again(tiny_ir, image_dir, capsys):
    model = EmbeddingModel(tiny_ir, precision=F32)
    first = update_index(
        model, image_dir, options=UpdateOptions(index_mode="PCAR4,IVF2,Flat", nprobe=2)
    )
    assert first.embedded == 7 and first.index.factory == "PCAR4,IVF2,Flat"
    coarse = _centroids(first.index)
    (image_dir / "lonely.bmp").unlink()
    second = update_index(model, image_dir, options=UpdateOptions(index_mode="PCAR4,IVF2,Flat"))
    assert second.saved and second.index.nprobe == 2  # the index's own nprobe is kept
    np.testing.assert_array_equal(_centroids(second.index), coarse)  # training reused
    exact = update_index(model, image_dir, options=UpdateOptions(index_mode="exact"))
    assert exact.saved and exact.embedded == 0 and exact.index.factory == "Flat"
    query = image_dir / "place1" / "v0.png"
    argv = ["-m", str(tiny_ir), "-gf", str(image_dir), "--precision", F32, "-q"]
    assert build_index.main([*argv, "--index-mode", "PCAR4,IVF2,Flat"]) == 0
    assert "PCAR4,IVF2,Flat, nprobe 2, re-ranked exactly" in capsys.readouterr().out
    assert search.main([*argv, "-i", str(query), "--json", "--nprobe", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["matches"][0]["path"] == "place1/v0.png"
    assert build_index.main([*argv, "--index-mode", "IVF4,Nope"]) == 2
    assert "not a faiss index factory string" in capsys.readouterr().err


def test_without_a_mode_the_saved_index_keeps_its_own(tiny_ir, image_dir):
    """The demo's default: starting it never rebuilds an index made in another mode."""
    model = EmbeddingModel(tiny_ir, precision=F32)
    update_index(model, image_dir, options=UpdateOptions(index_mode="PCAR4,IVF2,Flat", nprobe=2))
    kept = update_index(model, image_dir, options=UpdateOptions(index_mode=None))
    assert not kept.saved and kept.index.factory == "PCAR4,IVF2,Flat"
    (image_dir / "lonely.bmp").unlink()
    changed = update_index(model, image_dir, options=UpdateOptions(index_mode=None))
    assert changed.saved and changed.index.factory == "PCAR4,IVF2,Flat"
    assert (
        update_index(model, image_dir, options=UpdateOptions(index_mode="auto")).index.factory
        == "Flat"
    )


def test_search_benchmark_runs_end_to_end_on_a_tiny_model(tiny_ir, tmp_path, capsys):
    from place_recognition.cli import benchmark_search as bench_search
    from place_recognition.scenes.street import write_sample_dataset

    dataset = write_sample_dataset(tmp_path / "set", places=6, views=3, unknown=2)
    report_path = tmp_path / "report.json"
    argv = ["-m", str(tiny_ir), "--precision", F32, "--datasets", str(dataset), "-q"]
    argv += ["--sizes", "300,600", "--index-mode", "exact", "--index-mode", "IVF8,Flat"]
    argv += ["--nprobe", "8"]
    argv += ["--workdir", str(tmp_path / "work"), "-o", str(report_path)]
    assert bench_search.main(argv) == 0
    report = json.loads(report_path.read_text())
    assert report["machine"]["logical_cores"] >= 1 and report["queries"] == 14
    assert [entry["gallery"] for entry in report["sizes"]] == [300, 600]
    for entry in report["sizes"]:
        exact, ivf = entry["modes"]
        assert exact["mode"] == "Flat" and exact["top1_agreement"] == 1.0
        assert ivf["top1_agreement"] == 1.0  # every list probed, re-ranked exactly
        assert ivf["real_recall_at_1"] == exact["real_recall_at_1"]
        assert set(entry["margins"]) == {"p10", "p25", "p50", "p75", "p90"}
    assert "top-1 agreement" in capsys.readouterr().out


def test_training_on_few_vectors_is_one_explained_line_not_faiss_warnings(capfd, caplog):
    vectors = np.random.default_rng(5).standard_normal((300, 32)).astype(np.float32)
    index = ann.new_index("IVF16,PQ4", 32)
    ann.train(index, vectors)
    assert index.is_trained
    assert "WARNING clustering" not in capfd.readouterr().err  # faiss's, once per PQ codebook
    (record,) = [r for r in caplog.records if "training the index mode" in r.getMessage()]
    message = record.getMessage()
    assert "300 gallery vectors" in message and "16 inverted lists (624 suggested)" in message
    assert "256-code PQ codebooks (9,984 suggested)" in message
