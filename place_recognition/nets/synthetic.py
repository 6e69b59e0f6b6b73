"""A synthetic stand-in for netvlad-tf: the exact topology with seeded random weights.

It runs exactly like the real model (same interface, size and cost) and so serves tests and
benchmarks where the 1.1 GB real weights cannot be downloaded. It does **not** recognise places:
the IR says so in its rt_info (``place_recognition/synthetic = true``) and every load logs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov

from ..core.home import models_dir
from ..core.ir_files import save_ir
from ..core.model import RT_SECTION
from .netvlad_tf import SCOPE, build_netvlad_model, weight_shapes

DEFAULT_INPUT_SIZE = (200, 300)


def synthetic_dir() -> Path:
    """Where the stand-ins are written by default: ``<data home>/models/synthetic``."""
    return models_dir() / "synthetic"


def synthetic_name(width: int) -> str:
    return "netvlad-tf-synthetic" if width == 1 else f"netvlad-tf-synthetic-w{width}"


def synthetic_weights(width: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random weights under the real TensorFlow variable names and shapes.

    Convolutions use He-normal initialisation so activations keep a sensible scale through the
    13 layers; the result is deterministic for a given (width, seed).
    """
    rng = np.random.default_rng(seed)
    weights: dict[str, np.ndarray] = {}
    for name, shape in weight_shapes(width).items():
        if name.endswith("/average_rgb"):
            value = rng.uniform(90.0, 140.0, shape)
        elif name.endswith("/bias"):
            value = rng.normal(0.0, 0.01, shape)
        else:
            fan_in = int(np.prod(shape[:-1]))
            value = rng.standard_normal(shape, dtype=np.float32) * np.sqrt(2.0 / fan_in)
        weights[name] = value.astype(np.float32)
    weights[f"{SCOPE}/cluster_centers"] *= -1.0  # stored negated, like the real checkpoint
    return weights


def build_synthetic_model(
    width: int = 1, seed: int = 0, input_size: tuple[int, int] = DEFAULT_INPUT_SIZE
) -> ov.Model:
    """The stand-in model, marked synthetic in its rt_info."""
    model = build_netvlad_model(synthetic_weights(width, seed), input_size)
    model.set_rt_info("true", [RT_SECTION, "synthetic"])
    model.set_rt_info(synthetic_name(width), [RT_SECTION, "name"])
    model.set_rt_info(str(width), [RT_SECTION, "width"])
    model.set_rt_info(str(seed), [RT_SECTION, "seed"])
    return model


def write_synthetic_model(
    path: Path | None = None,
    width: int = 1,
    seed: int = 0,
    input_size: tuple[int, int] = DEFAULT_INPUT_SIZE,
    fp16: bool = False,
) -> Path:
    """Build and save the stand-in; the default path is ``<home>/models/synthetic/<name>.xml``."""
    path = Path(path) if path else synthetic_dir() / f"{synthetic_name(width)}.xml"
    return save_ir(build_synthetic_model(width, seed, input_size), path, fp16=fp16)
