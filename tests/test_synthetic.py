"""The synthetic netvlad-tf stand-in: interface, size, and agreement with a NumPy oracle."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest

from place_recognition.core.model import EmbeddingModel, rt_value
from place_recognition.nets.netvlad_tf import INPUT_NAME, OUTPUT_NAME, build_netvlad_model
from place_recognition.nets.synthetic import build_synthetic_model, synthetic_weights

from conftest import F32, scene
from netvlad_reference import netvlad_forward

PARITY = 1e-4  # max abs difference, OpenVINO with the f32 hint vs the float64 oracle


def _compile(model: ov.Model) -> ov.CompiledModel:
    return ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": F32})


def _colour_image(seed: int, height: int, width: int) -> np.ndarray:
    """A float RGB image whose R and B channels clearly differ."""
    image = scene(seed, height, width).astype(np.float32)
    image[..., 0] = np.clip(image[..., 0] * 0.3 + 150.0, 0, 255)  # R unlike B
    return image


def test_full_size_has_the_reference_parameter_count():
    weights = synthetic_weights(width=1)
    assert sum(w.size for w in weights.values()) == 149_002_051
    assert weights["vgg16_netvlad_pca/WPCA/kernel"].shape == (1, 1, 32768, 4096)
    assert weights["vgg16_netvlad_pca/cluster_centers"].shape == (1, 1, 1, 512, 64)


def test_interface_is_the_omz_ir_one(tiny_ir):
    model = ov.Core().read_model(tiny_ir)
    assert model.input(0).get_names() == {INPUT_NAME}
    assert list(model.input(0).shape) == [1, 200, 300, 3]
    assert model.input(0).element_type == ov.Type.f32
    assert model.output(0).get_names() == {OUTPUT_NAME}
    assert list(model.output(0).shape) == [1, 256]
    assert rt_value(model, "synthetic") == "true"


@pytest.mark.parametrize("width", [16, 4])
def test_matches_the_numpy_oracle_on_bgr_input(width):
    weights = synthetic_weights(width=width, seed=7)
    compiled = _compile(build_netvlad_model(weights, (200, 300)))
    rgb = _colour_image(width, 200, 300)
    expected = netvlad_forward(rgb[None], weights)[0]
    got = compiled(rgb[None, :, :, ::-1].copy())[0][0]  # the IR takes BGR
    assert np.abs(got - expected).max() < PARITY
    # RGB fed where BGR is expected. Random VGG weights make descriptors of different images
    # close (cosine ~0.99), so the change is small in absolute terms: 2e-3..2e-2 measured,
    # against ~1e-7 of numerical error.
    swapped = compiled(rgb[None].copy())[0][0]
    assert np.abs(swapped - expected).max() > 10 * PARITY


@pytest.mark.slow
def test_full_width_matches_the_numpy_oracle():
    weights = synthetic_weights(width=1, seed=3)
    compiled = _compile(build_netvlad_model(weights, (64, 96)))  # small input keeps NumPy quick
    rgb = _colour_image(1, 64, 96)
    expected = netvlad_forward(rgb[None], weights)[0]
    assert np.abs(compiled(rgb[None, :, :, ::-1].copy())[0][0] - expected).max() < PARITY


@pytest.mark.slow
def test_full_size_ir_holds_exactly_the_reference_weights():
    model = build_synthetic_model(width=1)
    floats = [
        op
        for op in model.get_ordered_ops()
        if op.get_type_name() == "Constant" and op.get_element_type() == ov.Type.f32
    ]
    # Shape-1 constants are the normalisation epsilons, not parameters.
    assert (
        sum(int(np.prod(op.get_shape())) for op in floats if np.prod(op.get_shape()) > 1)
        == 149_002_051
    )


def test_deterministic_for_a_seed():
    a, b = synthetic_weights(16, seed=5), synthetic_weights(16, seed=5)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(
        a["vgg16_netvlad_pca/conv1_1/kernel"],
        synthetic_weights(16, seed=6)["vgg16_netvlad_pca/conv1_1/kernel"],
    )


def test_runs_through_the_embedding_model(tiny_ir):
    model = EmbeddingModel(tiny_ir, precision=F32)
    assert model.synthetic and model.name == "netvlad-tf-synthetic-w16"
    assert "synthetic" in model.describe()
