"""The Open Model Zoo place_recognition_demo's method, reimplemented faithfully as a baseline.

What it does (docs/background/omz-demo.md): ``cv2.imread`` every gallery image into RAM (maximal
central square crop, ``cv2.resize`` to the input size), then embed them one by one with a single
synchronous request on a model compiled without any configuration; per query, the L2 distance to
every gallery vector with ``np.linalg.norm`` and a full ``argsort``; nothing is persisted, so the
gallery is embedded again at every start. Used by the benchmark only, to report ratios.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import openvino as ov

from ..core.preprocess import input_spec


class ReferenceDemo:
    """The reference demo's model handling: no config, one synchronous request, batch 1."""

    def __init__(self, model_path: Path, device: str = "CPU") -> None:
        core = ov.Core()
        model = core.read_model(model_path)
        self.spec = input_spec(model)
        self.compiled = core.compile_model(model, device)
        self.request = self.compiled.create_infer_request()

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """Central square crop, stretch to the input size, add the batch dimension."""
        height, width = image.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        crop = image[top : top + side, left : left + side]
        resized = cv2.resize(crop, (self.spec.width, self.spec.height))
        tensor = resized[None].astype(np.float32)  # the demo hands over u8; OpenVINO converts
        return tensor.transpose(0, 3, 1, 2) if self.spec.layout == "NCHW" else tensor

    def embed(self, tensor: np.ndarray) -> np.ndarray:
        self.request.infer({0: tensor})
        return self.request.get_output_tensor(0).data[0].copy()

    def embed_gallery(self, paths: list[Path]) -> np.ndarray:
        """All images read and preprocessed into RAM first, then embedded one by one."""
        tensors = [self.preprocess(cv2.imread(str(path))) for path in paths]
        return np.stack([self.embed(tensor) for tensor in tensors])


def reference_search(gallery: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Gallery rows sorted by L2 distance to ``probe`` (full argsort, as the demo does)."""
    distances = np.linalg.norm(probe - gallery, axis=1)
    return np.argsort(distances)
