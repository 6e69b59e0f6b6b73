"""The TF1 netvlad-tf checkpoint fixture (tests/fixtures/netvlad_tf) and its TensorFlow goldens."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import openvino as ov

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "netvlad_tf"
CHECKPOINT_NAME = "vd16_pitts30k_conv5_3_vlad_preL2_intra_white"
CHECKPOINT_DIR = FIXTURE / CHECKPOINT_NAME
PREFIX = CHECKPOINT_DIR / CHECKPOINT_NAME
FROZEN = FIXTURE / "model_frozen.pb"
TOLERANCE = 1e-4  # max abs difference to TensorFlow, OpenVINO with the f32 hint


def goldens() -> list[tuple[np.ndarray, np.ndarray]]:
    """[(RGB uint8 image (H, W, 3), TensorFlow output (D,) float32)] in file order."""
    data = np.load(FIXTURE / "golden.npz")
    count = len(json.loads((FIXTURE / "golden.json").read_text())["image_sizes"])
    return [(data[f"image_{i}"], data[f"output_{i}"]) for i in range(count)]


def goldens_of_size(height: int, width: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(img, out) for img, out in goldens() if img.shape[:2] == (height, width)]


def bgr_batch(rgb: np.ndarray) -> np.ndarray:
    """The IR's input for an RGB image: float32 [1, H, W, 3] in BGR order."""
    return np.ascontiguousarray(rgb[None, :, :, ::-1], dtype=np.float32)


def max_error(model: ov.Model | str | Path, height: int = 200, width: int = 300) -> float:
    """Largest |OpenVINO - TensorFlow| over the goldens of that input size (f32 hint)."""
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    cases = goldens_of_size(height, width)
    assert cases, f"no golden of size {height}x{width}"
    return max(float(np.abs(compiled(bgr_batch(img))[0][0] - out).max()) for img, out in cases)


def copy_checkpoint(target: Path, with_meta: bool = True) -> Path:
    """A copy of the fixture checkpoint folder under ``target``; returns the new prefix."""
    folder = target / CHECKPOINT_NAME
    folder.mkdir(parents=True)
    for path in CHECKPOINT_DIR.iterdir():
        if with_meta or path.suffix != ".meta":
            shutil.copy(path, folder / path.name)
    return folder / CHECKPOINT_NAME
