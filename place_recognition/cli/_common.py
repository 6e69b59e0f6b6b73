"""What every command shares: model flags, logging, and turning user errors into one line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..devices import PERFORMANCE_HINTS, PRECISIONS
from ..errors import PlaceRecognitionError
from ..lite_build import ensure_lite_model
from ..model import EmbeddingModel

logger = logging.getLogger("place_recognition.cli")

DEFAULT_MODEL = Path("models") / "netvlad-tf.xml"


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """-m, -d, --precision, --hint, --cache-dir."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "-m",
        "--model",
        type=Path,
        default=None,
        help=f"IR .xml or .onnx embedding model (default: {DEFAULT_MODEL} when it exists, "
        "else netvlad-lite, built on first use)",
    )
    group.add_argument(
        "-d",
        "--device",
        default="CPU",
        help="OpenVINO device, passed unchanged: CPU, GPU, NPU, AUTO, HETERO:GPU,CPU ... "
        "(default: CPU)",
    )
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="inference precision hint (default: the device's own, bf16 on recent Xeon/EPYC)",
    )
    group.add_argument(
        "--hint",
        choices=PERFORMANCE_HINTS,
        default=None,
        help="OpenVINO performance hint (default: the device's own)",
    )
    group.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="OpenVINO model cache folder: later starts compile much faster",
    )


def add_verbosity_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")


def setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="[%(levelname)s] %(message)s", stream=sys.stderr)


# --- default model (issue 5): netvlad-tf when present, else netvlad-lite ---------------------
def resolve_model_path(path: Path | None) -> Path:
    """The -m value, else ``models/netvlad-tf.xml`` when it exists, else netvlad-lite.

    netvlad-lite is built from the committed backbone IR on first use (no download, no torch).
    The choice is logged, so every command says at start-up which model it uses.
    """
    if path is not None:
        return path
    if DEFAULT_MODEL.is_file():
        logger.info("model: %s (netvlad-tf, the default when present)", DEFAULT_MODEL)
        return DEFAULT_MODEL
    lite = ensure_lite_model()
    logger.info("model: %s (netvlad-lite; %s is not there)", lite, DEFAULT_MODEL)
    return lite


# --- end default model ------------------------------------------------------------------------


def load_model(
    args: argparse.Namespace, input_size: tuple[int, int] | None = None
) -> EmbeddingModel:
    return EmbeddingModel(
        resolve_model_path(args.model),
        device=args.device,
        precision=args.precision,
        performance_hint=args.hint,
        cache_dir=args.cache_dir,
        input_size=input_size,
    )


def run(
    main: Callable[[argparse.Namespace], int],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
) -> int:
    """Parse, log argv, call ``main``; user errors become one line on stderr and exit code 2."""
    args = parser.parse_args(argv)
    setup_logging(args)
    logger.debug("argv: %s", list(sys.argv if argv is None else argv))
    try:
        return main(args)
    except (PlaceRecognitionError, FileNotFoundError, NotADirectoryError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
