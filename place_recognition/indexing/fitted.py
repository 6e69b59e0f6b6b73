"""Which model embeds a gallery's images and queries: the base model or one fitted to it.

``build_index.py --fit-to-gallery`` (``fitting.fit_to_gallery``) saves a model whose NetVLAD
head is fitted to the gallery inside the gallery's index folder and records it in the manifest
(key ``fitted_model``, with the base model's fingerprint). From then on, everything that opens
that index with the base model (``update_index``, ``PlaceRecognizer.open``) embeds with the
fitted model instead, through :func:`resolve_gallery_model`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..core.fingerprint import ModelFingerprint
from ..core.model import EmbeddingModel
from ..index.place_index import FITTED_MODEL, default_index_dir, read_manifest

logger = logging.getLogger(__name__)


def fitted_model_path(directory: Path, base: ModelFingerprint) -> Path | None:
    """The IR of the model fitted from ``base`` saved in index folder ``directory``, if any."""
    manifest = read_manifest(directory, missing_ok=True)
    entry = (manifest or {}).get(FITTED_MODEL)
    if not entry or entry.get("base_model", {}).get("sha256") != base.sha256:
        return None
    return Path(directory) / entry["xml"]


def resolve_gallery_model(
    model: EmbeddingModel, gallery: Path, index_dir: Path | None = None
) -> EmbeddingModel:
    """The model to embed ``gallery``'s images and its queries with.

    Returns the gallery-fitted model saved in the index folder (default
    ``<gallery>/.place_index/<model key>/``) when that index was fitted from ``model``,
    compiled with ``model``'s device and options; otherwise ``model`` itself.
    """
    directory = Path(index_dir) if index_dir else default_index_dir(gallery, model.fingerprint)
    path = fitted_model_path(directory, model.fingerprint)
    if path is None:
        return model
    fitted = model.sibling(path)
    logger.info("using the model fitted to this gallery: %s (%s)", path, fitted.describe())
    return fitted
