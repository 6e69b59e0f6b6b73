"""Building and incrementally updating a gallery index, end to end through OpenVINO."""

from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pytest

from place_recognition.core.model import EmbeddingModel
from place_recognition.index.manifest import read_manifest, update_manifest
from place_recognition.index.place_index import PlaceIndex, default_index_dir
from place_recognition.indexing.journal import ResumeJournal
from place_recognition.indexing.listing import list_gallery
from place_recognition.indexing.update import UpdateOptions, update_index
from place_recognition.recognition.recognizer import PlaceRecognizer

from conftest import F32


@pytest.fixture(scope="module")
def model(tiny_ir):
    return EmbeddingModel(tiny_ir, precision=F32)


def test_every_gallery_image_finds_itself_first(model, image_dir):
    update = update_index(model, image_dir)
    assert update.saved and update.embedded == 7 and not update.failed
    assert update.directory == default_index_dir(image_dir, model.fingerprint)
    recognizer = PlaceRecognizer.open(model, image_dir)
    for record in recognizer.index.records:
        best = recognizer.match(cv2.imread(str(image_dir / record.path)), k=3)[0]
        assert best.record.path == record.path
        assert best.score == pytest.approx(1.0, abs=1e-4)
    labels = {record.label for record in recognizer.index.records}
    assert labels == {"place0", "place1", "place2", "lonely"}


def test_second_run_embeds_nothing(model, image_dir):
    first = update_index(model, image_dir)
    second = update_index(model, image_dir)
    assert (second.embedded, second.reused, second.removed, second.saved) == (0, 0, 0, False)
    assert second.index.generation == first.index.generation


def test_rewritten_pixels_same_name_and_size_reembed_exactly_that_image(model, image_dir):
    first = update_index(model, image_dir)
    target = image_dir / "lonely.bmp"  # BMP: the file size depends only on the image shape
    size_before = target.stat().st_size
    row = [record.path for record in first.index.records].index("lonely.bmp")
    image = cv2.imread(str(target))
    image[:60, :80] = 255 - image[:60, :80]
    cv2.imwrite(str(target), image)
    assert target.stat().st_size == size_before
    update = update_index(model, image_dir)
    assert (update.embedded, update.reused, update.removed) == (1, 0, 0)
    index = PlaceIndex.load(update.directory)
    assert index.records[row].path == "lonely.bmp"
    assert index.records[row].sha256 != first.index.records[row].sha256
    assert not np.allclose(index.vectors()[row], first.index.vectors()[row], atol=1e-4)
    np.testing.assert_allclose(index.vectors()[row], model.embed(image), atol=1e-5)


def test_renaming_reembeds_nothing(model, image_dir):
    update_index(model, image_dir)
    (image_dir / "place2").rename(image_dir / "renamed")
    update = update_index(model, image_dir)
    assert (update.embedded, update.reused, update.removed) == (0, 2, 2)
    labels = [record.label for record in update.index.records]
    assert labels.count("renamed") == 2 and "place2" not in labels


def test_deleted_files_are_dropped(model, image_dir):
    update_index(model, image_dir)
    shutil.rmtree(image_dir / "place0")
    update = update_index(model, image_dir)
    assert (update.embedded, update.removed, len(update.index)) == (0, 2, 5)


def test_undecodable_file_is_reported_and_vectors_stay_aligned(model, image_dir):
    (image_dir / "place0" / "aaa_broken.jpg").write_bytes(b"\xff\xd8 truncated jpeg")
    (image_dir / "place0" / "empty.png").write_bytes(b"")
    update = update_index(model, image_dir)
    assert sorted(path for path, _ in update.failed) == [
        "place0/aaa_broken.jpg",
        "place0/empty.png",
    ]
    assert len(update.index) == 7
    vectors = update.index.vectors()
    for row, record in enumerate(update.index.records):  # the OMZ demo misaligns here
        direct = model.embed(cv2.imread(str(image_dir / record.path)))
        np.testing.assert_allclose(vectors[row], direct, atol=1e-5)


def test_places_csv_labels_without_reembedding(model, image_dir):
    update_index(model, image_dir)
    (image_dir / "place1" / "places.csv").write_text(
        "file,label,lat,lon\nv0.png,Old Bridge,47.5,8.5\n"
    )
    update = update_index(model, image_dir)
    assert update.embedded == 0 and update.saved
    record = next(r for r in update.index.records if r.path == "place1/v0.png")
    assert (record.label, record.lat, record.lon) == ("Old Bridge", 47.5, 8.5)


def test_custom_index_folder_and_gallery_size(model, image_dir, tmp_path):
    update = update_index(model, image_dir, tmp_path / "idx", UpdateOptions(max_images=3))
    assert update.directory == tmp_path / "idx" and len(update.index) == 3
    assert [r.path for r in update.index.records] == [
        "lonely.bmp",
        "place0/v0.png",
        "place0/v1.JPG",
    ]


def test_index_of_another_model_is_refused(model, image_dir, tmp_path):
    from place_recognition.errors import IndexMismatchError
    from place_recognition.nets.synthetic import write_synthetic_model

    update_index(model, image_dir, index_dir=tmp_path / "idx")
    other = EmbeddingModel(write_synthetic_model(tmp_path / "o.xml", width=16, seed=9))
    with pytest.raises(IndexMismatchError, match=model.fingerprint.key):
        update_index(other, image_dir, index_dir=tmp_path / "idx")
    assert (
        update_index(other, image_dir, tmp_path / "idx", UpdateOptions(rebuild=True)).embedded == 7
    )


def test_touch_without_change_reuses_the_vector(model, image_dir):
    update_index(model, image_dir)
    target = image_dir / "lonely.bmp"
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    update = update_index(model, image_dir)
    assert (update.embedded, update.reused, update.saved) == (0, 1, True)  # new mtime recorded
    assert update_index(model, image_dir).reused == 0  # and the next run skips it by stat


def test_rehash_checks_every_file(model, image_dir):
    update_index(model, image_dir)
    update = update_index(model, image_dir, options=UpdateOptions(rehash=True))
    assert (update.embedded, update.reused, update.saved) == (0, 7, False)


def test_an_index_without_its_listing_gets_it_recorded_for_the_next_fast_start(model, image_dir):
    first = update_index(model, image_dir)
    update_manifest(first.directory, listing=None)  # as written before listings were recorded
    second = update_index(model, image_dir)
    assert not second.saved and second.embedded == 0
    digest = list_gallery(image_dir).digest
    assert read_manifest(first.directory).listing == digest
    assert update_index(model, image_dir).index.listing == digest


def test_unchanged_listing_loads_the_index_as_saved_and_edits_are_still_seen(model, image_dir):
    first = update_index(model, image_dir)
    manifest = read_manifest(first.directory)
    assert manifest.listing == list_gallery(image_dir).digest
    warm = update_index(model, image_dir)  # the fast path: same listing
    assert not warm.saved and warm.embedded == warm.reused == warm.removed == 0
    assert warm.index.records == first.index.records
    np.testing.assert_array_equal(warm.index.vectors(), first.index.vectors())
    query = first.index.vectors()[3]
    assert warm.index.search(query, 1)[0][0].id == 3
    # A places.csv edit changes labels without touching any image: it must not be missed.
    (image_dir / "place1" / "places.csv").write_text("file,label\nv0.png,Old Bridge\n")
    edited = update_index(model, image_dir)
    assert edited.saved and edited.embedded == 0
    assert "Old Bridge" in {record.label for record in edited.index.records}


def test_a_journal_left_by_a_run_killed_after_its_commit_is_removed_by_the_next_run(
    tiny_ir, image_dir
):
    # Killed between the commit and deleting the journal: the next run finds the gallery
    # unchanged (its fast path) and must not leave the spent journal behind.
    model = EmbeddingModel(tiny_ir)
    update = update_index(model, image_dir)
    journal = ResumeJournal(update.directory, model.fingerprint.sha256, model.dim)
    journal.append(update.index.records[0].sha256, update.index.vectors()[0])
    journal.close()
    assert journal.path.is_file()
    again = update_index(model, image_dir)
    assert not again.saved and not journal.path.exists()
