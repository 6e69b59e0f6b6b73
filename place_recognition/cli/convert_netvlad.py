"""Convert a downloaded netvlad-tf checkpoint to the OMZ IR without TensorFlow."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from ..convert.download import NETVLAD_ZIP, fetch
from ..convert.tf_to_ir import (
    DEFAULT_INPUT_SIZE,
    convert_netvlad,
    locate_source,
    omz_ir_path,
    write_irs,
)
from ..core.ir_files import copy_ir
from ..errors import PlaceRecognitionError
from ._args import CommandParser, add_verbosity_args, parse_size
from ._omz import add_omz_tree_args
from ._run import run

logger = logging.getLogger("place_recognition.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="convert_netvlad",
        description="Convert the netvlad-tf checkpoint "
        "(vd16_pitts30k_conv5_3_vlad_preL2_intra_white) to the Open Model Zoo IR with "
        "OpenVINO's own TensorFlow frontend: no TensorFlow needed. The files are verified first.",
    )
    parser.add_argument(
        "source",
        type=Path,
        nargs="?",
        help="OMZ download folder, unpacked checkpoint folder or file, netvlad.zip (sha384 "
        "checked, unpacked beside itself) or a frozen model_frozen.pb",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="first fetch netvlad.zip (1.1 GB, size and digests checked) into "
        "OUTPUT/public/netvlad-tf/ and convert it (needs network)",
    )
    add_omz_tree_args(parser, "root of the OMZ tree written", "--output-dir")
    parser.add_argument(
        "--input-size",
        type=parse_size,
        default=DEFAULT_INPUT_SIZE,
        help="HEIGHTxWIDTH of the IR's input (default 200x300 as OMZ; the network is fully "
        "convolutional and larger inputs can raise recall, at a cost growing with the pixels)",
    )
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    source = locate_source(_source_path(args), progress=not args.quiet)
    logger.info("source: %s (%s)", source.path, source.kind)
    model = convert_netvlad(source, args.input_size)
    written = write_irs(model, args.output, args.precisions)
    for precision, path in written.items():
        print(f"wrote {path} ({precision})")
    if "FP32" in written and not args.no_copy:
        print(f"wrote {copy_ir(written['FP32'], args.model_path)} (FP32)")
    return 0


def _source_path(args: argparse.Namespace) -> Path:
    if args.download:
        folder = omz_ir_path(args.output, "FP32").parents[1]  # OUTPUT/public/netvlad-tf
        return fetch(NETVLAD_ZIP, folder, progress=not args.quiet)
    if args.source is None:
        raise PlaceRecognitionError("give the SOURCE to convert, or --download to fetch it")
    return args.source


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
