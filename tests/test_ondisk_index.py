"""Inverted lists kept on disk: saved as a generation file named in ``requires``, memory-mapped
on load from the index's own folder (so a moved folder loads), checked like every data file,
and a trained copy of such an index for the next generation.

The on-disk index is made the way a cluster build makes it (distributed/ivf_build.py's merge of
parts into one lists file), from one part here: no cluster is needed for the index layer.
"""

from __future__ import annotations

import json
import shutil

import faiss
import numpy as np
import pytest

from place_recognition.core.fingerprint import ModelFingerprint
from place_recognition.distributed.ivf_build import merge_on_disk
from place_recognition.errors import IndexFormatError
from place_recognition.index import modes as ann
from place_recognition.index.manifest import MANIFEST, read_manifest
from place_recognition.index.place_index import PlaceIndex
from place_recognition.index.records import GalleryRecord

FP = ModelFingerprint("clustered", "ef" * 32, (8, 8), 32)
FACTORY = "IVF16,SQ8"


def _vectors(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(60, FP.dim))
    vectors = centres[rng.integers(0, 60, count)] + 0.5 * rng.normal(size=(count, FP.dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _records(count: int) -> list[GalleryRecord]:
    return [GalleryRecord(f"p/{i}.png", f"p{i % 20}", f"{i:064x}", 1, i) for i in range(count)]


@pytest.fixture(scope="module")
def in_memory() -> PlaceIndex:
    return PlaceIndex.build(FP, _records(2000), _vectors(2000), FACTORY)


def _on_disk(in_memory: PlaceIndex, scratch) -> PlaceIndex:
    """The same index with its lists merged into an on-disk file, as a cluster build does."""
    scratch.mkdir(exist_ok=True)
    part = scratch / "part-00000.faiss"
    faiss.write_index(in_memory.trained_index, str(part))
    index = ann.empty_copy(in_memory.trained_index)
    merge_on_disk(index, [part], scratch / "merged.ivfdata")
    vectors = np.array(in_memory.vectors())
    lists = scratch / "merged.ivfdata"
    return PlaceIndex(FP, in_memory.records, index, 0, vectors, FACTORY, lists)


def _top(index: PlaceIndex, queries: np.ndarray) -> list[list[tuple[int, float]]]:
    return [[(m.id, round(m.score, 5)) for m in row] for row in index.search(queries, 5)]


def test_saved_lists_are_a_generation_file_that_a_moved_folder_still_maps(in_memory, tmp_path):
    queries = _vectors(50, seed=1)
    _on_disk(in_memory, tmp_path / "scratch").save(tmp_path / "index")
    manifest = read_manifest(tmp_path / "index")
    assert manifest.requires == ("ondisk-invlists",)
    assert manifest.files["invlists"].name == "invlists.000001.ivfdata"
    assert not (tmp_path / "scratch" / "merged.ivfdata").exists()  # moved in, not copied

    shutil.move(tmp_path / "index", tmp_path / "moved")
    loaded = PlaceIndex.load(tmp_path / "moved")
    assert loaded.lists_file == tmp_path / "moved" / "invlists.000001.ivfdata"
    assert _top(loaded, queries) == _top(in_memory, queries)


def test_a_resave_keeps_the_lists_file_and_a_new_build_drops_it(in_memory, tmp_path):
    directory = tmp_path / "index"
    _on_disk(in_memory, tmp_path / "scratch").save(directory)
    loaded = PlaceIndex.load(directory)
    loaded.nprobe = 8
    loaded.save(directory)  # same lists: the manifest keeps naming generation 1's file
    again = PlaceIndex.load(directory)
    assert (again.generation, again.nprobe) == (2, 8)
    assert read_manifest(directory).files["invlists"].name == "invlists.000001.ivfdata"
    queries = _vectors(50, seed=2)
    assert _top(again, queries) == _top(loaded, queries)

    # The next generation trained like it (faiss cannot clone on-disk lists), lists in memory.
    rebuilt = PlaceIndex.build(
        FP, again.records, np.array(again.vectors()), FACTORY, again.trained_index
    )
    rebuilt.nprobe = 8
    rebuilt.save(directory)
    assert read_manifest(directory).requires == ()
    assert not list(directory.glob("*.ivfdata"))  # cleaned up with its generation
    assert _top(PlaceIndex.load(directory), queries) == _top(again, queries)


def test_damaged_or_missing_lists_are_refused_naming_the_file(in_memory, tmp_path):
    directory = tmp_path / "index"
    _on_disk(in_memory, tmp_path / "scratch").save(directory)
    lists = directory / "invlists.000001.ivfdata"
    data = lists.read_bytes()
    lists.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexFormatError, match="invlists.000001.ivfdata"):
        PlaceIndex.load(directory)
    lists.unlink()
    with pytest.raises(IndexFormatError, match=r"invlists.000001.ivfdata is missing"):
        PlaceIndex.load(directory)

    manifest = json.loads((directory / MANIFEST).read_text())
    del manifest["files"]["invlists"]  # required, but not named
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match="bad or missing invlists"):
        PlaceIndex.load(directory)
