"""A netvlad-lite IR's head as :class:`NetVladParams` and back: the training's start and its end.

Reading takes the constants the IR actually holds (FP16-compressed weights decompressed as the
CPU plugin does), so a head initialised from them reproduces the IR's descriptors; writing puts a
trained head on the same graph with ``lite.refit_lite_model``, so the result has netvlad-lite's
interface and every command takes it with ``-m``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov

from ..core.ir_files import save_ir
from ..core.model import read_model, rt_section, rt_value
from ..errors import PlaceRecognitionError
from ..nets.lite import NetVladParams, local_features_output, refit_lite_model

_PROVENANCE = ("vocabulary", "vocabulary_images", "whitening_images", "shrinkage", "scene_seed")


def _constant(output: ov.Output) -> np.ndarray:
    """The value of a Constant, possibly behind Convert (FP16 weights), as float32."""
    node = output.get_node()
    while node.get_type_name() == "Convert":
        node = node.input_value(0).get_node()
    if node.get_type_name() != "Constant":
        raise ValueError(f"expected a constant, found {node.get_type_name()}")
    return np.array(node.get_data(), np.float32)


def _consumers(output: ov.Output, kind: str) -> list[ov.Node]:
    return [
        t.get_node() for t in output.get_target_inputs() if t.get_node().get_type_name() == kind
    ]


def _only(nodes: list[ov.Node], what: str) -> ov.Node:
    if len(nodes) != 1:
        raise ValueError(f"its NetVLAD head has no single {what}")
    return nodes[0]


def read_head(model: ov.Model) -> NetVladParams:
    """The NetVLAD + whitening parameters of a netvlad-lite IR (``lite._head``'s graph)."""
    features = local_features_output(model)
    conv = _only(_consumers(features, "Convolution"), "soft-assignment convolution")
    kernel = _constant(conv.input_value(1))  # (K, C, 1, 1)
    bias_add = _only(_consumers(conv.output(0), "Add"), "soft-assignment bias")
    assignment_bias = _constant(bias_add.input_value(1)).reshape(-1)
    # The residual term: Multiply(mass, -centres) feeds the Add that makes the VLAD.
    softmax = _only(_consumers(bias_add.output(0), "Softmax"), "softmax")
    soft_flat = _only(_consumers(softmax.output(0), "Reshape"), "assignment reshape")
    mass = _only(_consumers(soft_flat.output(0), "ReduceSum"), "assignment mass")
    mass_t = _only(_consumers(mass.output(0), "Transpose"), "mass transpose")
    residual = _only(_consumers(mass_t.output(0), "Multiply"), "residual term")
    negated = _constant(residual.input_value(1)).reshape(kernel.shape[1], kernel.shape[0])
    whitening_matmul = [
        op
        for op in model.get_ordered_ops()
        if op.get_type_name() == "MatMul"
        and op.input_value(1).get_node().get_type_name() in ("Constant", "Convert")
    ]
    matmul = _only(whitening_matmul, "whitening")
    whitening = _constant(matmul.input_value(1)).T  # stored (C*K, dim)
    bias = _constant(_only(_consumers(matmul.output(0), "Add"), "whitening bias").input_value(1))
    # Provenance of the base head (its vocabulary source ...) carries over; the threshold does
    # not: descriptors change, so the trained IR is calibrated again (``run.py``).
    info = {k: v for k, v in rt_section(model).items() if k in _PROVENANCE}
    info["base_name"] = rt_value(model, "name") or model.get_friendly_name()
    alpha = float(rt_value(model, "alpha") or "nan")
    return NetVladParams(
        rt_value(model, "tap") or "",
        -negated.T,
        alpha,
        whitening,
        bias.reshape(-1),
        info,
        assignment=kernel[:, :, 0, 0].T,
        assignment_bias=assignment_bias,
    )


def read_head_file(path: Path) -> NetVladParams:
    model = read_model(Path(path))
    try:
        return read_head(model)
    except ValueError as exc:
        raise PlaceRecognitionError(
            f"{path}: not a netvlad-lite IR, its NetVLAD head cannot be trained ({exc})"
        ) from exc


def export_trained(base: Path, params: NetVladParams, output: Path, fp16: bool) -> Path:
    """Save ``params`` on ``base``'s backbone graph as a netvlad-lite IR at ``output``."""
    model = refit_lite_model(read_model(Path(base)), params, "netvlad-lite-trained")
    return save_ir(model, Path(output), fp16=fp16)
