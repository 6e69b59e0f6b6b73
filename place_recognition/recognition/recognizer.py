"""PlaceRecognizer: a model and a gallery index together, answering "which place is this?"."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..core.model import EmbeddingModel
from ..index.place_index import Match, PlaceIndex, default_index_dir
from ..indexing.query_model import GIVEN, choose_query_model

__all__ = ["Match", "PlaceRecognizer"]

logger = logging.getLogger(__name__)


class PlaceRecognizer:
    """Embeds frames with ``model`` and searches them in ``index``.

    Args:
        model: the compiled embedding model; it must be the model the index was built with.
        index: the gallery's index.
        gallery: the gallery root, to resolve record paths to files.
        model_reason: why ``model`` embeds the queries (``indexing.query_model.STORED`` or
            ``GIVEN``).
    """

    def __init__(
        self,
        model: EmbeddingModel,
        index: PlaceIndex,
        gallery: Path | None = None,
        model_reason: str = GIVEN,
    ):
        if index.fingerprint != model.fingerprint:
            # PlaceIndex.load already checks this; here for indexes built in memory.
            raise ValueError(
                f"index built with {index.fingerprint.key}, model is {model.fingerprint.key}"
            )
        self.model = model
        self.model_reason = model_reason
        self.index = index
        self.gallery = Path(gallery) if gallery else None

    @classmethod
    def open(
        cls,
        model: EmbeddingModel,
        gallery: Path,
        index_dir: Path | None = None,
    ) -> PlaceRecognizer:
        """Load the saved index of ``gallery`` for ``model`` (default location unless given).

        When that index was fitted to the gallery from ``model``, the recognizer embeds frames
        with the fitted model stored with it. Which model, and why, is logged and kept in
        ``recognizer.model`` and ``recognizer.model_reason``.
        """
        directory = Path(index_dir) if index_dir else default_index_dir(gallery, model.fingerprint)
        choice = choose_query_model(model, directory)
        logger.info("queries are embedded with %s", choice.describe())
        index = PlaceIndex.load(directory, expected=choice.model.fingerprint)
        return cls(choice.model, index, gallery, choice.reason)

    def match(self, frame: np.ndarray, k: int = 5) -> list[Match]:
        """Top-``k`` gallery matches of one u8 BGR frame, best first."""
        return self.index.search(self.model.embed(frame), k)[0]

    def match_batch(self, frames: Sequence[np.ndarray], k: int = 5) -> list[list[Match]]:
        """Top-``k`` matches for each frame (frames are embedded with several requests)."""
        return self.index.search(self.model.embed_batch(frames), k)
