"""INT8 quantization with NNCF: the result keeps the interface, stays close, and keeps the head
in float unless asked."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest

from place_recognition.cli import quantize_int8 as quantize
from place_recognition.core.images import read_image
from place_recognition.core.model import EmbeddingModel, rt_value
from place_recognition.nets.int8 import front_operations, head_operations, int8_fidelity
from place_recognition.nets.synthetic import write_synthetic_model
from place_recognition.scenes.street import write_sample_gallery

from conftest import F32

pytest.importorskip("nncf")


def _quantized_inputs(model: ov.Model) -> set[str]:
    """Names of the operations that take a FakeQuantize output (they run in INT8)."""
    names = set()
    for op in model.get_ordered_ops():
        for value in op.input_values():
            if value.get_node().get_type_name() == "FakeQuantize":
                names.add(op.get_friendly_name())
    return names


@pytest.mark.slow
@pytest.mark.parametrize("whole_model", [False, True])
def test_int8_copy_keeps_the_interface_and_the_descriptors(tiny_ir, tmp_path, whole_model, capsys):
    gallery = tmp_path / "calibration"
    write_sample_gallery(gallery, places=6, views=3)
    output = tmp_path / "int8.xml"
    argv = ["-m", str(tiny_ir), "--calibration", str(gallery), "-o", str(output), "-q"]
    assert (
        quantize.main(
            [*argv, "--subset", "12", "--float-front", "0.1", *(["--whole-model"] * whole_model)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert str(output) in out
    assert "images: mean cosine" in out  # the fidelity check ran (on the 6 images left over)

    reference = EmbeddingModel(tiny_ir, precision=F32)
    int8 = EmbeddingModel(output)
    assert int8.input.size == reference.input.size and int8.dim == reference.dim
    assert rt_value(ov.Core().read_model(output), "quantized").startswith("int8")
    images = [read_image(p) for p in sorted(gallery.rglob("*.jpg"))[:6]]
    cosines = np.sum(int8.embed_batch(images) * reference.embed_batch(images), axis=1)
    assert cosines.min() > 0.9  # random weights: a loose bound; real recall is in BENCHMARKS.md

    graph = ov.Core().read_model(output)
    quantized = _quantized_inputs(graph)
    head = set(head_operations(graph))
    front = set(front_operations(ov.Core().read_model(tiny_ir), 0.1))  # the first: 8 % of MACs
    assert len(front) == 1 and not quantized & front  # the convolution reading the image: float
    assert rt_value(graph, "float_front_operations") == str(len(front))
    assert quantized - head - front  # the backbone runs in INT8
    assert bool(quantized & head) == whole_model  # the head only when asked


def _two_convolutions() -> ov.Model:
    """3->4 then 4->64 channels, 3x3 on 8x8: 8*8*4*27 = 6912 and 8*8*64*36 = 147456 MACs."""
    from openvino import opset13 as ops

    image = ops.parameter([1, 3, 8, 8], np.float32, name="image")
    x = image
    for name, (c_in, c_out) in (("small", (3, 4)), ("big", (4, 64))):
        weights = ops.constant(np.ones((c_out, c_in, 3, 3), np.float32))
        x = ops.convolution(x, weights, [1, 1], [1, 1], [1, 1], [1, 1], name=name)
    return ov.Model([x], [image])


@pytest.mark.parametrize(
    ("share", "expected"), [(0.0, []), (0.04, []), (0.05, ["small"]), (1.0, ["small", "big"])]
)
def test_float_front_is_the_first_operations_within_their_share_of_the_compute(share, expected):
    assert front_operations(_two_convolutions(), share) == expected  # small: 4.5 % of the MACs


def test_missing_calibration_images_is_a_one_line_error(tiny_ir, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = ["-m", str(tiny_ir), "--calibration", str(tmp_path / "empty"), "-q"]
    assert quantize.main(argv) == 2
    err = capsys.readouterr().err  # the library's words, then the option that fixes it
    assert "no images in the calibration folder" in err and err.strip().endswith("(--calibration)")


def test_fidelity_is_perfect_for_the_same_model_and_lower_for_another(tiny_ir, tmp_path):
    gallery = tmp_path / "images"
    write_sample_gallery(gallery, places=4, views=3)
    same = int8_fidelity(tiny_ir, tiny_ir, gallery, skip=2)
    assert same.held_out and same.images == 10
    assert same.mean_cosine > 0.999 and same.nearest_neighbour_agreement == 1.0

    other = write_synthetic_model(tmp_path / "other.xml", width=16, seed=1)
    different = int8_fidelity(tiny_ir, other, gallery, skip=2)
    assert different.mean_cosine < 0.9

    unseen = int8_fidelity(tiny_ir, tiny_ir, gallery, skip=len(list(gallery.rglob("*.jpg"))))
    assert not unseen.held_out and unseen.images == 12  # nothing left over: all images are used
