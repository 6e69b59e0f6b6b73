"""Which gallery images lie on a route, and where (indexing/routes.py)."""

from __future__ import annotations

import cv2
import pytest

from place_recognition.core.model import EmbeddingModel
from place_recognition.indexing.routes import (
    ROOT_ROUTE,
    RouteMode,
    assign_routes,
    frame_label,
    natural_key,
)
from place_recognition.indexing.update import UpdateOptions, update_index

from conftest import F32, scene


def test_natural_order_compares_numbers_by_value():
    names = ["f10.jpg", "f2.jpg", "F1.jpg", "f1b.jpg", "g.jpg", "f02.png"]
    assert sorted(names, key=natural_key) == [
        "F1.jpg",
        "f1b.jpg",
        "f2.jpg",
        "f02.png",
        "f10.jpg",
        "g.jpg",
    ]


def test_root_images_form_one_route_and_subfolders_are_places():
    paths = ["frame10.jpg", "frame9.jpg", "bridge/a.jpg", "bridge/b.jpg"]
    spots = assign_routes(paths)
    assert spots == {"frame9.jpg": (ROOT_ROUTE, 0), "frame10.jpg": (ROOT_ROUTE, 1)}


def test_an_inserted_image_shifts_the_positions_after_it():
    before = assign_routes(["f1.jpg", "f3.jpg", "f4.jpg"])
    after = assign_routes(["f1.jpg", "f2.jpg", "f3.jpg", "f4.jpg"])
    assert before["f3.jpg"] == (ROOT_ROUTE, 1) and after["f3.jpg"] == (ROOT_ROUTE, 2)
    assert after["f4.jpg"] == (ROOT_ROUTE, 3)


def test_folders_mode_makes_each_subfolder_a_route_unless_it_is_one_labelled_place():
    paths = ["a/2.jpg", "a/10.jpg", "a/1.jpg", "b/x.jpg", "b/y.jpg", "place/1.jpg", "place/2.jpg"]
    labels = {"place/1.jpg": "Old Bridge", "place/2.jpg": "Old Bridge", "b/x.jpg": "X"}
    spots = assign_routes(paths, RouteMode.FOLDERS, labels=labels)
    assert [spots[p] for p in ["a/1.jpg", "a/2.jpg", "a/10.jpg"]] == [("a", 0), ("a", 1), ("a", 2)]
    assert spots["b/x.jpg"] == ("b", 0) and spots["b/y.jpg"] == ("b", 1)  # labels differ
    assert "place/1.jpg" not in spots and "place/2.jpg" not in spots
    assert frame_label("a/10.jpg") == "a/10" and frame_label("top.png") == "top"


def test_places_csv_routes_override_folders_and_order_by_index():
    paths = ["x/p.jpg", "y/q.jpg", "z/r.jpg", "root1.jpg"]
    explicit = {"x/p.jpg": ("north", 3.0), "y/q.jpg": ("north", 1.0), "z/r.jpg": ("north", None)}
    spots = assign_routes(paths, explicit=explicit)
    assert spots["y/q.jpg"] == ("north", 0)
    assert spots["x/p.jpg"] == ("north", 1)
    assert spots["z/r.jpg"] == ("north", 2)  # no index: after the indexed ones
    assert spots["root1.jpg"] == (ROOT_ROUTE, 0)


# --- through the index: records carry route and position ---------------------------------------


@pytest.fixture(scope="module")
def model(tiny_ir):
    return EmbeddingModel(tiny_ir, precision=F32)


def _gallery(root, names):
    for i, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / name), scene(i))
    return root


def _spots(index):
    return {r.path: (r.route, r.position, r.label) for r in index.records}


def test_root_images_become_a_route_in_the_index_and_an_insert_shifts_positions(model, tmp_path):
    gallery = _gallery(tmp_path / "g", ["f1.png", "f3.png", "f10.png", "bridge/a.png"])
    spots = _spots(update_index(model, gallery).index)
    assert spots["f1.png"] == (".", 0, "f1") and spots["f10.png"] == (".", 2, "f10")
    assert spots["bridge/a.png"] == (None, None, "bridge")
    cv2.imwrite(str(gallery / "f2.png"), scene(50))
    update = update_index(model, gallery)
    assert update.embedded == 1  # only the new image
    spots = _spots(update.index)
    assert [spots[f"f{i}.png"][1] for i in (1, 2, 3, 10)] == [0, 1, 2, 3]


def test_routes_folders_makes_subfolders_routes_of_frames_and_is_remembered(model, tmp_path):
    names = ["drive/1.png", "drive/2.png", "drive/10.png", "statue/a.png", "statue/b.png"]
    gallery = _gallery(tmp_path / "g", names)
    (gallery / "statue" / "places.csv").write_text("file,label\na.png,Statue\nb.png,Statue\n")
    update = update_index(model, gallery, options=UpdateOptions(routes=RouteMode.FOLDERS))
    spots = _spots(update.index)
    assert spots["drive/10.png"] == ("drive", 2, "drive/10")
    assert spots["statue/a.png"] == (None, None, "Statue")  # one labelled place, not a route
    again = update_index(model, gallery)  # without the option: the index keeps its mode
    assert not again.saved and again.index.routes == "folders"
    back = update_index(model, gallery, options=UpdateOptions(routes=RouteMode.ROOT))
    assert back.saved and back.embedded == 0 and _spots(back.index)["drive/1.png"][0] is None


def test_places_csv_routes_and_index_columns(model, tmp_path):
    gallery = _gallery(tmp_path / "g", ["a/x.png", "b/y.png", "b/z.png"])
    (gallery / "a" / "places.csv").write_text("file,route,index\nx.png,coast,2\n")
    (gallery / "b" / "places.csv").write_text("file,route,index\ny.png,coast,1\nz.png,coast,3\n")
    spots = _spots(update_index(model, gallery).index)
    assert spots["b/y.png"][:2] == ("coast", 0)
    assert spots["a/x.png"][:2] == ("coast", 1)
    assert spots["b/z.png"][:2] == ("coast", 2)
    (gallery / "a" / "places.csv").write_text("file,route,index\nx.png,coast,9\n")
    update = update_index(model, gallery)
    assert update.saved and update.embedded == 0 and _spots(update.index)["a/x.png"][1] == 2
