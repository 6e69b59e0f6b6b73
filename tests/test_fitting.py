"""Features of the generated scenes for head fitting: computed once, then read from the cache."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from test_lite import SIZE

from place_recognition.core.model import EmbeddingModel
from place_recognition.nets import head_fit as fitting
from place_recognition.nets.head_fit import local_features, scene_features
from place_recognition.nets.lite import BACKBONE_PATH, build_local_features_model, read_backbone

from conftest import F32, ROOT

CHANNELS = 112  # the s16 tap
COUNT = 3


@pytest.fixture(scope="module")
def flat():
    return build_local_features_model(read_backbone(ROOT / BACKBONE_PATH), "s16", SIZE)


@pytest.fixture
def rendered(monkeypatch, tmp_path):
    """Counts the scenes rendered; the cache goes to a folder of this test's own."""
    monkeypatch.setenv("PLACE_RECOGNITION_CACHE", str(tmp_path / "cache"))
    calls = []
    render = fitting.render_scene

    def counting(seed):
        calls.append(seed)
        return render(seed)

    monkeypatch.setattr(fitting, "render_scene", counting)
    return calls


compile_f32 = partial(EmbeddingModel, precision=F32)


def cached_files(tmp_path):
    return sorted((tmp_path / "cache" / "scene-features").glob("*.npy"))


def test_second_call_reads_the_cache_instead_of_rendering(flat, rendered, tmp_path):
    first = scene_features(flat, CHANNELS, COUNT, 0, compile_f32)
    assert len(rendered) == COUNT + 1  # the scenes, and one probe of the renderer for the key
    rendered.clear()
    second = scene_features(flat, CHANNELS, COUNT, 0, compile_f32)
    assert len(rendered) == 1  # only the probe
    assert len(cached_files(tmp_path)) == 1
    np.testing.assert_array_equal(np.stack(second), np.stack(first))
    direct = local_features(flat, CHANNELS, fitting.calibration_scenes(COUNT), compile_f32)
    np.testing.assert_array_equal(np.stack(direct), np.stack(first))


def test_other_scenes_get_their_own_entry(flat, rendered, tmp_path):
    seed_0 = scene_features(flat, CHANNELS, COUNT, 0, compile_f32)
    seed_1 = scene_features(flat, CHANNELS, COUNT, 1, compile_f32)
    fewer = scene_features(flat, CHANNELS, COUNT - 1, 0, compile_f32)
    assert len(cached_files(tmp_path)) == 3
    assert not np.array_equal(np.stack(seed_0), np.stack(seed_1))
    np.testing.assert_array_equal(np.stack(fewer), np.stack(seed_0[:-1]))


def test_damaged_cache_is_recomputed_and_rewritten(flat, rendered, tmp_path, caplog):
    good = scene_features(flat, CHANNELS, COUNT, 0, compile_f32)
    (file,) = cached_files(tmp_path)
    file.write_bytes(file.read_bytes()[:1000])  # cut short, as by a full disk
    rendered.clear()
    again = scene_features(flat, CHANNELS, COUNT, 0, compile_f32)
    assert len(rendered) == COUNT + 1
    assert "damaged scene-feature cache" in caplog.text
    np.testing.assert_array_equal(np.stack(again), np.stack(good))
    assert np.load(file).shape == (COUNT, *good[0].shape)
