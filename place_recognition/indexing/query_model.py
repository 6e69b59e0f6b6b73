"""Which model embeds a gallery's images and queries: the model given, or the one stored with
the index.

Every index manifest names its query model (``query_model``, index/manifest.py). An index
fitted to its gallery (indexing/gallery_fit.py) stores the fitted model's files in the index
folder and names the model it was fitted from; whoever opens that index with that model
(``update_index``, ``PlaceRecognizer.open``) embeds with the stored model instead, and says so.
Nothing else ever replaces the model given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.fingerprint import ModelFingerprint
from ..core.model import EmbeddingModel
from ..errors import IndexFormatError
from ..index.manifest import read_manifest

STORED = "the gallery-fitted model stored with the index"
GIVEN = "the model given"


@dataclass(frozen=True)
class QueryModelChoice:
    """The model that embeds for an index, and why (``STORED`` or ``GIVEN``)."""

    model: EmbeddingModel
    reason: str

    def describe(self) -> str:
        """One line for the log: which model, and why."""
        return f"{self.model.path} ({self.model.describe()}): {self.reason}"


def stored_model_path(directory: Path, given: ModelFingerprint) -> Path | None:
    """The IR .xml of the model stored in index folder ``directory`` that was made from
    ``given`` (a gallery-fitted model), or None when there is none."""
    manifest = read_manifest(directory, missing_ok=True)
    query = manifest.query_model if manifest else None
    if query is None or not query.files or query.fitted_from is None:
        return None
    if query.fitted_from.sha256 != given.sha256:
        return None
    return Path(directory) / query.files["xml"]


def choose_query_model(
    model: EmbeddingModel, directory: Path, unreadable_ok: bool = False
) -> QueryModelChoice:
    """The stored gallery-fitted model when the index in ``directory`` was fitted from
    ``model`` (compiled with ``model``'s device and options), else ``model`` itself.

    ``unreadable_ok``: a damaged manifest names no stored model (rebuilding it), else refused.
    """
    try:
        path = stored_model_path(directory, model.fingerprint)
    except IndexFormatError:
        if not unreadable_ok:
            raise
        path = None
    if path is None:
        return QueryModelChoice(model, GIVEN)
    return QueryModelChoice(model.sibling(path), STORED)
