"""INT8 post-training quantization of any of the project's IRs with NNCF.

Calibration images are read like the product reads frames (OpenCV decode, whole-frame resize to
the model input) and fed to ``nncf.quantize``. ``float_head`` keeps the descriptor head in
float: every convolution and matrix product from the first per-location L2 normalisation on
(NetVLAD soft-assignment, aggregation, whitening) is left out of quantization, so only the
backbone runs in INT8; the NetVLAD residuals and the whitening projection are where 8-bit
rounding would otherwise accumulate. NNCF is a build-time dependency
(``scripts/requirements-int8.txt``); the quantized IR runs on the plain runtime.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import openvino as ov

from .errors import PlaceRecognitionError
from .images import list_images, read_image
from .irio import save_ir
from .model import RT_SECTION, read_model
from .preprocess import input_spec, preprocess_reference

logger = logging.getLogger(__name__)

_QUANTIZABLE = {"Convolution", "GroupConvolution", "MatMul"}


def head_operations(model: ov.Model) -> list[str]:
    """Names of the quantizable operations from the first NormalizeL2 on (the NetVLAD head)."""
    ops = model.get_ordered_ops()
    starts = [i for i, op in enumerate(ops) if op.get_type_name() == "NormalizeL2"]
    if not starts:
        return []
    return [op.get_friendly_name() for op in ops[starts[0] :] if op.get_type_name() in _QUANTIZABLE]


def quantize_int8(
    model_path: Path,
    calibration: Path,
    output: Path,
    subset: int = 300,
    float_head: bool = True,
) -> Path:
    """Write an INT8 copy of ``model_path`` calibrated on the images under ``calibration``."""
    try:
        import nncf
    except ImportError:
        raise PlaceRecognitionError(
            "INT8 quantization needs NNCF: .venv/bin/pip install -r scripts/requirements-int8.txt"
        ) from None
    model = read_model(model_path)
    spec = input_spec(model)
    files = [Path(calibration) / f.relpath for f in list_images(calibration)][:subset]
    if not files:
        raise PlaceRecognitionError(f"no images under --calibration {calibration}")

    def transform(path: Path) -> np.ndarray:
        return preprocess_reference(read_image(path), spec)

    ignored = head_operations(model) if float_head else []
    logger.info(
        "quantizing %s on %d images from %s (%s)",
        model_path,
        len(files),
        calibration,
        f"{len(ignored)} head operations kept in float" if float_head else "whole model",
    )
    quantized = nncf.quantize(
        model,
        nncf.Dataset(files, transform),
        preset=nncf.QuantizationPreset.PERFORMANCE,
        subset_size=len(files),
        ignored_scope=nncf.IgnoredScope(names=ignored, validate=False),
    )
    quantized.set_rt_info("int8" + ("-float-head" if float_head else ""), [RT_SECTION, "quantized"])
    quantized.set_rt_info(str(len(files)), [RT_SECTION, "calibration_images"])
    return save_ir(quantized, output)
