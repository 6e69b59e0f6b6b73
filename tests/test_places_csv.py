"""places.csv anywhere in the gallery tree: entries by relative path, the nearer file winning,
entries naming no image reported, and re-indexing that says what changed."""

from __future__ import annotations

import json
import logging

from place_recognition.cli import build_index, search
from place_recognition.indexing.places_csv import read_places
from place_recognition.scenes.street import write_sample_gallery

IMAGES = {"top.jpg", "street/1.jpg", "street/2.jpg", "street/corner/3.jpg", "park/4.jpg"}


def make(root, images=IMAGES):
    for relpath in images:
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_bytes(b"x")  # read_places looks at names, not pixels
    return set(images)


def test_a_root_places_csv_names_files_in_subfolders(tmp_path):
    images = make(tmp_path)
    (tmp_path / "places.csv").write_text(
        "file,label,lat,lon\n"
        "top.jpg,Top,1,2\n"
        "street/1.jpg,Main Street,3,4\n"
        "./street/corner/3.jpg,Corner,5,6\n"
        "street\\2.jpg,,7,8\n"  # written on Windows
    )
    places = read_places(tmp_path, images)
    assert places["street/1.jpg"].label == "Main Street" and places["street/1.jpg"].lat == 3
    assert places["street/corner/3.jpg"].label == "Corner"
    assert places["street/2.jpg"].label is None and places["street/2.jpg"].lon == 8
    assert "park/4.jpg" not in places and places["top.jpg"].lat == 1


def test_the_nearer_places_csv_wins(tmp_path):
    images = make(tmp_path)
    (tmp_path / "places.csv").write_text(
        "file,label,lat,lon\nstreet/1.jpg,Far,1,1\nstreet/corner/3.jpg,Far,1,1\n"
    )
    (tmp_path / "street" / "places.csv").write_text("file,label\ncorner/3.jpg,Street\n")
    (tmp_path / "street" / "corner" / "places.csv").write_text("file,lat\n3.jpg,9\n")
    places = read_places(tmp_path, images)
    assert (places["street/1.jpg"].label, places["street/1.jpg"].lat) == ("Far", 1)
    # The corner's own file gives the whole row: its label is not merged from the others.
    assert (places["street/corner/3.jpg"].label, places["street/corner/3.jpg"].lat) == (None, 9)


def test_entries_naming_no_image_are_reported_with_file_and_line(tmp_path, caplog):
    images = make(tmp_path)
    (tmp_path / "street" / "places.csv").write_text(
        "file,label\n1.jpg,Ok\nmissing.jpg,Nope\n../park/4.jpg,Outside\n,Empty\n"
    )
    (tmp_path / "left_out.jpg").write_bytes(b"x")  # exists but not indexed (--gallery-size)
    (tmp_path / "places.csv").write_text("file,label\nleft_out.jpg,Later\n")
    with caplog.at_level(logging.WARNING):
        places = read_places(tmp_path, images)
    assert set(places) == {"street/1.jpg"}
    csv = tmp_path / "street" / "places.csv"
    assert [r.getMessage() for r in caplog.records] == [
        f"{csv}, line 3: missing.jpg is not an image of the gallery; the entry is ignored",
        f"{csv}, line 4: ../park/4.jpg is not inside {csv.parent}; the entry is ignored",
        f"{csv}, line 5: the file column is empty; the entry is ignored",
    ]


def test_root_places_csv_end_to_end_and_relabelling_says_so(tiny_ir, tmp_path, capsys):
    gallery = tmp_path / "gallery"
    write_sample_gallery(gallery, places=2, views=2)
    for csv in gallery.glob("*/places.csv"):
        csv.unlink()  # the generated per-place files; the root's gives coordinates here
    root_csv = gallery / "places.csv"
    root_csv.write_text("file,lat,lon\nplace_01/view_0.jpg,10.5,20.5\n")
    argv = ["-m", str(tiny_ir), "-gf", str(gallery), "-q"]
    assert build_index.main(argv) == 0
    assert "4 embedded" in capsys.readouterr().out
    query = ["-i", str(gallery / "place_01" / "view_0.jpg"), "--json", "-k", "1"]
    assert search.main([*argv, *query]) == 0
    match = json.loads(capsys.readouterr().out)["matches"][0]
    assert (match["path"], match["lat"], match["lon"]) == ("place_01/view_0.jpg", 10.5, 20.5)

    root_csv.write_text("file,label,lat,lon\nplace_01/view_0.jpg,Fountain,10.5,20.5\n"
                        "place_00/view_1.jpg,,30,40\n")  # fmt: skip
    assert build_index.main(argv) == 0
    summary = capsys.readouterr().out
    assert "(0 embedded, 0 reused, 0 removed, 0 failed, 2 with new labels or coordinates" in summary
    assert "index saved" in summary
    assert search.main([*argv, *query]) == 0
    assert json.loads(capsys.readouterr().out)["matches"][0]["label"] == "Fountain"
