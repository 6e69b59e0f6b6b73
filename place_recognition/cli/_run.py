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
    return " ".join([f"python scripts/{command}.py", *arguments])


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
        code, message = _describe_failure(exc)
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return code


def _describe_failure(exc: Exception) -> tuple[int, str]:
    """(exit code, one line) for an exception that ends a command."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, PlaceRecognitionError):
        return exc.exit_code, text
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return EXIT_INPUT, text
    if isinstance(exc, OSError):  # disk full, permission denied ...: the machine, not the input
        return EXIT_RUNTIME, text
    if isinstance(exc, RuntimeError):  # raised by OpenVINO and faiss themselves
        return EXIT_RUNTIME, f"runtime error: {text}"
    return EXIT_RUNTIME, f"internal error ({type(exc).__name__}: {text}); --debug shows where"
