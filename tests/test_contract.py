"""Models that are not place-recognition embeddings are refused, naming what was found."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from place_recognition.cli import build_index
from place_recognition.core.model import EmbeddingModel
from place_recognition.errors import ModelContractError

from models import save


def _pool(x: ov.Node) -> ov.Node:
    """(1, H, W, C) -> (1, C): global average over H and W."""
    return ops.reduce_mean(x, ops.constant(np.array([1, 2], np.int64)), keep_dims=False)


def _grey_input() -> ov.Model:
    image = ops.parameter([1, 64, 64, 1], np.float32, name="grey")
    return ov.Model([ops.result(_pool(image))], [image])


def _two_inputs() -> ov.Model:
    a = ops.parameter([1, 64, 64, 3], np.float32, name="a")
    b = ops.parameter([1, 64, 64, 3], np.float32, name="b")
    return ov.Model([ops.result(_pool(ops.add(a, b)))], [a, b])


def _two_outputs() -> ov.Model:
    image = ops.parameter([1, 64, 64, 3], np.float32, name="x")
    return ov.Model([ops.result(_pool(image)), ops.result(ops.relu(image))], [image])


def _dynamic_size() -> ov.Model:
    image = ops.parameter(ov.PartialShape([1, -1, -1, 3]), np.float32, name="x")
    return ov.Model([ops.result(_pool(image))], [image])


def _rank3_output() -> ov.Model:
    image = ops.parameter([1, 64, 64, 3], np.float32, name="x")
    tokens = ops.reshape(image, ops.constant(np.array([1, 4096, 3], np.int64)), False)
    return ov.Model([ops.result(tokens)], [image])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (_grey_input, r"cannot tell the layout of input \[1,64,64,1\]"),
        (_two_inputs, r"model has 2 inputs"),
        (_two_outputs, r"model has 2 outputs"),
        (_dynamic_size, r"dynamic size \[1,\?,\?,3\]"),
        (_rank3_output, r"output has shape \[1,4096,3\]"),
    ],
)
def test_refused_with_what_was_found(build, message, tmp_path):
    path = save(build(), tmp_path / "model.xml")
    with pytest.raises(ModelContractError, match=message):
        EmbeddingModel(path)


def test_the_command_line_says_it_in_one_line(tmp_path, capsys):
    path = save(_rank3_output(), tmp_path / "tokens.xml")
    assert build_index.main(["-m", str(path), "-gf", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[1,4096,3]" in err[0] and "expected [N, D]" in err[0]
