"""How every command runs: logging set up from -v/-q/--debug, and errors turned into one line
on stderr with an exit code (errors.py) instead of a traceback."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from ..errors import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    PlaceRecognitionError,
    Remedy,
)

logger = logging.getLogger("place_recognition.cli")


def setup_logging(args: argparse.Namespace) -> None:
    level = (
        logging.DEBUG
        if args.verbose or args.debug
        else logging.WARNING
        if args.quiet
        else logging.INFO
    )
    logging.basicConfig(level=level, format="[%(levelname)s] %(message)s", stream=sys.stderr)


def command_line(command: str, *arguments: str) -> str:
    """How a user runs ``command`` with ``arguments``, for messages that name the fix."""
    return " ".join([f"place-recognition {command}", *arguments])


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
