"""The netvlad-tf topology (VGG16 + NetVLAD + WPCA) built with OpenVINO's graph API.

Weights are given as a dict keyed by the TensorFlow variable names of ``netvlad_tf_open``'s
``vgg16NetvladPca`` (``vgg16_netvlad_pca/conv1_1/kernel`` ...), in TensorFlow's shapes, so the same
builder serves random stand-in weights and the real checkpoint's variables. The layer-by-layer
reference is docs/background/netvlad-tf.md.
"""

from __future__ import annotations

import numpy as np
import openvino as ov
from openvino import opset1
from openvino import opset13 as ops
from openvino.preprocess import PrePostProcessor

SCOPE = "vgg16_netvlad_pca"
INPUT_NAME = "Placeholder"
OUTPUT_NAME = f"{SCOPE}/l2_normalize_1"

# (name, with ReLU) per conv; a 2x2 max-pool and a ReLU follow each block but the last.
VGG_BLOCKS = (
    (("conv1_1", True), ("conv1_2", False)),
    (("conv2_1", True), ("conv2_2", False)),
    (("conv3_1", True), ("conv3_2", True), ("conv3_3", False)),
    (("conv4_1", True), ("conv4_2", True), ("conv4_3", False)),
    (("conv5_1", True), ("conv5_2", True), ("conv5_3", False)),
)
VGG_WIDTHS = (64, 128, 256, 512, 512)
NUM_CLUSTERS = 64
PCA_DIM = 4096
_EPS = 1e-12


def const(value: np.ndarray) -> ov.Node:
    """A float32 constant node."""
    return ops.constant(np.ascontiguousarray(value, dtype=np.float32))


def _conv(x: ov.Node, kernel: np.ndarray, bias: np.ndarray | None) -> ov.Node:
    # TF kernels are HWIO; OpenVINO wants OIHW.
    weights = const(np.transpose(kernel, (3, 2, 0, 1)))
    y = ops.convolution(x, weights, [1, 1], [1, 1], [1, 1], [1, 1], auto_pad="same_upper")
    if bias is None:
        return y
    return ops.add(y, const(bias.reshape(1, -1, 1, 1)))


def l2_normalize(x: ov.Node, axis: int, eps_mode: str) -> ov.Node:
    """L2-normalise ``x`` along ``axis``; see the eps modes below."""
    # eps_mode "max" is tf.nn.l2_normalize (x / sqrt(max(sum, eps)));
    # "add" is netvlad_tf's matconvnetNormalize (x / sqrt(sum + eps)).
    return ops.normalize_l2(x, ops.constant(np.array([axis], np.int64)), _EPS, eps_mode)


def _vgg16(x: ov.Node, weights: dict[str, np.ndarray]) -> ov.Node:
    last_block = len(VGG_BLOCKS) - 1
    for block_index, block in enumerate(VGG_BLOCKS):
        for name, relu in block:
            x = _conv(x, weights[f"{SCOPE}/{name}/kernel"], weights[f"{SCOPE}/{name}/bias"])
            if relu:
                x = ops.relu(x)
        if block_index < last_block:
            x = ops.relu(opset1.max_pool(x, [2, 2], [0, 0], [0, 0], [2, 2], "floor"))
    return x


def _netvlad(features: ov.Node, weights: dict[str, np.ndarray]) -> ov.Node:
    """NCHW local features (N, D, H, W) -> intra- and L2-normalised VLAD (N, D*K), d-major."""
    assignment = weights[f"{SCOPE}/assignment/kernel"][0, 0]  # (D, K)
    centers = weights[f"{SCOPE}/cluster_centers"][0, 0, 0]  # (D, K), negated centroids
    return netvlad_aggregate(features, assignment, None, centers)


def netvlad_aggregate(
    features: ov.Node,
    assignment: np.ndarray,
    assignment_bias: np.ndarray | None,
    negated_centers: np.ndarray,
) -> ov.Node:
    """The NetVLAD layer on NCHW local features (N, D, H, W).

    ``assignment``: (D, K) 1x1-conv kernel and optional (K,) bias of the soft-assignment, followed
    by a softmax over K; ``negated_centers``: (D, K), -c_k as netvlad_tf stores them (residual
    x + C). Returns the intra-normalised, L2-normalised VLAD (N, D*K), flattened d-major (d*K + k).
    """
    dim, clusters = negated_centers.shape
    kernel = assignment.reshape(1, 1, dim, clusters)
    soft = ops.softmax(_conv(features, kernel, assignment_bias), 1)  # (N, K, H, W)
    flat_shape = ops.constant(np.array([0, 0, -1], np.int64))
    x = ops.reshape(features, flat_shape, special_zero=True)  # (N, D, HW)
    a = ops.reshape(soft, flat_shape, special_zero=True)  # (N, K, HW)
    # sum_hw a_k * (x_d + C_dk) = (x @ a^T)_dk + C_dk * sum_hw a_k
    weighted = ops.matmul(x, a, transpose_a=False, transpose_b=True)  # (N, D, K)
    mass = ops.reduce_sum(a, ops.constant(np.array([2], np.int64)), keep_dims=True)  # (N, K, 1)
    mass = ops.transpose(mass, ops.constant(np.array([0, 2, 1], np.int64)))  # (N, 1, K)
    vlad = ops.add(weighted, ops.multiply(mass, const(negated_centers.reshape(1, dim, clusters))))
    vlad = l2_normalize(vlad, 1, "add")  # intra-normalisation over D, per cluster
    vlad = ops.reshape(vlad, ops.constant(np.array([0, -1], np.int64)), special_zero=True)
    return l2_normalize(vlad, 1, "add")


def whiten(vlad: ov.Node, kernel: np.ndarray, bias: np.ndarray) -> ov.Node:
    """PCA-whitening as netvlad_tf's WPCA: (N, D*K) @ kernel (D*K, out) + bias (out,)."""
    pca = ops.matmul(vlad, const(kernel), transpose_a=False, transpose_b=False)
    return ops.add(pca, const(bias[None]))


def build_netvlad_model(weights: dict[str, np.ndarray], input_size: tuple[int, int]) -> ov.Model:
    """The netvlad-tf IR interface: f32 [1, H, W, 3] NHWC **BGR** 0..255 in, [1, D] out.

    The graph itself is the RGB TensorFlow network; a channel reversal is prepended with
    PrePostProcessor, as ``omz_converter --reverse_input_channels`` does for the OMZ IR.
    """
    height, width = input_size
    image = ops.parameter([1, height, width, 3], np.float32, name=INPUT_NAME)
    x = ops.subtract(image, const(weights[f"{SCOPE}/average_rgb"]))
    x = ops.transpose(x, ops.constant(np.array([0, 3, 1, 2], np.int64)))  # NHWC -> NCHW
    x = l2_normalize(_vgg16(x, weights), 1, "max")  # per-location L2 over channels
    vlad = _netvlad(x, weights)
    pca_kernel = weights[f"{SCOPE}/WPCA/kernel"]  # [1, 1, D*K, out]
    pca = whiten(vlad, pca_kernel[0, 0], weights[f"{SCOPE}/WPCA/bias"])
    output = l2_normalize(pca, 1, "max")
    output.output(0).set_names({OUTPUT_NAME})
    model = ov.Model([ops.result(output)], [image], "netvlad-tf")
    ppp = PrePostProcessor(model)
    ppp.input(0).tensor().set_layout(ov.Layout("NHWC"))
    ppp.input(0).model().set_layout(ov.Layout("NHWC"))
    ppp.input(0).preprocess().reverse_channels()
    return ppp.build()


def weight_shapes(width: int = 1, clusters: int = NUM_CLUSTERS) -> dict[str, tuple[int, ...]]:
    """TensorFlow variable shapes of ``vgg16NetvladPca``; ``width`` divides every channel count."""
    shapes: dict[str, tuple[int, ...]] = {f"{SCOPE}/average_rgb": (3,)}
    channels_in = 3
    for block, block_width in zip(VGG_BLOCKS, VGG_WIDTHS, strict=True):
        channels_out = max(1, block_width // width)
        for name, _ in block:
            shapes[f"{SCOPE}/{name}/kernel"] = (3, 3, channels_in, channels_out)
            shapes[f"{SCOPE}/{name}/bias"] = (channels_out,)
            channels_in = channels_out
    dim = channels_in
    pca_dim = max(1, PCA_DIM // width)
    shapes[f"{SCOPE}/assignment/kernel"] = (1, 1, dim, clusters)
    shapes[f"{SCOPE}/cluster_centers"] = (1, 1, 1, dim, clusters)
    shapes[f"{SCOPE}/WPCA/kernel"] = (1, 1, dim * clusters, pca_dim)
    shapes[f"{SCOPE}/WPCA/bias"] = (pca_dim,)
    return shapes
