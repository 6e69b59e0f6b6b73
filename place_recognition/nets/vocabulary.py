"""Fitting a NetVLAD head off the shelf: k-means vocabulary, assignment sharpness, PCA-whitening.

NetVLAD (Arandjelovic et al., CVPR 2016) initialises its layer from k-means centres c_k of the
backbone's L2-normalised local features, with w_k = 2 alpha c_k and b_k = -alpha |c_k|^2, so the
soft-assignment is softmax(-alpha |x - c_k|^2); alpha is chosen so that, on average, the second
nearest centre gets 1/100 of the nearest one's weight (``second_weight``; larger is softer: a
sharp assignment moves a local feature between clusters on small changes of the feature, which
is what makes netvlad-lite's INT8 copy lose recall, BENCHMARKS.md). The VLAD vectors are then
PCA-whitened (W = diag(1/sqrt(lambda + eps)) U^T, bias = -W mu). Everything here is
NumPy/faiss; ``vlad`` is the reference the OpenVINO head is tested against.
"""

from __future__ import annotations

import logging

import faiss
import numpy as np

logger = logging.getLogger(__name__)

_EPS = 1e-12
SECOND_NEAREST_WEIGHT = 0.01


def sample_descriptors(
    local_features: list[np.ndarray], per_image: int, seed: int = 0
) -> np.ndarray:
    """Up to ``per_image`` random rows of each (n_i, C) array, stacked: (M, C) float32."""
    rng = np.random.default_rng(seed)
    picked = []
    for features in local_features:
        count = min(per_image, len(features))
        picked.append(features[rng.choice(len(features), count, replace=False)])
    return np.ascontiguousarray(np.concatenate(picked), dtype=np.float32)


def fit_vocabulary(
    descriptors: np.ndarray,
    clusters: int,
    seed: int = 0,
    iterations: int = 25,
    restarts: int = 1,
    second_weight: float = SECOND_NEAREST_WEIGHT,
) -> tuple[np.ndarray, float]:
    """k-means centres (K, C) of ``descriptors`` (M, C) and the assignment sharpness alpha.

    ``restarts``: k-means runs from different seeds; the one with the lowest distortion is kept.
    """
    descriptors = np.ascontiguousarray(descriptors, dtype=np.float32)
    if len(descriptors) < clusters:
        raise ValueError(
            f"{len(descriptors)} local descriptors cannot make {clusters} clusters; "
            "give more calibration images or a smaller K"
        )
    wanted = clusters * faiss.ClusteringParameters().min_points_per_centroid
    if len(descriptors) < wanted:
        # Said once here; faiss would print its raw warning once per restart.
        logger.warning(
            "k-means vocabulary of %d clusters from %d local descriptors, fewer than the %d "
            "faiss suggests: the clusters fit these images loosely; more images (or fewer "
            "clusters) give a steadier vocabulary",
            clusters,
            len(descriptors),
            wanted,
        )
    kmeans = faiss.Kmeans(
        descriptors.shape[1],
        clusters,
        niter=iterations,
        seed=seed,
        nredo=restarts,
        max_points_per_centroid=1000,
        min_points_per_centroid=1,  # only gates faiss's warning, replaced by the one above
    )
    kmeans.train(descriptors)
    centers = kmeans.centroids.astype(np.float32)
    return centers, assignment_alpha(descriptors, centers, second_weight)


def assignment_alpha(
    descriptors: np.ndarray, centers: np.ndarray, second_weight: float = SECOND_NEAREST_WEIGHT
) -> float:
    """alpha such that exp(-alpha (d2_second - d2_first)) averages ``second_weight``."""
    if not 0 < second_weight < 1:
        raise ValueError(f"the second-nearest weight must be in (0, 1), got {second_weight}")
    index = faiss.IndexFlatL2(centers.shape[1])
    index.add(np.ascontiguousarray(centers, dtype=np.float32))
    squared, _ = index.search(np.ascontiguousarray(descriptors, dtype=np.float32), 2)
    gap = float(np.mean(squared[:, 1] - squared[:, 0]))
    return -np.log(second_weight) / max(gap, 1e-6)


def soft_assignment(features: np.ndarray, centers: np.ndarray, alpha: float) -> np.ndarray:
    """softmax_k(2 alpha c_k.x - alpha |c_k|^2) for features (n, C): (n, K)."""
    logits = 2.0 * alpha * features @ centers.T - alpha * (centers**2).sum(axis=1)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def vlad(features: np.ndarray, centers: np.ndarray, alpha: float) -> np.ndarray:
    """NetVLAD of one image's per-location L2-normalised features (n, C): (C*K,), d-major.

    Residuals summed with soft weights, intra-normalised per cluster, then L2-normalised.
    """
    features = np.asarray(features, np.float64)
    centers = np.asarray(centers, np.float64)
    weights = soft_assignment(features, centers, alpha)  # (n, K)
    aggregated = features.T @ weights - centers.T * weights.sum(axis=0)  # (C, K)
    aggregated /= np.sqrt((aggregated**2).sum(axis=0, keepdims=True) + _EPS)
    flat = aggregated.reshape(-1)
    return (flat / np.sqrt((flat**2).sum() + _EPS)).astype(np.float32)


def fit_whitening(
    vectors: np.ndarray, dim: int, shrinkage: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """PCA-whitening of ``vectors`` (N, F) to ``dim``: matrix (dim, F) and bias (dim,).

    ``y = matrix @ x + bias`` projects onto the top principal directions and divides each by
    sqrt(variance + shrinkage * mean kept variance + 1e-9). ``shrinkage`` 0 is netvlad's addPCA
    (full whitening); larger values damp the boost of low-variance directions, which a small or
    off-domain fitting set estimates badly. The N x N Gram matrix is decomposed instead of the
    F x F covariance when N < F (VLADs are long, samples few).
    """
    vectors = np.asarray(vectors, np.float64)
    count, features = vectors.shape
    if dim > min(count - 1, features):
        raise ValueError(
            f"PCA to {dim} dims needs more than {dim} samples of at least {dim} features; "
            f"got {count} samples of {features} (give more images or fewer output dimensions)"
        )
    mean = vectors.mean(axis=0)
    centred = vectors - mean
    if count < features:
        gram = centred @ centred.T / count
        values, vecs = np.linalg.eigh(gram)
        order = np.argsort(values)[::-1][:dim]
        values = np.maximum(values[order], 0.0)
        directions = centred.T @ vecs[:, order]  # (F, dim), columns of norm sqrt(count * value)
        directions /= np.maximum(np.linalg.norm(directions, axis=0, keepdims=True), _EPS)
    else:
        values, vecs = np.linalg.eigh(centred.T @ centred / count)
        order = np.argsort(values)[::-1][:dim]
        values, directions = np.maximum(values[order], 0.0), vecs[:, order]
    matrix = directions.T / np.sqrt(values + shrinkage * values.mean() + 1e-9)[:, None]
    return matrix.astype(np.float32), (-matrix @ mean).astype(np.float32)


def vlad_batch(
    local_features: list[np.ndarray], centers: np.ndarray, alpha: float, chunk: int = 64
) -> np.ndarray:
    """:func:`vlad` of many images with equally many locations, vectorised: (N, C*K) float32."""
    centers = np.asarray(centers, np.float32)
    squared = (centers**2).sum(axis=1)
    out = []
    for start in range(0, len(local_features), chunk):
        x = np.stack(local_features[start : start + chunk]).astype(np.float32)  # (B, n, C)
        logits = 2.0 * alpha * (x @ centers.T) - alpha * squared
        logits -= logits.max(axis=-1, keepdims=True)
        weights = np.exp(logits)
        weights /= weights.sum(axis=-1, keepdims=True)  # (B, n, K)
        aggregated = np.einsum("bnc,bnk->bck", x, weights) - centers.T * weights.sum(1)[:, None]
        aggregated /= np.sqrt((aggregated**2).sum(axis=1, keepdims=True) + _EPS)
        flat = aggregated.reshape(len(x), -1)
        out.append(flat / np.sqrt((flat**2).sum(axis=1, keepdims=True) + _EPS))
    return np.concatenate(out).astype(np.float32)
