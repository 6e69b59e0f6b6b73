"""netvlad-lite: the head built in the OpenVINO graph equals the NumPy reference of NetVLAD.

The backbone is the committed EfficientNet-Lite0 IR; its local features come from the same
graph cut where the head starts, so the comparison isolates the head (f32 hint throughout).
"""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest

from place_recognition.core.ir_files import save_ir
from place_recognition.core.model import EmbeddingModel, rt_value
from place_recognition.nets.lite import (
    BACKBONE_PATH,
    NetVladParams,
    build_lite_model,
    build_local_features_model,
    build_meanpool_model,
    local_features_model,
    read_backbone,
    refit_lite_model,
)
from place_recognition.nets.vocabulary import vlad

from conftest import F32, ROOT, scene

SIZE = (64, 96)  # small but a multiple of 32: stride-16 taps give 4x6 locations


def random_params(tap: str, channels: int, clusters: int = 4, dim: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((clusters, channels)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    whitening = rng.standard_normal((dim, channels * clusters)).astype(np.float32)
    bias = rng.standard_normal(dim).astype(np.float32) * 0.1
    return NetVladParams(tap, centers, 7.5, whitening, bias, {"vocabulary": "random"})


def head_reference(local: np.ndarray, params: NetVladParams) -> np.ndarray:
    """NumPy NetVLAD + whitening + L2 on (n, C) local features."""
    v = vlad(local, params.centers, params.alpha).astype(np.float64)
    y = params.whitening.astype(np.float64) @ v + params.bias
    return y / np.linalg.norm(y)


@pytest.fixture(scope="module")
def backbone_ir() -> ov.Model:
    return read_backbone(ROOT / BACKBONE_PATH)


@pytest.mark.parametrize(("tap", "channels"), [("s16", 112), ("head", 1280)])
def test_lite_head_matches_numpy_reference(backbone_ir, tmp_path, tap, channels):
    params = random_params(tap, channels)
    lite_path = save_ir(build_lite_model(backbone_ir.clone(), params, SIZE), tmp_path / "lite.xml")
    local_path = save_ir(local_features_model(ov.Core().read_model(lite_path)), tmp_path / "l.xml")
    lite = EmbeddingModel(lite_path, precision=F32)
    local = EmbeddingModel(local_path, precision=F32)
    assert lite.dim == 8 and lite.input.size == SIZE and lite.input.layout == "NHWC"
    for seed in range(3):
        image = scene(seed, 90, 130)
        features = local.embed(image).reshape(-1, channels)
        assert features.shape[0] == (SIZE[0] // 32 if tap == "head" else SIZE[0] // 16) * (
            SIZE[1] // 32 if tap == "head" else SIZE[1] // 16
        )
        np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
        expected = head_reference(features, params)
        np.testing.assert_allclose(lite.embed(image), expected, atol=2e-4)


def test_local_features_of_backbone_equal_the_cut_of_the_lite_model(backbone_ir, tmp_path):
    params = random_params("s16", 112)
    lite = build_lite_model(backbone_ir.clone(), params, SIZE)
    cut = save_ir(local_features_model(lite), tmp_path / "cut.xml")
    direct = save_ir(
        build_local_features_model(backbone_ir.clone(), "s16", SIZE), tmp_path / "d.xml"
    )
    image = scene(5, 70, 100)
    a = EmbeddingModel(cut, precision=F32).embed(image)
    b = EmbeddingModel(direct, precision=F32).embed(image)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_input_is_bgr_and_normalised_inside_the_graph(backbone_ir, tmp_path):
    """Swapping the image's channels changes the descriptor: the graph is colour-aware."""
    path = save_ir(build_meanpool_model(backbone_ir.clone(), "head", SIZE), tmp_path / "m.xml")
    model = EmbeddingModel(path, precision=F32)
    image = scene(1, 64, 96)
    same = model.embed(image)
    swapped = model.embed(np.ascontiguousarray(image[:, :, ::-1]))
    assert model.dim == 1280 and abs(np.linalg.norm(same) - 1) < 1e-5
    assert float(same @ swapped) < 0.999


def test_refit_replaces_only_the_head(backbone_ir, tmp_path):
    first = build_lite_model(backbone_ir.clone(), random_params("s16", 112, seed=1), SIZE)
    second_params = random_params("s16", 112, clusters=3, dim=5, seed=2)
    refitted = refit_lite_model(first, second_params, "netvlad-lite-fitted")
    path = save_ir(refitted, tmp_path / "refit.xml")
    model = EmbeddingModel(path, precision=F32)
    assert model.dim == 5 and model.name == "netvlad-lite-fitted"
    assert rt_value(ov.Core().read_model(path), "clusters") == "3"
    local = EmbeddingModel(
        save_ir(local_features_model(refitted), tmp_path / "l.xml"), precision=F32
    )
    image = scene(3, 80, 80)
    expected = head_reference(local.embed(image).reshape(-1, 112), second_params)
    np.testing.assert_allclose(model.embed(image), expected, atol=2e-4)


def test_default_build_is_redone_when_the_recipe_changed(tmp_path, monkeypatch):
    from place_recognition.nets.lite_build import LiteRecipe
    from place_recognition.zoo import lite

    builds = []

    def fake_build(path, progress=False):  # the real build takes a minute; the rule is tested
        builds.append(path)
        path.write_text("ir")
        path.with_suffix(".recipe").write_text(repr(LiteRecipe()))  # as a default build does

    monkeypatch.setattr(lite, "build_calibrated_lite", fake_build)
    path = tmp_path / "netvlad-lite.xml"
    lite.ensure_lite_model(path)
    lite.ensure_lite_model(path)
    assert len(builds) == 1  # built once, then reused
    path.with_suffix(".recipe").write_text("LiteRecipe(dim=512)")  # an older code's build
    lite.ensure_lite_model(path)
    assert len(builds) == 2
    lite.ensure_lite_model(path)
    assert len(builds) == 2
