"""What the two ways to get netvlad-tf (``convert_netvlad``, ``omz_netvlad``) share: the Open
Model Zoo tree they write, its precisions, and the copy of the FP32 IR as the default model."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..convert.tf_to_ir import PRECISIONS
from ..core.home import models_dir
from ._args import add_aliases
from ._common import DEFAULT_MODEL

DEFAULT_OMZ_DIR = models_dir() / "omz"


def parse_precisions(text: str) -> tuple[str, ...]:
    """argparse type: 'FP16,FP32' -> ('FP16', 'FP32'), as omz_converter --precisions."""
    values = tuple(dict.fromkeys(v.strip().upper() for v in text.split(",") if v.strip()))
    unknown = [v for v in values if v not in PRECISIONS]
    if unknown or not values:
        raise argparse.ArgumentTypeError(
            f"expected FP32 and/or FP16 (comma-separated), got {text!r}"
        )
    return values


def add_omz_tree_args(parser: argparse.ArgumentParser, what: str, old_spelling: str) -> None:
    """-o/--output (the tree's root; ``old_spelling`` kept as an alias), --precisions,
    --model-path and --no-copy."""
    output = parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OMZ_DIR,
        metavar="DIR",
        help=f"{what}: DIR/public/netvlad-tf/<precision>/netvlad-tf.xml (default "
        f"{DEFAULT_OMZ_DIR})",
    )
    add_aliases(parser, output, old_spelling)
    parser.add_argument(
        "--precisions",
        type=parse_precisions,
        default=PRECISIONS,
        help="FP32 and/or FP16, comma-separated (default FP32,FP16)",
    )
    parser.add_argument(
        "--model-path",
        type=Path,
        default=DEFAULT_MODEL,
        help=f"copy of the FP32 IR, the default model of the tools (default {DEFAULT_MODEL})",
    )
    parser.add_argument("--no-copy", action="store_true", help="keep the FP32 IR in the tree only")
