"""Exceptions for mistakes a user can fix; the CLI prints them as one line, without a traceback."""

from __future__ import annotations


class PlaceRecognitionError(Exception):
    """A user-facing error: the message names the file or option at fault and the fix."""


class DeviceError(PlaceRecognitionError):
    """The requested OpenVINO device is not available on this machine."""


class ModelContractError(PlaceRecognitionError, ValueError):
    """The model does not look like an image-embedding model (rank-4 image in, [N, D] out)."""
