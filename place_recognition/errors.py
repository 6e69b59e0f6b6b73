"""Exceptions for mistakes a user can fix; the CLI prints them as one line, without a traceback.

Exit codes of every command (docs/exit-codes.md): 0 ok; 2 usage or input error (a bad option,
a missing or damaged file, an unknown device, a refused model or index: the user can fix it);
1 runtime failure (OpenVINO could not compile or infer, a write failed, or an internal error);
130 interrupted. ``exit_code`` on an exception class says which one it is.

Messages speak in library terms ("rebuild the index"); an error whose fix is a setting also
carries a :class:`Remedy`, which the command line turns into the option that applies it.
"""

from __future__ import annotations

from enum import Enum

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


class Remedy(Enum):
    """The setting that fixes an error, machine-readable (the message says it in words)."""

    REBUILD_INDEX = "rebuild the index"
    INDEX_FOLDER = "choose another index folder"
    INDEX_MODE = "choose another index mode"
    DIMENSIONS = "choose the output dimensions"
    CLUSTERS = "give the number of clusters"
    CALIBRATION_IMAGES = "give a folder of calibration images"
    TARGET_PRECISION = "lower the target precision"
    LOSS = "choose the training loss"
    POSITIVE_RADIUS = "widen the positive radius"
    NEGATIVE_RADIUS = "change the negative radius or the validation share"
    POSITIONS = "give image positions"
    RESUME = "start training afresh"
    OUTPUT_FOLDER = "choose another output folder"
    CHECKPOINT_FILES = "give the folder of the checkpoint files"
    API_KEY = "give an API key, or allow access without one"


class PlaceRecognitionError(Exception):
    """A user-facing error: the message names the file or setting at fault and the fix.

    ``remedy``: the setting that fixes it, when there is one (the CLI names its option).
    """

    exit_code = EXIT_INPUT

    def __init__(self, *args: object, remedy: Remedy | None = None) -> None:
        super().__init__(*args)
        self.remedy = remedy


class RuntimeFailure(PlaceRecognitionError):
    """The input was fine but the machine could not do the work (compile, infer, write)."""

    exit_code = EXIT_RUNTIME


class DeviceError(PlaceRecognitionError):
    """The requested OpenVINO device is not available on this machine."""


class ModelContractError(PlaceRecognitionError, ValueError):
    """The model does not look like an image-embedding model (rank-4 image in, [N, D] out)."""


class IndexMismatchError(PlaceRecognitionError, ValueError):
    """The index was built with another model than the one given."""


class IndexFormatError(PlaceRecognitionError):
    """The index folder is damaged or was written by a newer version."""


class IndexMissingError(PlaceRecognitionError, FileNotFoundError):
    """There is no index in the folder yet."""


class IndexWriteError(RuntimeFailure):
    """The index folder cannot be written (read-only, full disk)."""
