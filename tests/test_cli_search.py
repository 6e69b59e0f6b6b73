"""search end to end on the tiny IR: folder input, the known/unknown verdict, the shared layout."""

from __future__ import annotations

import json
import shutil

import cv2
import pytest

from place_recognition.cli import build_index, search
from place_recognition.index.place_index import INDEX_DIRNAME
from place_recognition.recognition.calibration import store_threshold_in_index
from place_recognition.scenes.street import (
    place_coordinates,
    render_place,
    render_view,
    write_sample_gallery,
)


@pytest.fixture
def indexed(tiny_ir, tmp_path):
    """A sample gallery (3 places x 2 views) indexed with the tiny IR, and the search argv."""
    gallery = tmp_path / "gallery"
    write_sample_gallery(gallery, places=3, views=2)
    argv = ["-m", str(tiny_ir), "-gf", str(gallery), "--precision", "f32", "-q"]
    assert build_index.main(argv) == 0
    return gallery, argv


def json_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_folder_is_searched_recursively_in_path_order(indexed, tmp_path, capsys, caplog):
    gallery, argv = indexed
    queries = tmp_path / "queries"
    shutil.copytree(gallery / "place_02", queries / "b")
    shutil.copytree(gallery / "place_00", queries / "a" / "deeper")
    (queries / "notes.txt").write_text("not an image")
    (queries / "a" / "broken.jpg").write_bytes(b"not a jpeg")
    single = gallery / "place_01" / "view_0.jpg"
    assert search.main([*argv, "-i", str(queries), str(single), "--json", "-k", "2"]) == 0
    lines = json_lines(capsys)
    names = [line["query"] for line in lines]
    found = ["a/deeper/view_0.jpg", "a/deeper/view_1.jpg", "b/view_0.jpg", "b/view_1.jpg"]
    assert names == [str(queries / name) for name in found] + [str(single)]
    best = [line["matches"][0]["label"] for line in lines]
    assert best == ["place_00", "place_00", "place_02", "place_02", "place_01"]  # themselves
    assert all(len({match["label"] for match in line["matches"]}) == 2 for line in lines)
    assert f"skipping {queries / 'a' / 'broken.jpg'}: not a readable image" in caplog.text


def test_the_verdict_uses_the_calibrated_threshold_unless_given(indexed, tmp_path, capsys):
    gallery, argv = indexed
    view = tmp_path / "new_view.jpg"  # a view not in the gallery: its best score is below 1
    cv2.imwrite(str(view), render_view(render_place(1), seed=999))
    query = ["-i", str(view), "--json"]
    assert search.main([*argv, *query]) == 0
    (uncalibrated,) = json_lines(capsys)
    best = uncalibrated["matches"][0]
    assert uncalibrated["threshold"] == 0.0 and best["score"] < 0.9999
    assert uncalibrated["known"] == (best["score"] >= 0)
    store_threshold_in_index(next((gallery / INDEX_DIRNAME).iterdir()), 0.9999)
    assert search.main([*argv, *query]) == 0
    (calibrated,) = json_lines(capsys)
    assert calibrated["threshold"] == 0.9999 and not calibrated["known"]
    assert calibrated["label"] is None and calibrated["matches"] == uncalibrated["matches"]
    assert search.main([*argv, *query, "--threshold", "-1"]) == 0
    (given,) = json_lines(capsys)
    assert given["threshold"] == -1.0 and given["known"] and given["label"] == best["label"]


def test_text_output_has_the_verdict_and_the_quick_start_columns(indexed, capsys):
    gallery, argv = indexed
    query = gallery / "place_01" / "view_0.jpg"
    assert search.main([*argv, "-i", str(query), "-k", "3", "--threshold", "0.5"]) == 0
    verdict, header, *rows = capsys.readouterr().out.splitlines()
    assert verdict.startswith(f"{query}: place_01 (score ") and "threshold 0.5000" in verdict
    assert header.split() == ["rank", "label", "score", "lat", "lon", "path"]
    assert [row.split()[0] for row in rows] == ["1", "2", "3"]
    _, label, score, lat, lon, path = rows[0].split()
    assert (label, path) == ("place_01", "place_01/view_0.jpg") and float(score) > 0.99
    assert (float(lat), float(lon)) == place_coordinates(1)  # from the gallery's places.csv


def test_a_folder_without_images_is_one_line(indexed, tmp_path, capsys):
    _, argv = indexed
    (tmp_path / "empty").mkdir()
    assert search.main([*argv, "-i", str(tmp_path / "empty")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "the folder holds no images" in line and str(tmp_path / "empty") in line
