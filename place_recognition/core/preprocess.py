"""Image preprocessing: the in-graph version (PrePostProcessor) and its NumPy/OpenCV twin.

Both stretch the whole frame to the model's input size with bilinear interpolation, as the
Open Model Zoo Accuracy Checker does (no square crop, no aspect handling), and hand the model
float32 values in 0..255 in the channel order it was given (BGR for netvlad-tf). Everything else
(BGR->RGB swap, mean subtraction) lives inside the IR itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import openvino as ov
from openvino.preprocess import PrePostProcessor, ResizeAlgorithm

from ..errors import ModelContractError

_LAYOUTS = ("NHWC", "NCHW")


@dataclass(frozen=True)
class InputSpec:
    """The model's image input as read from the IR: name, layout and spatial size."""

    name: str
    layout: str  # "NHWC" or "NCHW"
    height: int
    width: int

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    def shape(self, batch: int = 1) -> list[int]:
        if self.layout == "NHWC":
            return [batch, self.height, self.width, 3]
        return [batch, 3, self.height, self.width]


def input_spec(model: ov.Model) -> InputSpec:
    """Read the single image input of ``model``; refuse anything that is not a 3-channel image."""
    if len(model.inputs) != 1:
        raise ModelContractError(
            f"model has {len(model.inputs)} inputs; a place-recognition model takes one image"
        )
    port = model.input(0)
    shape = port.get_partial_shape()
    if shape.rank.is_dynamic or shape.rank.get_length() != 4:
        raise ModelContractError(f"model input has shape {shape}; expected a rank-4 image tensor")
    layout = _layout_of(port, shape)
    dims = [shape[i] for i in range(4)]
    h_axis, w_axis = (1, 2) if layout == "NHWC" else (2, 3)
    if dims[h_axis].is_dynamic or dims[w_axis].is_dynamic:
        raise ModelContractError(
            f"model input has a dynamic size {shape}; give a fixed input size (input_size=H,W)"
        )
    name = port.any_name if port.get_names() else "input"
    return InputSpec(name, layout, dims[h_axis].get_length(), dims[w_axis].get_length())


def output_dim(model: ov.Model) -> int:
    """Embedding size D of the single [N, D] output; refuse other output shapes."""
    if len(model.outputs) != 1:
        raise ModelContractError(
            f"model has {len(model.outputs)} outputs; a place-recognition model has one [N, D]"
        )
    shape = model.output(0).get_partial_shape()
    if shape.rank.is_dynamic or shape.rank.get_length() != 2 or shape[1].is_dynamic:
        raise ModelContractError(
            f"model output has shape {shape}; expected [N, D], a global descriptor per image"
        )
    return shape[1].get_length()


def _layout_of(port: ov.Output, shape: ov.PartialShape) -> str:
    declared = ov.layout_helpers.get_layout(port).to_string().strip("[]").replace(",", "")
    if declared in _LAYOUTS:
        return declared
    channels_last = shape[3].is_static and shape[3].get_length() == 3
    channels_first = shape[1].is_static and shape[1].get_length() == 3
    if channels_last != channels_first:
        return "NHWC" if channels_last else "NCHW"
    raise ModelContractError(
        f"cannot tell the layout of input {shape}: expected 3 channels first (NCHW) or last (NHWC)"
    )


def embed_preprocessing(model: ov.Model, spec: InputSpec) -> ov.Model:
    """Return ``model`` taking u8 BGR frames [1, h, w, 3] of any h, w (resize happens in-graph)."""
    ppp = PrePostProcessor(model)
    image = ppp.input(0)
    image.tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    image.tensor().set_spatial_dynamic_shape()
    image.model().set_layout(ov.Layout(spec.layout))
    image.preprocess().convert_element_type(ov.Type.f32).resize(ResizeAlgorithm.RESIZE_LINEAR)
    ppp.output(0).tensor().set_element_type(ov.Type.f32)
    return ppp.build()


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A 3-channel u8 image from a grey, BGR or BGRA one (OpenCV's conventions)."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(
        f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}"
    )


def resize_reference(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """``image`` resized to the input as the graph does it: (height, width, 3) float32 BGR."""
    return cv2.resize(
        as_bgr(image).astype(np.float32), (spec.width, spec.height), interpolation=cv2.INTER_LINEAR
    )


def preprocess_reference(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """NumPy/OpenCV twin of :func:`embed_preprocessing` (the graph's input after its own steps).

    ``image``: (H, W, 3) uint8 BGR. Returns the float32 tensor of ``spec.shape()`` fed to the IR.
    The resize runs on float32 values, as the graph does, so the two agree to rounding error.
    """
    tensor = resize_reference(image, spec)[None]
    if spec.layout == "NCHW":
        tensor = tensor.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(tensor)
