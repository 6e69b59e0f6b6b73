"""The in-graph preprocessing (PrePostProcessor) agrees with its NumPy/OpenCV twin."""

from __future__ import annotations

import numpy as np
import pytest

from place_recognition.core.model import EmbeddingModel
from place_recognition.core.preprocess import (
    InputSpec,
    as_bgr,
    input_spec,
    preprocess_reference,
)
from place_recognition.errors import ModelContractError

from conftest import F32, scene
from models import flatten_model, save

# Both sides resize float32 values bilinearly with half-pixel centres; they differ only in
# arithmetic order. Measured worst case on noise images: 0.012 (on the 0..255 scale).
TOLERANCE = 0.05

SIZES = [
    (120, 160),  # up-scaling (the corridor data set's size)
    (540, 960),  # down-scaling, wider aspect (gardens point)
    (201, 301),  # odd sizes, almost the input size
    (37, 53),  # tiny and odd
    (600, 200),  # portrait: aspect change
    (200, 300),  # exactly the input size
]


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_graph_matches_numpy_reference(tmp_path, layout, size):
    shape = [1, 200, 300, 3] if layout == "NHWC" else [1, 3, 200, 300]
    model = EmbeddingModel(save(flatten_model(shape), tmp_path / "flat.xml"), precision=F32)
    rng = np.random.default_rng(size[0])
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)  # noise: the hardest case
    reference = preprocess_reference(image, model.input)
    assert reference.shape == tuple(shape)
    embedded = model.embed(image)
    assert np.abs(embedded - reference.ravel()).max() < TOLERANCE


def test_channel_order_is_kept(tmp_path):
    """The preprocessing must not swap channels: the IR gets BGR, as the OMZ interface says."""
    model = EmbeddingModel(save(flatten_model([1, 20, 30, 3]), tmp_path / "f.xml"), precision=F32)
    image = np.zeros((20, 30, 3), np.uint8)
    image[..., 0] = 200  # blue only
    out = model.embed(image).reshape(20, 30, 3)
    assert out[..., 0].min() == pytest.approx(200) and out[..., 2].max() == 0


def test_layout_read_from_shape():
    nchw = input_spec(flatten_model([1, 3, 64, 96], "x"))
    assert nchw == InputSpec("x", "NCHW", 64, 96)
    nhwc = input_spec(flatten_model([1, 64, 96, 3], "y"))
    assert nhwc == InputSpec("y", "NHWC", 64, 96)


def test_ambiguous_or_non_image_input_refused():
    with pytest.raises(ModelContractError, match="layout"):
        input_spec(flatten_model([1, 3, 5, 3]))
    with pytest.raises(ModelContractError, match="rank-4"):
        input_spec(flatten_model([1, 300]))


def test_grey_and_bgra_frames_become_bgr():
    grey = scene(1)[..., 0]
    assert as_bgr(grey).shape == (*grey.shape, 3)
    bgra = np.dstack([scene(1), np.full(grey.shape, 255, np.uint8)])
    assert np.array_equal(as_bgr(bgra), scene(1))
    with pytest.raises(ValueError, match="uint8"):
        as_bgr(scene(1).astype(np.float32))
