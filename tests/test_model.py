"""EmbeddingModel through the real OpenVINO runtime."""

from __future__ import annotations

import logging

import numpy as np
import openvino as ov
import pytest
from openvino import opset13 as ops

from place_recognition.core.devices import check_device, physical_devices
from place_recognition.core.model import EmbeddingModel
from place_recognition.errors import DeviceError, ModelContractError, PlaceRecognitionError

from conftest import F32, scene
from models import flatten_model, save


def test_embeddings_are_unit_vectors_of_the_output_size(tiny_ir):
    model = EmbeddingModel(tiny_ir, precision=F32)
    vector = model.embed(scene(0))
    assert vector.shape == (256,) and vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert (model.input.height, model.input.width, model.dim) == (200, 300, 256)


def test_async_batch_keeps_input_order(tiny_ir):
    model = EmbeddingModel(tiny_ir, precision=F32, num_requests=3)
    images = [scene(i, 90 + 7 * i, 140 + 11 * i) for i in range(9)]  # varied sizes
    one_by_one = np.stack([model.embed(image) for image in images])
    batched = model.embed_batch(images)
    assert batched.shape == (9, 256)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-6)
    assert model.embed_batch([]).shape == (0, 256)


def test_batched_requests_group_same_size_images_and_keep_input_order(tiny_ir):
    """Runs of one size fill requests of 4; a change of size or the end cuts a group short."""
    sizes = [(90, 140)] * 6 + [(120, 160)] + [(90, 140)] * 2 + [(100, 150)] * 5
    images = [scene(i, h, w) for i, (h, w) in enumerate(sizes)]
    model = EmbeddingModel(tiny_ir, precision=F32, batch=4, num_requests=2)
    assert [len(g) for g in model._groups(images)] == [4, 2, 1, 2, 4, 1]
    single = EmbeddingModel(tiny_ir, precision=F32)
    expected = np.stack([single.embed(image) for image in images])
    np.testing.assert_allclose(model.embed_batch(images), expected, atol=1e-5)
    np.testing.assert_allclose(model.embed(images[6]), expected[6], atol=1e-5)


def test_precision_hint_is_applied_and_reported(tiny_ir):
    assert EmbeddingModel(tiny_ir, precision="f32").precision == "f32"
    default = EmbeddingModel(tiny_ir)
    # OpenVINO's own choice (bf16 on CPUs with AVX512-BF16, f32 elsewhere), read back.
    assert default.precision in {"f32", "bf16", "f16"}
    cos = float(default.embed(scene(3)) @ EmbeddingModel(tiny_ir, precision=F32).embed(scene(3)))
    assert cos > 0.99


def test_a_thread_cap_leaves_the_threads_unpinned(tiny_ir):
    # Capped processes (cluster workers) share the machine: pinned, each would take core 0.
    capped = EmbeddingModel(tiny_ir, precision=F32, threads=1)._compiled
    assert capped.get_property("INFERENCE_NUM_THREADS") == 1
    assert capped.get_property("ENABLE_CPU_PINNING") is False


def test_unknown_precision_and_hint_are_refused(tiny_ir):
    with pytest.raises(PlaceRecognitionError, match="precision 'f8'"):
        EmbeddingModel(tiny_ir, precision="f8")
    with pytest.raises(PlaceRecognitionError, match="performance hint 'FAST'"):
        EmbeddingModel(tiny_ir, performance_hint="FAST")


def test_missing_device_lists_available_ones(tiny_ir):
    with pytest.raises(DeviceError) as error:
        EmbeddingModel(tiny_ir, device="NPU")
    message = str(error.value)
    assert "'NPU'" in message
    for device in ov.Core().available_devices:
        assert device in message


def test_virtual_device_names_are_parsed():
    assert physical_devices("HETERO:GPU,CPU") == ["GPU", "CPU"]
    assert physical_devices("AUTO") == []
    assert physical_devices("MULTI:CPU(2),GPU.1(4)") == ["CPU", "GPU.1"]
    check_device(ov.Core(), "AUTO:CPU")  # available: no error
    with pytest.raises(DeviceError, match="'GPU'"):
        check_device(ov.Core(), "HETERO:GPU,CPU")


def test_auto_device_compiles(tiny_ir):
    assert EmbeddingModel(tiny_ir, device="AUTO").embed(scene(1)).shape == (256,)


def test_input_and_output_bound_by_index_whatever_their_names(tmp_path):
    for name in ("Placeholder", "Placeholder:0"):
        path = save(flatten_model([1, 8, 12, 3], name), tmp_path / f"{name[-2:]}.xml")
        model = EmbeddingModel(path, precision=F32)
        assert model.input.name == name
        assert model.embed(scene(0)).shape == (8 * 12 * 3,)


def test_input_size_option_reshapes_the_network(tiny_ir):
    model = EmbeddingModel(tiny_ir, precision=F32, input_size=(240, 320))
    assert model.input.size == (240, 320)
    assert model.fingerprint.input_size == (240, 320)
    assert model.embed(scene(2)).shape == (256,)


def test_onnx_models_are_read(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["embedding"], axis=1)],
        "flatten",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 192])],
    )
    path = tmp_path / "flatten.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    model = EmbeddingModel(path, precision=F32)
    assert (model.input.layout, model.dim) == ("NCHW", 192)
    image = scene(4, 8, 8)
    np.testing.assert_allclose(model.embed(image), image.transpose(2, 0, 1).ravel(), atol=1e-3)


def test_non_embedding_models_are_refused_with_what_was_found(tmp_path):
    image = ops.parameter([1, 8, 8, 3], np.float32, name="x")
    four_d = save(ov.Model([ops.result(ops.relu(image))], [image]), tmp_path / "map.xml")
    with pytest.raises(ModelContractError, match=r"output has shape \[1,8,8,3\]"):
        EmbeddingModel(four_d)
    vector = ops.parameter([1, 300], np.float32, name="v")
    flat = save(ov.Model([ops.result(ops.relu(vector))], [vector]), tmp_path / "vec.xml")
    with pytest.raises(ModelContractError, match=r"input has shape \[1,300\]"):
        EmbeddingModel(flat)


def test_missing_and_broken_model_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.xml"):
        EmbeddingModel(tmp_path / "nope.xml")
    broken = tmp_path / "broken.xml"
    broken.write_text("<net>")
    broken.with_suffix(".bin").write_bytes(b"")
    with pytest.raises(PlaceRecognitionError, match="cannot read model .*broken.xml"):
        EmbeddingModel(broken)


def test_synthetic_model_warns_on_every_load(tiny_ir, caplog):
    with caplog.at_level(logging.WARNING):
        model = EmbeddingModel(tiny_ir)
    assert model.synthetic
    assert "SYNTHETIC" in caplog.text and "cannot recognise places" in caplog.text


def test_fingerprint_identifies_the_weights(tiny_ir, tmp_path):
    from place_recognition.nets.synthetic import write_synthetic_model

    other = write_synthetic_model(tmp_path / "other.xml", width=16, seed=1)
    first, second = EmbeddingModel(tiny_ir).fingerprint, EmbeddingModel(other).fingerprint
    assert first.dim == second.dim and first.input_size == second.input_size
    assert first.sha256 != second.sha256 and first.key != second.key
    assert EmbeddingModel(tiny_ir).fingerprint == first  # stable (and served from the cache)
