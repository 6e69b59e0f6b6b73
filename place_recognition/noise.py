"""Recall@1 when the queries carry a little pixel noise: the yardstick for an INT8 copy's loss.

INT8 (or bf16) inference perturbs a descriptor like a small noise on the input does. How much
Recall@1 a quarter or half a gray level of Gaussian noise costs the float model says how much of
a precision change's loss is the data set's own fragility: on tiny, upscaled frames (nordland's
64x32) a near-chance Recall@1 moves more under half a gray level of noise than under INT8.

The noise is added after the resize to the model input (the host twin of the graph's resize,
``preprocess_reference``), where quantisation steps would also fall, and only to the queries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov

from .datasets import VprDataset
from .evaluation import recall_at_n
from .images import read_image
from .model import read_model
from .preprocess import input_spec, preprocess_reference


def recall_under_query_noise(
    model_path: Path,
    dataset: VprDataset,
    sigmas: tuple[float, ...] = (0.25, 0.5),
    device: str = "CPU",
    precision: str | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Recall@1 with no noise ("0") and with each sigma (gray levels of 0-255), same model."""
    model = read_model(model_path)
    spec = input_spec(model)
    config = {"INFERENCE_PRECISION_HINT": precision} if precision else {}
    request = ov.Core().compile_model(model, device, config).create_infer_request()
    rng = np.random.default_rng(seed)

    def embed(paths: list[Path], sigma: float) -> np.ndarray:
        rows = []
        for path in paths:
            tensor = preprocess_reference(read_image(path), spec)
            if sigma:
                tensor = tensor + rng.normal(0.0, sigma, tensor.shape).astype(np.float32)
            rows.append(request.infer({0: tensor})[0][0].copy())
        vectors = np.stack(rows)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    database = embed(dataset.database_paths(), 0.0)
    recalls = {}
    for sigma in (0.0, *sigmas):
        queries = embed(dataset.query_paths(), sigma)
        top = np.argmax(queries @ database.T, axis=1)[:, None]
        recalls[f"{sigma:g}"] = recall_at_n(top, dataset.positives, (1,))[1]
    return recalls
