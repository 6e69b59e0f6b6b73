"""netvlad-lite: the EfficientNet-Lite0 backbone IR + a k-means-initialised NetVLAD head.

Built at run time with OpenVINO's graph API (no torch): the committed backbone IR
(``nets/data/efficientnet-lite0.xml``, exported by ``nets/backbone_export.py``) is cut at
one of its taps, its local features are L2-normalised per location, aggregated by NetVLAD,
intra-normalised, L2-normalised, PCA-whitened and L2-normalised again. The result has the
netvlad-tf interface (f32 BGR NHWC [1, H, W, 3] in 0..255, L2-normalised [1, D] out): the BGR->RGB
swap and the ImageNet mean/std are inside the graph, so ``EmbeddingModel`` treats both alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openvino as ov
from openvino import opset13 as ops
from openvino.preprocess import PrePostProcessor

from ..core.model import RT_SECTION
from .netvlad_tf import l2_normalize, netvlad_aggregate, whiten

# Committed with the code as package data (6.9 MB), so that an installed package builds
# netvlad-lite too; its LICENSE and NOTICE are beside it.
BACKBONE_PATH = Path(__file__).resolve().parent / "data" / "efficientnet-lite0.xml"
LITE_NAME = "netvlad-lite"
INPUT_NAME = "image"
OUTPUT_NAME = "descriptor"
LOCAL_FEATURES = "local_features"
# ImageNet statistics in 0..255 RGB, as the weights were trained with.
MEAN_RGB = (123.675, 116.28, 103.53)
STD_RGB = (58.395, 57.12, 57.375)


# Channels of the backbone IR's taps (backbone_export.TAPS, without importing torch code).
TAP_CHANNELS = {"s8": 40, "s16": 112, "s16x": 672, "s32": 320, "head": 1280}


@dataclass(frozen=True)
class NetVladParams:
    """A fitted NetVLAD head: vocabulary, assignment sharpness and PCA-whitening.

    ``centers``: (K, C) k-means centres of per-location L2-normalised features of ``tap``;
    ``alpha``: soft-assignment sharpness (w_k = 2 alpha c_k, b_k = -alpha |c_k|^2);
    ``whitening``: (dim, C*K) and ``bias`` (dim,), applied to the d-major VLAD (index c*K + k).
    ``info``: provenance (vocabulary source, image counts) written to the IR's rt_info.
    ``assignment`` (C, K) and ``assignment_bias`` (K,): a trained soft-assignment, decoupled
    from the centres as in the NetVLAD paper (``training/``); None = derived from the centres.
    """

    tap: str
    centers: np.ndarray
    alpha: float
    whitening: np.ndarray
    bias: np.ndarray
    info: dict[str, str] = field(default_factory=dict)
    assignment: np.ndarray | None = None
    assignment_bias: np.ndarray | None = None

    @property
    def clusters(self) -> int:
        return self.centers.shape[0]

    @property
    def dim(self) -> int:
        return self.whitening.shape[0]

    def soft_assignment(self) -> tuple[np.ndarray, np.ndarray]:
        """The assignment's 1x1-conv kernel (C, K) and bias (K,), float32."""
        centers = np.asarray(self.centers, np.float32)
        if self.assignment is not None and self.assignment_bias is not None:
            return (
                np.asarray(self.assignment, np.float32),
                np.asarray(self.assignment_bias, np.float32),
            )
        # w_k = 2 alpha c_k, b_k = -alpha |c_k|^2: softmax_k(-alpha |x - c_k|^2) for unit x
        return (2.0 * self.alpha * centers).T, -self.alpha * (centers**2).sum(axis=1)


def read_backbone(path: Path = BACKBONE_PATH) -> ov.Model:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"backbone IR not found: {path} (it ships with the package, in nets/data/; "
            "nets.backbone_export regenerates it)"
        )
    return ov.Core().read_model(path)


def tap_output(backbone: ov.Model, tap: str, input_size: tuple[int, int]) -> ov.Output:
    """The backbone output named ``tap`` after fixing the input to (height, width)."""
    height, width = input_size
    backbone.reshape({backbone.input(0): ov.PartialShape([1, 3, height, width])})
    for output in backbone.outputs:
        if tap in output.get_names():
            return output.get_node().input_value(0)
    names = sorted(n for o in backbone.outputs for n in o.get_names())
    raise ValueError(f"backbone has no tap {tap!r}; it has {', '.join(names)}")


def _bgr_model(backbone: ov.Model, output: ov.Node, name: str, output_name: str) -> ov.Model:
    """Wrap ``output`` of ``backbone`` as a model with the netvlad-tf style BGR NHWC input."""
    output.output(0).set_names({output_name})
    model = ov.Model([ops.result(output)], backbone.get_parameters(), name)
    model.input(0).get_tensor().set_names({INPUT_NAME})
    ppp = PrePostProcessor(model)
    image = ppp.input(0)
    image.tensor().set_layout(ov.Layout("NHWC"))
    image.model().set_layout(ov.Layout("NCHW"))
    # Steps run in order in the tensor's layout: BGR -> RGB first, then the RGB statistics.
    image.preprocess().reverse_channels().mean(list(MEAN_RGB)).scale(list(STD_RGB))
    model = ppp.build()
    model.set_rt_info(name, [RT_SECTION, "name"])
    return model


def _local_features(backbone: ov.Model, tap: str, input_size: tuple[int, int]) -> ov.Node:
    """Per-location L2-normalised tap features (1, C, h, w), named LOCAL_FEATURES.

    The name marks where the NetVLAD head starts, so a head can be re-fitted on any
    netvlad-lite IR without the backbone file (see :func:`refit_lite_model`).
    """
    features = l2_normalize(tap_output(backbone, tap, input_size), 1, "max")
    features.output(0).set_names({LOCAL_FEATURES})
    return features


def local_features_output(model: ov.Model) -> ov.Output:
    """The LOCAL_FEATURES tensor of a netvlad-lite IR (where its head starts)."""
    for op in model.get_ordered_ops():
        for output in op.outputs():
            if LOCAL_FEATURES in output.get_names():
                return output
    raise ValueError(
        f"model {model.get_friendly_name()} has no {LOCAL_FEATURES!r} tensor: it is not a "
        "netvlad-lite model, so its NetVLAD head cannot be fitted"
    )


def _flatten_nhwc(features: ov.Output) -> ov.Node:
    nhwc = ops.transpose(features, ops.constant(np.array([0, 2, 3, 1], np.int64)))
    return ops.reshape(nhwc, ops.constant(np.array([1, -1], np.int64)), special_zero=False)


def build_local_features_model(
    backbone: ov.Model, tap: str, input_size: tuple[int, int]
) -> ov.Model:
    """BGR image -> the tap's per-location L2-normalised features, flattened to [1, h*w*C].

    The [N, D] output shape lets ``EmbeddingModel`` run it (async, in-graph resize); reshape
    each row to (h*w, C) in NumPy (row-major NHWC order).
    """
    flat = _flatten_nhwc(_local_features(backbone, tap, input_size).output(0))
    return _bgr_model(backbone, flat, f"efficientnet-lite0-{tap}-local", "local_features_flat")


def local_features_model(lite: ov.Model) -> ov.Model:
    """A netvlad-lite IR cut where its head starts: the same input, [1, h*w*C] local features."""
    flat = _flatten_nhwc(local_features_output(lite))
    flat.output(0).set_names({"local_features_flat"})
    model = ov.Model([ops.result(flat)], lite.get_parameters(), "netvlad-lite-local")
    model.set_rt_info("netvlad-lite-local", [RT_SECTION, "name"])
    return model


def build_meanpool_model(backbone: ov.Model, tap: str, input_size: tuple[int, int]) -> ov.Model:
    """The baseline: the tap's feature map averaged over locations, L2-normalised (cosine)."""
    features = tap_output(backbone, tap, input_size)
    pooled = ops.reduce_mean(features, ops.constant(np.array([2, 3], np.int64)), keep_dims=False)
    output = l2_normalize(pooled, 1, "max")
    name = f"efficientnet-lite0-{tap}-meanpool"
    model = _bgr_model(backbone, output, name, "descriptor")
    model.set_rt_info(tap, [RT_SECTION, "tap"])
    return model


def _head(features: ov.Output, params: NetVladParams) -> ov.Node:
    centers = np.asarray(params.centers, np.float32)  # (K, C)
    assignment, assignment_bias = params.soft_assignment()
    vlad = netvlad_aggregate(features, assignment, assignment_bias, -centers.T)
    whitened = whiten(vlad, np.asarray(params.whitening, np.float32).T, params.bias)
    output = l2_normalize(whitened, 1, "max")
    output.output(0).set_names({OUTPUT_NAME})
    return output


def _describe(model: ov.Model, params: NetVladParams, name: str) -> ov.Model:
    info = {"name": name, "tap": params.tap, "clusters": str(params.clusters), **params.info}
    info["alpha"] = repr(float(params.alpha))
    for key, value in info.items():
        model.set_rt_info(value, [RT_SECTION, key])
    return model


def build_lite_model(
    backbone: ov.Model, params: NetVladParams, input_size: tuple[int, int]
) -> ov.Model:
    """netvlad-lite: f32 BGR NHWC [1, H, W, 3] 0..255 in, L2-normalised [1, dim] out."""
    features = _local_features(backbone, params.tap, input_size)
    model = _bgr_model(backbone, _head(features.output(0), params), LITE_NAME, OUTPUT_NAME)
    return _describe(model, params, LITE_NAME)


def refit_lite_model(lite: ov.Model, params: NetVladParams, name: str) -> ov.Model:
    """The same netvlad-lite graph up to its local features, with the head of ``params``."""
    head = _head(local_features_output(lite), params)
    model = ov.Model([ops.result(head)], lite.get_parameters(), name)
    return _describe(model, params, name)
