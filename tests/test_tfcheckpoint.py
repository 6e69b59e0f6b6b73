"""Reading a TF checkpoint without TensorFlow; the NumPy oracle reproduces the TF goldens."""

from __future__ import annotations

import json

import numpy as np
import pytest

from place_recognition.convert.tf_checkpoint import Checkpoint, CheckpointError
from place_recognition.nets.netvlad_tf import weight_shapes

from netvlad_fixture import FIXTURE, PREFIX, copy_checkpoint, goldens
from netvlad_reference import netvlad_forward


def test_variables_have_the_netvlad_names_and_shapes():
    checkpoint = Checkpoint(PREFIX)
    width = json.loads((FIXTURE / "golden.json").read_text())["width_divisor"]
    assert {name: e.shape for name, e in checkpoint.entries.items()} == weight_shapes(width)
    assert {e.dtype for e in checkpoint.entries.values()} == {np.float32}
    assert checkpoint.num_shards == 1


def test_numpy_oracle_with_the_checkpoint_variables_reproduces_tensorflow():
    """The goldens come from TensorFlow, not OpenVINO: an independent float64 re-implementation
    fed the variables read here must agree with them."""
    weights = Checkpoint(PREFIX).read_all()
    assert (weights["vgg16_netvlad_pca/cluster_centers"] < 0).all()  # stored negated
    for rgb, expected in goldens():
        got = netvlad_forward(rgb[None].astype(np.float32), weights)[0]
        assert np.abs(got - expected).max() < 1e-4


def test_missing_index_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.index not found"):
        Checkpoint(tmp_path / "nope")


def test_truncated_index_is_refused(tmp_path):
    prefix = copy_checkpoint(tmp_path)
    index = prefix.with_name(prefix.name + ".index")
    index.write_bytes(index.read_bytes()[:-20])
    with pytest.raises(CheckpointError, match="not a TensorFlow checkpoint index"):
        Checkpoint(prefix)
