"""Which gallery images lie on a route, and where (indexing/routes.py)."""

from __future__ import annotations

from place_recognition.indexing.routes import (
    ROOT_ROUTE,
    RouteMode,
    assign_routes,
    frame_label,
    natural_key,
)


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
