"""Any bytes given to the image reader or the index loader give either a valid
result or the project's own error, never a crash of another kind (hypothesis)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from place_recognition.core.fingerprint import ModelFingerprint
from place_recognition.core.images import decode_image, read_image, why_undecodable
from place_recognition.errors import PlaceRecognitionError
from place_recognition.index.manifest import MANIFEST
from place_recognition.index.place_index import PlaceIndex
from place_recognition.index.records import GalleryRecord
from place_recognition.indexing.query_model import stored_model_path

from conftest import scene

# Derandomized so CI is repeatable; FUZZ_RANDOM=1 FUZZ_EXAMPLES=5000 for a deeper local search.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    derandomize="FUZZ_RANDOM" not in os.environ,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FP = ModelFingerprint("fuzz", "12" * 32, (8, 8), 4)


def _encoded(ext: str) -> bytes:
    ok, data = cv2.imencode(ext, scene(3, 24, 32))
    assert ok
    return data.tobytes()


VALID = {ext: _encoded(ext) for ext in (".jpg", ".png", ".bmp", ".webp", ".tif")}


@st.composite
def damaged(draw, original: bytes) -> bytes:
    """``original`` truncated, extended, or with a few bytes overwritten."""
    data = bytearray(original)
    kind = draw(st.sampled_from(["truncate", "extend", "overwrite"]))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if kind == "extend":
        return bytes(data) + draw(st.binary(min_size=1, max_size=64))
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


IMAGE_BYTES = st.one_of(
    st.binary(max_size=512),
    st.sampled_from(sorted(VALID)).flatmap(lambda ext: damaged(VALID[ext])),
    st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"RIFF", b"II*\x00"]).flatmap(
        lambda header: st.binary(max_size=256).map(lambda tail: header + tail)
    ),
)


@FUZZ
@given(IMAGE_BYTES)
def test_decode_image_gives_an_image_or_none(data):
    image = decode_image(data)
    if image is None:
        assert why_undecodable(data)
    else:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


@FUZZ
@given(IMAGE_BYTES)
def test_read_image_gives_an_image_or_our_error(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.jpg"
        path.write_bytes(data)
        try:
            image = read_image(path)
        except PlaceRecognitionError as error:
            assert str(path) in str(error)
        else:
            assert image.dtype == np.uint8 and image.shape[2] == 3


def _saved_index() -> dict[str, bytes]:
    records = [GalleryRecord(f"p{i}/v.png", f"p{i}", f"{i:064x}", 10 + i, i) for i in range(6)]
    vectors = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        PlaceIndex.build(FP, records, vectors).save(Path(folder))
        return {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}


SAVED = _saved_index()
MANIFEST_JSON = json.loads(SAVED[MANIFEST])
INDEX_NAME = MANIFEST_JSON["files"]["index"]["name"]
RECORDS_NAME = MANIFEST_JSON["files"]["records"]["name"]


def _load_with(replacements: dict[str, bytes]) -> PlaceRecognitionError | None:
    """Open the saved index with some files replaced as the demo and search do (fitted model,
    threshold, index): it must load or raise our error."""
    with tempfile.TemporaryDirectory() as folder:
        for name, data in {**SAVED, **replacements}.items():
            (Path(folder) / name).write_bytes(data)
        try:
            stored_model_path(Path(folder), FP)
            index = PlaceIndex.load(Path(folder))
        except PlaceRecognitionError as error:
            return error
        assert len(index) == len(index.records) == index.vectors().shape[0]
        return None


@FUZZ
@given(st.one_of(st.binary(max_size=256), damaged(SAVED[INDEX_NAME])))
def test_any_index_file_bytes_are_refused_before_faiss_reads_them(data):
    if data != SAVED[INDEX_NAME]:
        error = _load_with({INDEX_NAME: data})
        assert error is not None and INDEX_NAME in str(error)


@FUZZ
@given(st.one_of(st.binary(max_size=256), damaged(SAVED[RECORDS_NAME])))
def test_any_records_bytes_behind_a_matching_manifest_are_refused(data):
    # Even when the manifest is made to vouch for the bytes, they must parse as records.
    manifest = json.loads(SAVED[MANIFEST])

    manifest["files"]["records"].update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    _load_with({RECORDS_NAME: data, MANIFEST: json.dumps(manifest).encode()})


def _containers(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=8), children, max_size=4
    )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    _containers,
    max_leaves=12,
)


@st.composite
def manifest_variants(draw) -> bytes:
    """The real manifest with one field (top-level or nested) replaced by any JSON value."""
    manifest = json.loads(SAVED[MANIFEST])
    target = manifest
    path = draw(
        st.sampled_from(
            [
                ("format_version",),
                ("generation",),
                ("count",),
                ("dim",),
                ("model",),
                ("model", "dim"),
                ("model", "input_size"),
                ("model", "sha256"),
                ("files",),
                ("files", "index"),
                ("files", "index", "name"),
                ("files", "index", "size"),
                ("files", "records", "sha256"),
                ("skipped",),
                ("threshold",),
                ("fitted_model",),
            ]
        )
    )
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = draw(JSON_VALUES)
    return json.dumps(manifest).encode()


@FUZZ
@given(st.one_of(st.binary(max_size=256), damaged(SAVED[MANIFEST]), manifest_variants()))
def test_any_manifest_gives_an_index_or_our_error(data):
    _load_with({MANIFEST: data})
