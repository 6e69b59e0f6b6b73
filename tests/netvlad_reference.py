"""An independent NumPy implementation of netvlad_tf's ``vgg16NetvladPca``.

The network as docs/background/netvlad-tf.md describes it.

Written the way the TensorFlow code computes, in NHWC and float64, with none of the package's
graph code: it is the oracle that the OpenVINO stand-in (and converted checkpoints) are checked
against. Input: RGB float images 0..255, shape (N, H, W, 3).
"""

from __future__ import annotations

import numpy as np

SCOPE = "vgg16_netvlad_pca"
_CONVS = (
    ("conv1_1", True),
    ("conv1_2", False),
    "pool",
    ("conv2_1", True),
    ("conv2_2", False),
    "pool",
    ("conv3_1", True),
    ("conv3_2", True),
    ("conv3_3", False),
    "pool",
    ("conv4_1", True),
    ("conv4_2", True),
    ("conv4_3", False),
    "pool",
    ("conv5_1", True),
    ("conv5_2", True),
    ("conv5_3", False),
)


def conv3x3_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """TF conv2d, 3x3, stride 1, 'same' padding; x (N, H, W, Ci), kernel (3, 3, Ci, Co)."""
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((n, h, w, kernel.shape[3]))
    for dy in range(3):
        for dx in range(3):
            out += padded[:, dy : dy + h, dx : dx + w, :] @ kernel[dy, dx]
    return out + bias


def max_pool_2x2(x: np.ndarray) -> np.ndarray:
    """TF max_pooling2d(2, 2), 'valid': odd sizes are floored."""
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def tf_l2_normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x / np.sqrt(np.maximum((x**2).sum(axis=axis, keepdims=True), 1e-12))


def matconvnet_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt((x**2).sum(axis=-1, keepdims=True) + 1e-12)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def netvlad_forward(images_rgb: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """(N, H, W, 3) RGB 0..255 -> (N, out_dim) global descriptors, float64."""
    w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    x = np.asarray(images_rgb, np.float64) - w[f"{SCOPE}/average_rgb"]
    for step in _CONVS:
        if step == "pool":
            x = np.maximum(max_pool_2x2(x), 0.0)
            continue
        name, relu = step
        x = conv3x3_same(x, w[f"{SCOPE}/{name}/kernel"], w[f"{SCOPE}/{name}/bias"])
        if relu:
            x = np.maximum(x, 0.0)
    x = tf_l2_normalize(x)  # (N, H, W, D)
    soft = softmax(x @ w[f"{SCOPE}/assignment/kernel"][0, 0])  # (N, H, W, K)
    residuals = x[..., :, None] + w[f"{SCOPE}/cluster_centers"]  # (N, H, W, D, K)
    vlad = (soft[..., None, :] * residuals).sum(axis=(1, 2))  # (N, D, K)
    vlad = matconvnet_normalize(vlad.transpose(0, 2, 1)).transpose(0, 2, 1)
    vlad = matconvnet_normalize(vlad.reshape(vlad.shape[0], -1))
    pca = vlad @ w[f"{SCOPE}/WPCA/kernel"][0, 0] + w[f"{SCOPE}/WPCA/bias"]
    return tf_l2_normalize(pca)
