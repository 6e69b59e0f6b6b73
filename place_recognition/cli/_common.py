"""What every command shares: model flags, logging, and turning user errors into one line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..core.devices import PERFORMANCE_HINTS, PRECISIONS
from ..core.home import display_path
from ..core.model import EmbeddingModel
from ..errors import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    PlaceRecognitionError,
    Remedy,
)
from ..nets.synthetic import synthetic_dir, write_synthetic_model
from ..zoo.default import default_model, netvlad_tf_path

logger = logging.getLogger("place_recognition.cli")

DEFAULT_MODEL = netvlad_tf_path()  # in the data home (core/home.py)
# What the measuring commands run by default: speed does not depend on the weight values.
FULL_SIZE_SYNTHETIC = synthetic_dir() / "netvlad-tf-synthetic.xml"


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _float_type(accepts: Callable[[float], bool], expected: str) -> Callable[[str], float]:
    """An argparse type: a number for which ``accepts`` holds; ``expected`` names the range."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accepts(value):  # also refuses nan
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


positive_float = _float_type(lambda value: value > 0, "a positive number")
share = _float_type(lambda value: 0 <= value <= 1, "a number from 0 to 1")
weight_fraction = _float_type(lambda value: 0 < value < 1, "a number between 0 and 1")


def int_list(text: str) -> list[int]:
    """argparse type: comma-separated integers, scientific notation allowed (100000,1e6)."""
    try:
        return [int(float(part)) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, like 1000,1e6; got {text!r}"
        ) from None


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """-m, -d, --precision, --hint, --cache-dir."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "-m",
        "--model",
        type=Path,
        default=None,
        help=f"IR .xml or .onnx embedding model (default: {display_path(DEFAULT_MODEL)} when it "
        "exists, else netvlad-lite, built on first use)",
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


def add_index_mode_args(
    parser: argparse.ArgumentParser, building: bool, keep_by_default: bool = False
) -> None:
    """--index-mode (when building) and --nprobe.

    ``keep_by_default``: without --index-mode, an existing index keeps its mode (the demo, so
    that starting it never rebuilds an index that build_index made in another mode).
    """
    group = parser.add_argument_group("index mode")
    if building:
        default = "the saved index's mode; auto for a new index" if keep_by_default else "auto"
        group.add_argument(
            "--index-mode",
            default=None if keep_by_default else "auto",
            metavar="MODE",
            help="exact, auto (exact below 200,000 images, else IVF + 8-bit codes trained on "
            "the gallery, re-ranked exactly) or a faiss factory string such as IVF1024,PQ64 or "
            f"PCAR128,HNSW32 (default: {default}); a change of mode rebuilds the faiss index "
            "from the stored vectors, nothing is embedded again",
        )
    group.add_argument(
        "--nprobe",
        type=positive_int,
        default=None,
        help="approximate index: inverted lists visited per query (more: slower, closer to "
        "exact; default: the index's own, 64 when built)",
    )


def add_verbosity_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (and log details)"
    )


def setup_logging(args: argparse.Namespace) -> None:
    level = (
        logging.DEBUG
        if args.verbose or args.debug
        else logging.WARNING
        if args.quiet
        else logging.INFO
    )
    logging.basicConfig(level=level, format="[%(levelname)s] %(message)s", stream=sys.stderr)


# --- default model: netvlad-tf when present, else netvlad-lite ------------------------------
def resolve_model_path(path: Path | None, progress: bool = True) -> Path:
    """The -m value, else the library's default model (zoo/default.py), which logs its choice.

    netvlad-lite is built from the committed backbone IR on first use (no download, no torch),
    with a progress bar unless ``progress`` is False.
    """
    return path if path is not None else default_model(progress=progress)


# --- end default model ------------------------------------------------------------------------


def require_measured_model(path: Path) -> None:
    """A measuring command's -m must exist; the default full-size stand-in is built once."""
    if path.is_file():
        return
    if path != FULL_SIZE_SYNTHETIC:
        raise FileNotFoundError(f"model file not found: {path}")
    print(f"building {path} (full-size synthetic netvlad-tf, 0.6 GB, once)", flush=True)
    write_synthetic_model(path)


def load_model(
    args: argparse.Namespace, input_size: tuple[int, int] | None = None, batch: int = 1
) -> EmbeddingModel:
    return EmbeddingModel(
        resolve_model_path(args.model, progress=not getattr(args, "quiet", False)),
        device=args.device,
        precision=args.precision,
        performance_hint=args.hint,
        cache_dir=args.cache_dir,
        input_size=input_size,
        batch=batch,
    )


def run(
    main: Callable[[argparse.Namespace], int],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
) -> int:
    """Parse, log argv, call ``main``; errors become one line on stderr and an exit code.

    Exit codes (errors.py): 2 for usage and input errors, 1 for runtime failures and internal
    errors, 130 when interrupted. ``--debug`` re-raises, so Python shows the traceback.
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2, already printed)
        return EXIT_OK if not exc.code else EXIT_INPUT
    setup_logging(args)
    logger.debug("argv: %s", list(sys.argv if argv is None else argv))
    try:
        return main(args)
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        code, message = _describe_failure(exc, parser)
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return code


# The options that apply a library error's remedy: (options, hint when this command has the
# first of them, hint otherwise). The library says the remedy in words; this names the flag.
_REMEDY_OPTIONS: dict[Remedy, tuple[tuple[str, ...], str, str]] = {
    Remedy.REBUILD_INDEX: (("--rebuild",), "run again with --rebuild", "build_index --rebuild"),
    Remedy.INDEX_FOLDER: (("--index", "--output"), "give another {option}", "--index"),
    Remedy.INDEX_MODE: (("--index-mode",), "{option}", "build_index --index-mode"),
    Remedy.DIMENSIONS: (("--dim",), "{option}", "--dim"),
    Remedy.CLUSTERS: (("--clusters",), "{option}", "--clusters"),
    Remedy.CALIBRATION_IMAGES: (("--calibration",), "{option}", "--calibration"),
    Remedy.TARGET_PRECISION: (("--target-precision",), "{option}", "--target-precision"),
    Remedy.LOSS: (("--loss",), "{option}", "--loss"),
    Remedy.POSITIVE_RADIUS: (("--pos-radius",), "{option}", "--pos-radius"),
    Remedy.NEGATIVE_RADIUS: (("--neg-radius",), "--neg-radius, --val-fraction", "--neg-radius"),
    Remedy.POSITIONS: (("--positions",), "--positions CSV or --position-from-name", "--positions"),
    Remedy.RESUME: (("--resume",), "drop --resume", "--resume"),
    Remedy.OUTPUT_FOLDER: (("--output", "-o"), "another {option}", "-o"),
    Remedy.API_KEY: (("--api-key",), "--api-key KEY, or --insecure to allow it", "--api-key"),
    Remedy.CHECKPOINT_FILES: (
        ("--files",),
        "convert_netvlad converts the zip without TensorFlow; or {option} FOLDER",
        "convert_netvlad, or omz_netvlad --files",
    ),
}


def remedy_hint(remedy: Remedy, parser: argparse.ArgumentParser) -> str:
    """The command-line form of a library remedy for this command, e.g. ``run again with
    --rebuild`` (or the command that has the option, when this one has not)."""
    options, present, absent = _REMEDY_OPTIONS[remedy]
    own = [option for option in options if option in parser._option_string_actions]
    return present.format(option=own[0]) if own else absent


def _describe_failure(exc: Exception, parser: argparse.ArgumentParser) -> tuple[int, str]:
    """(exit code, one line) for an exception that ends a command."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, PlaceRecognitionError):
        remedy = getattr(exc, "remedy", None)
        hint = f" ({remedy_hint(remedy, parser)})" if remedy is not None else ""
        return exc.exit_code, text + hint
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return EXIT_INPUT, text
    if isinstance(exc, OSError):  # disk full, permission denied ...: the machine, not the input
        return EXIT_RUNTIME, text
    if isinstance(exc, RuntimeError):  # raised by OpenVINO and faiss themselves
        return EXIT_RUNTIME, f"runtime error: {text}"
    return EXIT_RUNTIME, f"internal error ({type(exc).__name__}: {text}); --debug shows where"
