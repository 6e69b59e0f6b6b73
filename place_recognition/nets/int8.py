"""INT8 post-training quantization of any of the project's IRs with NNCF.

Calibration images are read like the product reads frames (OpenCV decode, whole-frame resize to
the model input) and fed to ``nncf.quantize``. ``float_head`` keeps the descriptor head in
float: every convolution and matrix product from the first per-location L2 normalisation on
(NetVLAD soft-assignment, aggregation, whitening) is left out of quantization, so only the
backbone runs in INT8; the NetVLAD residuals and the whitening projection are where 8-bit
rounding would otherwise accumulate. ``float_front`` keeps the first operations, those reading
the image, in float as long as they cost at most that share of the model's multiply-accumulates:
8-bit activations there round the pixels to steps of about a gray level, which is as much noise
as costs nordland_train's upscaled frames several points of Recall@1 (BENCHMARKS.md). NNCF is a
build-time dependency (``scripts/requirements-int8.txt``); the quantized IR runs on the plain
runtime.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import openvino as ov

from ..core.images import list_images, read_image
from ..core.ir_files import save_ir
from ..core.model import RT_SECTION, EmbeddingModel, read_model
from ..core.preprocess import input_spec, preprocess_reference
from ..errors import PlaceRecognitionError, Remedy

logger = logging.getLogger(__name__)

_QUANTIZABLE = {"Convolution", "GroupConvolution", "MatMul"}
# Below this mean cosine between float and INT8 descriptors, retrieval answers change noticeably:
# netvlad-lite's INT8 copy measured 0.66 on corridor (R@1 -18 to -23 points) and 0.48 on
# nordland_train's 32x64 frames (-1.5 to -1.9 points of a near-chance R@1); see BENCHMARKS.md.
FIDELITY_WARNING = 0.9
FIDELITY_IMAGES = 100
# Share of the multiply-accumulates that may stay in float at the front: netvlad-lite's stem and
# first depthwise convolution (4.0 %; its next one would make 5.7 %), netvlad-tf's first
# convolution (0.6 %; its second is 12 % more). So the INT8 speed-up loses at most ~5 %.
FLOAT_FRONT_SHARE = 0.05


def head_operations(model: ov.Model) -> list[str]:
    """Names of the quantizable operations from the first NormalizeL2 on (the NetVLAD head)."""
    ops = model.get_ordered_ops()
    starts = [i for i, op in enumerate(ops) if op.get_type_name() == "NormalizeL2"]
    if not starts:
        return []
    return [op.get_friendly_name() for op in ops[starts[0] :] if op.get_type_name() in _QUANTIZABLE]


def front_operations(model: ov.Model, share: float = FLOAT_FRONT_SHARE) -> list[str]:
    """Names of the first quantizable operations (in graph order) whose multiply-accumulates
    add up to at most ``share`` of the model's; [] for a model with dynamic shapes."""
    ops = [op for op in model.get_ordered_ops() if op.get_type_name() in _QUANTIZABLE]
    costs = [_multiply_accumulates(op) for op in ops]
    if not ops or None in costs:
        return []
    budget, spent, names = share * sum(costs), 0, []
    for op, cost in zip(ops, costs, strict=True):
        spent += cost
        if spent > budget:
            break
        names.append(op.get_friendly_name())
    return names


def _multiply_accumulates(op: ov.Node) -> int | None:
    shapes = [op.get_output_partial_shape(0), op.input(0).get_partial_shape()]
    shapes.append(op.input(1).get_partial_shape())
    if not all(shape.is_static for shape in shapes):
        return None
    output, data, weights = (list(shape.to_shape()) for shape in shapes)
    per_output = {
        "Convolution": weights[1:],  # [C_out, C_in, kh, kw]
        "GroupConvolution": weights[2:],  # [groups, C_out/g, C_in/g, kh, kw]
        "MatMul": [data[-2] if op.get_attributes().get("transpose_a") else data[-1]],
    }[op.get_type_name()]
    return int(np.prod(output)) * int(np.prod(per_output))


def quantize_int8(
    model_path: Path,
    calibration: Path,
    output: Path,
    subset: int = 300,
    float_head: bool = True,
    float_front: float = FLOAT_FRONT_SHARE,
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
        raise PlaceRecognitionError(
            f"no images in the calibration folder {calibration}", remedy=Remedy.CALIBRATION_IMAGES
        )

    def transform(path: Path) -> np.ndarray:
        return preprocess_reference(read_image(path), spec)

    head = head_operations(model) if float_head else []
    front = front_operations(model, float_front) if float_front > 0 else []
    ignored = front + [name for name in head if name not in front]
    logger.info(
        "quantizing %s on %d images from %s (%s, %d front operations kept in float)",
        model_path,
        len(files),
        calibration,
        f"{len(head)} head operations kept in float" if float_head else "whole model",
        len(front),
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
    quantized.set_rt_info(str(len(front)), [RT_SECTION, "float_front_operations"])
    return save_ir(quantized, output)


@dataclass(frozen=True)
class Fidelity:
    """How closely an INT8 copy reproduces its float model's descriptors on held-out images."""

    images: int
    held_out: bool  # False when every image had been used for calibration
    mean_cosine: float
    min_cosine: float
    nearest_neighbour_agreement: float  # each image's nearest other image, same under both

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        source = "held-out" if self.held_out else "calibration (no held-out images left)"
        return (
            f"INT8 vs float descriptors on {self.images} {source} images: mean cosine "
            f"{self.mean_cosine:.3f} (min {self.min_cosine:.3f}), nearest-neighbour agreement "
            f"{self.nearest_neighbour_agreement:.3f}"
        )


def int8_fidelity(
    float_path: Path, int8_path: Path, images: Path, skip: int, device: str = "CPU"
) -> Fidelity:
    """Compare the two models' descriptors on the images of ``images`` after the first ``skip``.

    Both run at the device's default precision, as they would be deployed. The images used for
    calibration are skipped when enough others remain, so the check sees unseen images.
    """
    files = [Path(images) / f.relpath for f in list_images(images)]
    held_out = len(files) - skip >= 8
    chosen = files[skip:] if held_out else files
    pixels = [read_image(path) for path in chosen[:FIDELITY_IMAGES]]
    reference = EmbeddingModel(float_path, device).embed_batch(pixels)
    int8 = EmbeddingModel(int8_path, device).embed_batch(pixels)
    cosines = np.sum(reference * int8, axis=1)  # both L2-normalised
    return Fidelity(
        len(pixels),
        held_out,
        float(cosines.mean()),
        float(cosines.min()),
        float(np.mean(_nearest_other(reference) == _nearest_other(int8))),
    )


def _nearest_other(descriptors: np.ndarray) -> np.ndarray:
    similarity = descriptors @ descriptors.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argmax(similarity, axis=1)
