"""Small OpenVINO models built in code for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
from openvino import opset13 as ops


def flatten_model(shape: list[int], input_name: str = "image") -> ov.Model:
    """Input ``shape`` f32 -> [1, prod(shape)]: the embedding *is* the preprocessed input."""
    image = ops.parameter(shape, np.float32, name=input_name)
    flat = ops.reshape(image, ops.constant(np.array([1, -1], np.int64)), special_zero=False)
    return ov.Model([ops.result(flat)], [image], "flatten")


def save(model: ov.Model, path: Path) -> Path:
    ov.save_model(model, path, compress_to_fp16=False)
    return path
