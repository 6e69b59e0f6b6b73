"""INT8 copy of an IR, quantized by NNCF on a folder of calibration images."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from ..nets.int8 import (
    FIDELITY_WARNING,
    FLOAT_FRONT_SHARE,
    int8_fidelity,
    quantize_int8,
)
from ._args import CommandParser, add_model_path_arg, add_verbosity_args, positive_int, share
from ._common import resolve_model_path
from ._run import run

logger = logging.getLogger("place_recognition.cli.quantize_int8")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="quantize_int8",
        description="Post-training INT8 quantization with NNCF (pip install -r "
        "scripts/requirements-int8.txt). The result has the same interface as the input IR.",
    )
    add_model_path_arg(
        parser,
        "IR to quantize (default: <home>/models/netvlad-tf.xml when it exists, else netvlad-lite)",
    )
    parser.add_argument(
        "--calibration",
        type=Path,
        required=True,
        help="folder of images like those the model will see (e.g. the gallery; never the "
        "queries you evaluate on)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="output IR (default: MODEL-int8.xml)"
    )
    parser.add_argument(
        "--subset", type=positive_int, default=300, help="calibration images used (default 300)"
    )
    parser.add_argument(
        "--whole-model",
        action="store_true",
        help="quantize the NetVLAD head and whitening too (default: only the backbone)",
    )
    parser.add_argument(
        "--float-front",
        type=share,
        default=FLOAT_FRONT_SHARE,
        metavar="SHARE",
        help="keep the first operations, which read the image, in float while they cost at most "
        f"this share of the compute (default {FLOAT_FRONT_SHARE}; 0: quantize them too)",
    )
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="skip the comparison of INT8 and float descriptors on up to 100 calibration-folder "
        "images not used for calibration",
    )
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    model = resolve_model_path(args.model)
    output = args.output or model.with_name(f"{model.stem}-int8.xml")
    quantize_int8(
        model,
        args.calibration,
        output,
        args.subset,
        float_head=not args.whole_model,
        float_front=args.float_front,
    )
    print(f"INT8 model: {output}")
    if args.no_check:
        return 0
    fidelity = int8_fidelity(model, output, args.calibration, skip=args.subset)
    print(fidelity.describe())
    if fidelity.mean_cosine < FIDELITY_WARNING:
        logger.warning(
            "the INT8 descriptors differ from the float ones (mean cosine below %.1f): expect "
            "lower recall; measure it with scripts/evaluate.py on labelled images before using "
            "this copy (BENCHMARKS.md, INT8)",
            FIDELITY_WARNING,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
