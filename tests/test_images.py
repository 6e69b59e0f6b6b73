"""Walking a gallery folder, labels, places.csv."""

from __future__ import annotations

import cv2
import pytest

from place_recognition.core.images import (
    list_images,
    read_image,
)
from place_recognition.errors import PlaceRecognitionError
from place_recognition.indexing.listing import (
    default_label,
)
from place_recognition.indexing.places_csv import (
    read_places,
)

from conftest import scene


def test_walk_is_recursive_sorted_and_case_insensitive(tmp_path):
    names = ["b/x.JPG", "a/y.jpeg", "a/z.PNG", "c.bmp", "d.webp", "e.TIF", "f.tiff", "a/b/g.Jpg"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".place_index" / "k").mkdir(parents=True)
    (tmp_path / ".place_index" / "k" / "thumb.jpg").write_bytes(b"x")
    (tmp_path / ".hidden.jpg").write_bytes(b"x")
    found = [image.relpath for image in list_images(tmp_path)]
    assert found == sorted(names)


def test_missing_gallery_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="gallery folder not found"):
        list_images(tmp_path / "nope")


def test_label_is_the_subfolder_path_or_the_stem():
    assert default_label("street/corner/1.jpg") == "street/corner"
    assert default_label("townhall.png") == "townhall"


def test_places_csv_gives_labels_and_coordinates(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "places.csv").write_text("file,label,lat,lon\nroot.jpg,Town Hall,48.1,11.5\n")
    (tmp_path / "a" / "places.csv").write_text("file,lat,lon\n1.jpg,48.2,11.6\n2.jpg,,\n")
    places = read_places(tmp_path, {"root.jpg", "a/1.jpg", "a/2.jpg"})
    assert places["root.jpg"].label == "Town Hall" and places["root.jpg"].lat == 48.1
    assert places["a/1.jpg"].label is None and places["a/1.jpg"].lon == 11.6
    assert places["a/2.jpg"].lat is None


def test_bad_places_csv_names_file_and_line(tmp_path):
    (tmp_path / "places.csv").write_text("file,lat,lon\nx.jpg,north,11\n")
    with pytest.raises(PlaceRecognitionError, match=r"places.csv, line 2: lat 'north'"):
        read_places(tmp_path, {"x.jpg"})
    (tmp_path / "places.csv").write_text("name,lat\nx.jpg,1\n")
    with pytest.raises(PlaceRecognitionError, match="'file' column"):
        read_places(tmp_path, {"x.jpg"})


def test_read_image_errors_name_the_file(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(PlaceRecognitionError, match="broken.jpg"):
        read_image(broken)
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        read_image(tmp_path / "missing.jpg")
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), scene(0))
    assert read_image(good).shape == (120, 160, 3)
