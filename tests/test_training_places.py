"""Training data without torch: positions, the route split, tuple candidates, CLI option errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from place_recognition.cli import train_netvlad as train
from place_recognition.errors import PlaceRecognitionError, Remedy
from place_recognition.training.data import build_sets, validation_positives
from place_recognition.training.places import (
    Positions,
    positions_from_names,
    read_positions_csv,
    split_route,
    within,
)

from conftest import ROOT


def test_positions_from_names_take_the_last_number():
    got = positions_from_names(["ref/images-00180.png", "query/run2_frame-0042.5.jpg"])
    np.testing.assert_array_equal(got, [[180.0], [42.5]])
    with pytest.raises(PlaceRecognitionError, match="no number in the file name"):
        positions_from_names(["ref/nothing.png"])


def test_positions_csv_with_labels_and_a_missing_image(tmp_path):
    csv = tmp_path / "pos.csv"
    csv.write_text("file,x,y,label\nref/a.png,0,1,p1\nquery/b.png,3,4,p2\n./ref/c.png,5,6,p1\n")
    positions, labels = read_positions_csv(csv, ["ref/a.png", "ref/c.png", "query/b.png"])
    np.testing.assert_array_equal(positions, [[0, 1], [5, 6], [3, 4]])
    assert labels[0] == labels[1] != labels[2]
    with pytest.raises(PlaceRecognitionError, match=r"1 images have no position, e.g. 'ref/z.png'"):
        read_positions_csv(csv, ["ref/a.png", "ref/z.png"])


def _route(n: int, dims: int, seed: int) -> Positions:
    """A wiggly route of n steps; queries and database images at jittered route points."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64) * 10
    points = t[:, None] if dims == 1 else np.stack([t, 30 * np.sin(t / 200)], axis=1)
    return Positions(
        points + rng.normal(0, 2, points.shape), points + rng.normal(0, 2, points.shape)
    )


@pytest.mark.parametrize("dims", [1, 2])
def test_split_keeps_training_farther_than_the_gap_from_validation(dims):
    positions = _route(300, dims, seed=dims)
    split = split_route(positions, val_fraction=0.2, gap=100.0)
    assert abs(len(split.val_queries) - 60) <= 1
    train = np.concatenate(
        [positions.database[split.train_database], positions.queries[split.train_queries]]
    )
    val = np.concatenate(
        [positions.database[split.val_database], positions.queries[split.val_queries]]
    )
    gaps = np.linalg.norm(train[:, None] - val[None], axis=2)
    assert gaps.min() > 100.0
    # Validation is one contiguous segment: the last queries of the route, nothing else.
    assert np.array_equal(split.val_queries, np.arange(split.val_queries[0], 300))
    # Only the images in the gap are dropped: about 100 / 10 steps on each side of the cut.
    assert 300 - 60 - 15 <= len(split.train_queries) < 300 - 60
    assert not set(split.train_database) & set(split.val_database)


def test_split_refuses_a_gap_that_leaves_nothing():
    with pytest.raises(PlaceRecognitionError, match="lower the negative radius") as error:
        split_route(_route(20, 1, 0), val_fraction=0.2, gap=1000.0)
    assert error.value.remedy is Remedy.NEGATIVE_RADIUS


def test_within_is_strict():
    got = within(np.array([[0.0], [100.0]]), np.array([[-20.0], [0.0], [19.9], [20.0]]), 20.0)
    assert [list(g) for g in got] == [[1, 2], []]


def test_sets_follow_the_split_and_validation_positives_are_remapped():
    positions = _route(60, 1, seed=3)
    split = split_route(positions, 0.25, gap=30.0)
    features_q = np.arange(60, dtype=np.float32).reshape(60, 1, 1) * np.ones((1, 2, 3), np.float32)
    features_db = -features_q
    truth = [np.arange(max(0, i - 1), min(60, i + 2)) for i in range(60)]
    train, val = build_sets(features_q, features_db, positions, split, truth, 15.0, 30.0)
    np.testing.assert_array_equal(train.queries[:, 0, 0], split.train_queries)
    np.testing.assert_array_equal(val.database[:, 0, 0], -split.val_database)
    remapped = validation_positives(truth, split, 60)
    for q, rows in zip(split.val_queries, remapped, strict=True):
        assert set(split.val_database[rows]) == set(truth[q]) & set(split.val_database)
    for q, (pos, near) in enumerate(zip(train.positives, train.near, strict=True)):
        assert set(pos) <= set(near)
        distance = np.abs(
            positions.database[split.train_database] - positions.queries[split.train_queries[q]]
        )[:, 0]
        assert set(np.flatnonzero(distance < 15.0)) == set(pos)
    assert len(train.labels) == len(train.queries) + len(train.database)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pos-radius", "30", "--neg-radius", "20"], "--neg-radius 20 must be larger than"),
        (["--val-fraction", "1.5"], "--val-fraction 1.5: give a share below 1"),
    ],
)
def test_cli_refuses_bad_options_in_one_line(tmp_path, capsys, extra, message):
    code = train.main(["--dataset", str(tmp_path), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"train_netvlad: error: {message}")
    assert len(err.splitlines()) == 1


def test_the_runtime_never_imports_torch():
    """Every command but training loads without torch (it lives in .venv-train only)."""
    code = (
        "import sys, importlib, pkgutil, place_recognition.cli as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('place_recognition.cli.' + m.name)\n"
        "import place_recognition.training.places, place_recognition.training.features\n"
        "import place_recognition.training.ir_head, place_recognition.training.data\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
