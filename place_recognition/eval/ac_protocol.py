"""The Open Model Zoo Accuracy Checker's netvlad-tf evaluation, reproduced without it.

``accuracy_check`` with ``models/public/netvlad-tf/accuracy-check.yml`` reads each image with PIL
(RGB), converts it to BGR, stretches it to 300x200 with ``cv2.resize`` (INTER_LINEAR, on u8), feeds
float32 to the IR, L2-normalises the output again (``reid`` adapter, eps 1e-6), ranks the gallery
by squared L2 distance and counts a query as localised when its top-1 lies strictly within 25 m
(docs/background/accuracy-checker.md). The functions here do exactly that, so that both tools
give the same number.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import PlaceRecognitionError

GRN_EPS = 1e-6  # the reid adapter's "GRN workaround" bias
DISTANCE_THRESHOLD = 25.0  # metres


def read_image_like_ac(path: Path) -> np.ndarray:
    """PIL decode -> RGB -> BGR (``pillow_imread`` + ``rgb_to_bgr``): (H, W, 3) u8."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - pillow is in requirements.txt
        raise PlaceRecognitionError("the Accuracy-Checker-compatible path needs pillow") from exc
    try:
        with open(path, "rb") as f, Image.open(f) as image:
            rgb = np.array(image.convert("RGB"))
    except OSError as exc:
        raise PlaceRecognitionError(f"cannot read image {path}: {exc}") from exc
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def resize_like_ac(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``resize`` preprocessor defaults: whole frame, INTER_LINEAR on u8, then float32."""
    height, width = size
    resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    return resized.astype(np.float32)


def load_like_ac(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The float32 (H, W, 3) BGR tensor the Accuracy Checker feeds for ``path``."""
    return resize_like_ac(read_image_like_ac(path), size)


def grn_normalize(embeddings: np.ndarray) -> np.ndarray:
    """The reid adapter's re-normalisation: x / sqrt(sum(x^2) + 1e-6), row-wise."""
    embeddings = np.asarray(embeddings, np.float32)
    norms = np.sqrt(np.sum(embeddings**2, axis=1) + GRN_EPS)
    return embeddings / norms[:, None]


def localization_recall(
    queries: np.ndarray,
    database: np.ndarray,
    utm_queries: np.ndarray,
    utm_database: np.ndarray,
    top_k: int = 1,
    threshold: float = DISTANCE_THRESHOLD,
) -> float:
    """``localization_recall`` exactly as ``metrics/reid.py::LocalizationRecall`` computes it.

    Squared-L2 ranking, a hit when the UTM distance is strictly below ``threshold``, every query in
    the denominator. For ``top_k > 1`` the original counts every correct item of the top-k (it is
    then not Recall@N and can exceed 1); that is reproduced here on purpose. Use
    ``evaluation`` for standard Recall@N.
    """
    if len(queries) == 0 or len(database) == 0:
        return 0.0
    distances = (
        np.sum(queries**2, axis=1, keepdims=True)
        + np.sum(database**2, axis=1)
        - 2 * np.dot(queries, database.T)
    )
    hits = 0
    for row, query_utm in zip(distances, np.asarray(utm_queries), strict=True):
        for index in np.argsort(row)[:top_k]:
            if np.linalg.norm(query_utm - utm_database[index]) < threshold:
                hits += 1
    return hits / len(queries)
