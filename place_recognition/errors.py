"""Exceptions for mistakes a user can fix; the CLI prints them as one line, without a traceback.

Exit codes of every command (README, "Exit codes"): 0 ok; 2 usage or input error (a bad option,
a missing or damaged file, an unknown device, a refused model or index: the user can fix it);
1 runtime failure (OpenVINO could not compile or infer, a write failed, or an internal error);
130 interrupted. ``exit_code`` on an exception class says which one it is.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


class PlaceRecognitionError(Exception):
    """A user-facing error: the message names the file or option at fault and the fix."""

    exit_code = EXIT_INPUT


class RuntimeFailure(PlaceRecognitionError):
    """The input was fine but the machine could not do the work (compile, infer, write)."""

    exit_code = EXIT_RUNTIME


class DeviceError(PlaceRecognitionError):
    """The requested OpenVINO device is not available on this machine."""


class ModelContractError(PlaceRecognitionError, ValueError):
    """The model does not look like an image-embedding model (rank-4 image in, [N, D] out)."""
