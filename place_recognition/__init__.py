"""Visual place recognition on OpenVINO: embed images, index a gallery, find the place."""

from __future__ import annotations

import logging

__version__ = "0.1.0"

from .core.model import EmbeddingModel
from .errors import PlaceRecognitionError
from .index.place_index import IndexMismatchError, PlaceIndex
from .recognition.recognizer import Match, PlaceRecognizer

__all__ = [
    "EmbeddingModel",
    "IndexMismatchError",
    "Match",
    "PlaceIndex",
    "PlaceRecognitionError",
    "PlaceRecognizer",
    "__version__",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
