"""Visual place recognition on OpenVINO: embed images, index a gallery, find the place.

The names a program needs, importable from here (``docs/api_example.py`` uses them all)::

    from place_recognition import (
        EmbeddingModel, PlaceRecognizer, default_model, read_image, resolve_threshold,
        update_index,
    )

    model = EmbeddingModel(default_model())       # netvlad-lite unless netvlad-tf is there
    update = update_index(model, "gallery/")      # build or refresh the persisted index
    recognizer = PlaceRecognizer.open(update.model, "gallery/", update.directory)
    best = recognizer.match(read_image("photo.jpg"), k=1)[0]
    threshold = resolve_threshold(None, recognizer.model, update.directory)
    known = best.score >= threshold.value

    stream = RouteStream.of(recognizer)            # a video along the gallery's routes
    answer = stream.push(frame)                    # .matches, and .sequence / .record

Everything else is in the subpackages (their ``__init__`` docstrings say what each owns).
"""

from __future__ import annotations

import logging

from ._version import __version__
from .core.images import read_image
from .core.model import EmbeddingModel
from .errors import (
    DeviceError,
    IndexFormatError,
    IndexMismatchError,
    IndexMissingError,
    IndexWriteError,
    ModelContractError,
    PlaceRecognitionError,
    RuntimeFailure,
)
from .index.place_index import Match, PlaceIndex
from .index.records import GalleryRecord
from .indexing.update import IndexUpdate, UpdateOptions, update_index
from .recognition.calibration import (
    Calibration,
    calibrate_threshold,
    store_threshold_in_index,
    store_threshold_in_model,
)
from .recognition.recognizer import PlaceRecognizer
from .recognition.thresholds import Threshold, resolve_threshold
from .sequence.settings import SequenceSettings
from .sequence.stream import RouteStream, StreamAnswer
from .zoo.default import default_model
from .zoo.lite import ensure_lite_model

__all__ = [
    "Calibration",
    "DeviceError",
    "EmbeddingModel",
    "GalleryRecord",
    "IndexFormatError",
    "IndexMismatchError",
    "IndexMissingError",
    "IndexUpdate",
    "IndexWriteError",
    "Match",
    "ModelContractError",
    "PlaceIndex",
    "PlaceRecognitionError",
    "PlaceRecognizer",
    "RouteStream",
    "RuntimeFailure",
    "SequenceSettings",
    "StreamAnswer",
    "Threshold",
    "UpdateOptions",
    "__version__",
    "calibrate_threshold",
    "default_model",
    "ensure_lite_model",
    "read_image",
    "resolve_threshold",
    "store_threshold_in_index",
    "store_threshold_in_model",
    "update_index",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
