"""Recall@1 when the queries carry a little pixel noise: the yardstick for an INT8 copy's loss.

INT8 (or bf16) inference perturbs a descriptor like a small noise on the input does. How much
Recall@1 a quarter or half a gray level of Gaussian noise costs the float model says how much of
a precision change's loss is the data set's own fragility: on tiny, upscaled frames (nordland's
64x32) a near-chance Recall@1 moves more under half a gray level of noise than under INT8.

The noise is added after the resize to the model input (the host twin of the graph's resize,
``resize_reference``), where quantisation steps would also fall, and only to the queries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.images import read_image
from ..core.model import EmbeddingModel
from ..core.preprocess import resize_reference
from .datasets import VprDataset
from .metrics import recall_at_n


def recall_under_query_noise(
    model_path: Path,
    dataset: VprDataset,
    sigmas: tuple[float, ...] = (0.25, 0.5),
    device: str = "CPU",
    precision: str | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Recall@1 with no noise ("0") and with each sigma (gray levels of 0-255), same model."""
    model = EmbeddingModel(model_path, device, precision, host_preprocessing=True)
    rng = np.random.default_rng(seed)

    def noisy(path: Path, sigma: float) -> np.ndarray:
        image = resize_reference(read_image(path), model.input)
        if sigma:
            image = image + rng.normal(0.0, sigma, image.shape).astype(np.float32)
        return image

    database = model.embed_batch(noisy(path, 0.0) for path in dataset.database_paths())
    recalls = {}
    for sigma in (0.0, *sigmas):
        queries = model.embed_batch(noisy(path, sigma) for path in dataset.query_paths())
        top = np.argmax(queries @ database.T, axis=1)[:, None]
        recalls[f"{sigma:g}"] = recall_at_n(top, dataset.positives, (1,))[1]
    return recalls
