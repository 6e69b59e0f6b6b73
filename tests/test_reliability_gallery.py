"""Awkward gallery content is read right or reported, and never misaligns."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from place_recognition.core import images as images_module
from place_recognition.core.images import (
    decode_image,
    list_images,
    read_image,
    why_undecodable,
)
from place_recognition.core.model import EmbeddingModel
from place_recognition.errors import PlaceRecognitionError
from place_recognition.index.manifest import read_manifest
from place_recognition.index.place_index import PlaceIndex
from place_recognition.indexing.update import update_index

from conftest import F32, scene


def _jpeg(image: np.ndarray, orientation: int | None = None) -> bytes:
    pil = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    buffer = io.BytesIO()
    if orientation is None:
        pil.save(buffer, "JPEG", quality=95)
    else:
        exif = pil.getexif()
        exif[0x0112] = orientation  # EXIF Orientation
        pil.save(buffer, "JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def _png(array: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", array)
    assert ok
    return encoded.tobytes()


def test_exif_rotated_jpeg_is_turned_upright():
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :40] = 255  # left half white
    upright = decode_image(_jpeg(image, orientation=6))  # 6: rotate 90 degrees clockwise
    assert upright.shape == (80, 40, 3)
    assert upright[:20].mean() > 200 and upright[-20:].mean() < 50  # white half now on top


def test_grey_16_bit_and_alpha_pngs_become_u8_bgr():
    grey = decode_image(_png(np.full((10, 12), 77, np.uint8)))
    deep = decode_image(_png(np.full((10, 12, 3), 50_000, np.uint16)))
    alpha = np.dstack([np.full((10, 12, 3), 200, np.uint8), np.zeros((10, 12), np.uint8)])
    with_alpha = decode_image(_png(alpha))
    for decoded in (grey, deep, with_alpha):
        assert decoded.shape == (10, 12, 3) and decoded.dtype == np.uint8
    assert (grey == 77).all() and (deep == 50_000 >> 8).all() and (with_alpha == 200).all()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"GIF89a-but-not-really" * 10, "not a readable image"),
        ("truncated-jpeg", "truncated JPEG"),
        ("truncated-png", "damaged or truncated image (320x240)"),
    ],
)
def test_undecodable_bytes_give_none_and_a_reason(data, reason):
    if data == "truncated-jpeg":
        whole = _jpeg(scene(1, 240, 320))
        data = whole[: len(whole) - 300]  # decodable by a lenient reader, with a grey bottom
    elif data == "truncated-png":
        whole = _png(scene(1, 240, 320))
        data = whole[: len(whole) // 2]
    assert decode_image(data) is None
    assert why_undecodable(data).startswith(reason)


def test_complete_jpeg_with_trailing_data_still_decodes():
    data = _jpeg(scene(2)) + b"\x00\x00\x00\x18ftypmp42" + bytes(200)  # a "motion photo" tail
    assert decode_image(data).shape == (120, 160, 3)


def test_huge_image_is_decoded_reduced(monkeypatch):
    monkeypatch.setattr(images_module, "MAX_DECODE_PIXELS", 300 * 400 // 4)
    data = _jpeg(scene(3, 600, 800))  # 16x the limit: decoded at 1/4 (150x200)
    assert decode_image(data).shape == (150, 200, 3)


@pytest.mark.slow
def test_a_real_50_megapixel_jpeg_is_decoded_without_the_full_size_buffer():
    data = _jpeg(cv2.resize(scene(4), (10_000, 5_000), interpolation=cv2.INTER_LINEAR))
    assert decode_image(data).shape == (2_500, 5_000, 3)


def test_symlink_loops_and_odd_names_are_walked_once(tmp_path):
    root = tmp_path / "gallery"
    (root / "ünïcode place").mkdir(parents=True)
    cv2.imwrite(str(root / "ünïcode place" / "a view.png"), scene(5))
    (root / "ünïcode place" / "loop").symlink_to(root)  # a link back to the root
    (root / "alias").symlink_to(root / "ünïcode place")  # a second way into the same folder
    found = [image.relpath for image in list_images(root)]
    assert len(found) == 1 and found[0].endswith("a view.png")
    assert read_image(root / found[0]).shape == (120, 160, 3)


def test_read_image_names_the_file_and_the_reason(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(PlaceRecognitionError, match=r"empty\.jpg: empty file"):
        read_image(path)


def _awkward_gallery(root):
    """Readable images of every awkward kind, interleaved with unreadable files."""
    (root / "b place").mkdir(parents=True)
    (root / "b place" / "00 empty.jpg").write_bytes(b"")
    (root / "b place" / "01 grey.png").write_bytes(
        _png(cv2.cvtColor(scene(11), cv2.COLOR_BGR2GRAY))
    )
    whole = _jpeg(scene(12))
    (root / "b place" / "02 cut.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "b place" / "03 rotated.jpg").write_bytes(_jpeg(scene(13), orientation=8))
    (root / "b place" / "04 text.png").write_text("not an image")
    (root / "b place" / "05 png named jpg.jpg").write_bytes(_png(scene(14)))
    deep = scene(15).astype(np.uint16) * 257
    (root / "b place" / "06 deep.png").write_bytes(_png(deep))
    alpha = np.dstack([scene(16), np.full((120, 160), 128, np.uint8)])
    (root / "ç place").mkdir()
    (root / "ç place" / "07 alpha.png").write_bytes(_png(alpha))
    return {
        "b place/01 grey.png",
        "b place/03 rotated.jpg",
        "b place/05 png named jpg.jpg",
        "b place/06 deep.png",
        "ç place/07 alpha.png",
    }


def test_awkward_gallery_indexes_the_readable_and_lists_the_rest(tiny_ir, tmp_path):
    root = tmp_path / "gallery"
    readable = _awkward_gallery(root)
    model = EmbeddingModel(tiny_ir, precision=F32)
    update = update_index(model, root)
    index = PlaceIndex.load(update.directory)
    assert {record.path for record in index.records} == readable
    reasons = dict(update.failed)
    assert reasons == {
        "b place/00 empty.jpg": "empty file",
        "b place/02 cut.jpg": "truncated JPEG",
        "b place/04 text.png": "not a readable image",
    }
    skipped = {entry["path"]: entry["reason"] for entry in read_manifest(update.directory).skipped}
    assert skipped == reasons
    # Alignment: each vector is its own image's embedding, whatever failed before it.
    for row, record in enumerate(index.records):
        expected = model.embed(read_image(root / record.path))
        assert np.dot(index.vectors()[row], expected) > 0.9999

    again = update_index(model, root)  # failures are remembered, not re-read or re-saved
    assert not again.saved and again.embedded == 0 and dict(again.failed) == reasons
    (root / "b place" / "00 empty.jpg").write_bytes(_jpeg(scene(17)))  # fixed by the user
    fixed = update_index(model, root)
    assert fixed.saved and fixed.embedded == 1 and "b place/00 empty.jpg" not in dict(fixed.failed)
