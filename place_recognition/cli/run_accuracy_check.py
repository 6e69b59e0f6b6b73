"""Run Open Model Zoo's Accuracy Checker on netvlad-tf from its own environment.

``python scripts/run_accuracy_check.py --setup`` creates the environment (once);
``python scripts/run_accuracy_check.py -s DATA_DIR -m MODEL`` evaluates.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..core.home import display_path
from ..eval.ac_runner import (
    CONFIG,
    DEFAULT_ENV,
    run_accuracy_check,
    setup_accuracy_checker,
)
from ._args import (
    CommandParser,
    add_device_arg,
    add_model_path_arg,
    add_verbosity_args,
    parse_size,
)
from ._run import run


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="run_accuracy_check",
        description="Evaluate a netvlad-tf IR with the Open Model Zoo Accuracy Checker "
        "(openvino-dev 2023.3.0, in its own virtual environment) on Pitts30k-val.",
    )
    parser.add_argument(
        "--setup", action="store_true", help="only create the Accuracy Checker environment and exit"
    )
    parser.add_argument(
        "-s", "--source", type=Path, help="data root holding pitts250k/ (layout: docs/accuracy.md)"
    )
    add_model_path_arg(parser, "the IR (.xml) or a folder holding exactly one IR")
    parser.add_argument(
        "-a",
        "--annotations",
        type=Path,
        default=None,
        help="keep the converted annotation here (reused on later runs)",
    )
    add_device_arg(parser, aliases=("-td",))  # -td: the Accuracy Checker's own spelling
    parser.add_argument(
        "--default-precision",
        action="store_true",
        help="use the device's default precision instead of forcing f32",
    )
    parser.add_argument(
        "--input-size",
        type=parse_size,
        default=None,
        help="HxW resize in the config (default: the IR's own input size)",
    )
    parser.add_argument("--config", type=Path, default=CONFIG, help=f"default {CONFIG.name}")
    parser.add_argument(
        "--env",
        type=Path,
        default=DEFAULT_ENV,
        help=f"environment folder (default {display_path(DEFAULT_ENV)})",
    )
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    if args.setup:
        print(f"Accuracy Checker ready: {setup_accuracy_checker(args.env)}")
        return 0
    if args.source is None or args.model is None:
        raise FileNotFoundError("give the data root with -s and the model with -m (or --setup)")
    result = run_accuracy_check(
        args.source,
        args.model,
        args.env,
        args.annotations,
        args.device,
        f32=not args.default_precision,
        config=args.config,
        quiet=args.quiet,
        input_size=args.input_size,
    )
    print("command: " + " ".join(result.command))
    reference = f" (reference {result.reference:.6f})" if result.reference else ""
    print(f"{result.metric}: {result.value:.6f} on {result.dataset_size} images{reference}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
