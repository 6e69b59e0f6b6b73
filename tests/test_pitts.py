"""Pittsburgh-format data: the dbStruct .mat, UTM file names, the readers and the fixture."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from place_recognition.errors import PlaceRecognitionError
from place_recognition.eval.datasets import read_dataset, read_pitts_split, read_utm_folder
from place_recognition.eval.pitts import (
    PittsSplit,
    positives_within,
    read_pitts_mat,
    route_positions,
    utm_from_name,
    write_pitts_mat,
)

from conftest import scene


def _split() -> PittsSplit:
    return PittsSplit(
        ["000/a.jpg", "000/b.jpg", "001/c.jpg"],
        np.array([[585000.0, 4477000.0], [585010.0, 4477000.0], [585050.5, 4477000.0]]),
        ["000/q1.jpg", "000/q2.jpg"],
        np.array([[585000.0, 4477020.0], [585050.5, 4477025.0]]),
    )


def test_mat_round_trip(tmp_path):
    path = tmp_path / "datasets" / "x.mat"
    write_pitts_mat(path, _split())
    back = read_pitts_mat(path)
    assert back.db_images == _split().db_images and back.q_images == _split().q_images
    np.testing.assert_array_equal(back.utm_db, _split().utm_db)
    np.testing.assert_array_equal(back.utm_q, _split().utm_q)
    assert path.read_bytes()[124:128] in (b"\x00\x01IM", b"\x01\x00MI")  # MAT level 5


def test_single_image_split_and_bad_files(tmp_path):
    one = PittsSplit(["a.jpg"], np.array([[1.0, 2.0]]), ["q.jpg"], np.array([[1.0, 3.0]]))
    write_pitts_mat(tmp_path / "one.mat", one)
    assert read_pitts_mat(tmp_path / "one.mat").db_images == ["a.jpg"]
    from scipy.io import savemat

    savemat(tmp_path / "other.mat", {"something": np.ones(3)})
    with pytest.raises(PlaceRecognitionError, match="dbStruct"):
        read_pitts_mat(tmp_path / "other.mat")
    with pytest.raises(FileNotFoundError, match=r"missing\.mat"):
        read_pitts_mat(tmp_path / "missing.mat")


def test_positives_are_strictly_within_25_m():
    split = _split()
    positives = positives_within(split.utm_q, split.utm_db, 25.0)
    assert positives[0].tolist() == [0, 1]  # 20 m and 22.4 m
    assert positives[1].tolist() == []  # exactly 25 m is not within
    assert np.linalg.norm(split.utm_q[1] - split.utm_db[2]) == 25.0


def test_utm_from_file_names():
    assert utm_from_name("@0585000.12@4477000.34@17@T@40.44@-79.99@.jpg") == (585000.12, 4477000.34)
    assert utm_from_name("queries/@585001@4477002@x.png") == (585001.0, 4477002.0)
    assert utm_from_name("plain.jpg") is None


def _write_split_tree(root, split):
    for name in split.db_images:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / name), scene(len(name)))
    for name in split.q_images:
        (root / "queries_real" / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "queries_real" / name), scene(len(name) + 1))
    write_pitts_mat(root / "datasets" / "pitts30k_val.mat", split)


def test_read_pitts_split_with_its_images(tmp_path):
    root = tmp_path / "pitts250k"
    _write_split_tree(root, _split())
    dataset = read_dataset(root / "datasets" / "pitts30k_val.mat")
    assert dataset.root == root and dataset.name == "pitts30k_val"
    assert dataset.queries == ["queries_real/000/q1.jpg", "queries_real/000/q2.jpg"]
    assert [p.tolist() for p in dataset.positives] == [[0, 1], []]
    assert dataset.has_utm and dataset.utm_queries.shape == (2, 2)
    (root / "001" / "c.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of the 5 images .*/001/c\.jpg"):
        read_pitts_split(root / "datasets" / "pitts30k_val.mat")


def test_read_utm_folder(tmp_path):
    for folder, names in {
        "database": ["@585000@4477000@a.jpg", "@585030@4477000@b.jpg"],
        "queries": ["@585005@4477000@q.jpg"],
    }.items():
        (tmp_path / folder).mkdir()
        for name in names:
            cv2.imwrite(str(tmp_path / folder / name), scene(1))
    dataset = read_utm_folder(tmp_path)
    assert [p.tolist() for p in dataset.positives] == [[0]]
    assert read_dataset(tmp_path).database == dataset.database
    cv2.imwrite(str(tmp_path / "queries" / "no_position.jpg"), scene(2))
    with pytest.raises(PlaceRecognitionError, match="no_position.jpg: no @east@north@"):
        read_utm_folder(tmp_path)


def test_read_dataset_says_what_it_expects(tmp_path):
    with pytest.raises(PlaceRecognitionError, match="is not a labelled set"):
        read_dataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="dataset not found"):
        read_dataset(tmp_path / "nope")


def test_route_positions_are_10_m_apart():
    route = route_positions(4)
    assert np.allclose(np.diff(route[:, 0]), 10.0) and np.all(route[:, 1] == route[0, 1])
