"""Fitting to a gallery: a netvlad-lite head fitted to a gallery, saved with its index.

The vocabulary is fitted on the gallery's own images (AnyLoc's lesson: a domain vocabulary
helps); the whitening on the gallery's VLADs plus those of the generated scenes, so that even a
gallery of ten images gets a well-posed whitening. The fitted IR goes into the index folder as
``model.<generation>.xml/.bin`` and the manifest names it as the index's query model, made from
the base model (``query_model``); ``choose_query_model`` then uses it whenever the base model
opens that index (``update_index``, ``PlaceRecognizer.open``), and says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path

import numpy as np

from ..core.ir_files import save_ir
from ..core.model import EmbeddingModel, read_model, rt_value
from ..errors import PlaceRecognitionError
from ..index.manifest import QueryModel
from ..index.place_index import PlaceIndex, default_index_dir
from ..nets.head_fit import (
    FIT_PRECISION,
    fit_head,
    head_settings_of,
    local_features,
    scene_features,
)
from ..nets.lite import local_features_model, local_features_output, refit_lite_model
from ..nets.lite_build import LiteRecipe, folder_images, is_lite_model
from .query_model import STORED
from .routes import RouteMode
from .update import IndexUpdate, UpdateOptions, update_index

logger = logging.getLogger(__name__)

FITTED_NAME = "netvlad-lite-fitted"


def fit_lite_to_images(
    model: EmbeddingModel,
    images: Iterable[np.ndarray],
    output: Path,
    source: str,
    clusters: int | None = None,
    dim: int | None = None,
    progress: bool = False,
    scenes: int = LiteRecipe.scenes,
) -> Path:
    """Re-fit ``model``'s NetVLAD head (K, dim: its own unless given) on ``images``; save IR."""
    graph = read_model(model.path)
    if not is_lite_model(graph):
        raise PlaceRecognitionError(
            f"{model.path} has no NetVLAD head to fit: fitting to a gallery needs a netvlad-lite "
            "model (models/netvlad-lite/netvlad-lite.xml)"
        )
    settings = head_settings_of(graph, clusters, dim)
    flat = local_features_model(graph)
    channels = local_features_output(graph).get_partial_shape()[1].get_length()
    compile_f32 = partial(model.sibling, precision=FIT_PRECISION)
    features = local_features(flat, channels, images, compile_f32, progress)
    if not features:
        raise PlaceRecognitionError(f"no readable images to fit on in {source}")
    recipe = LiteRecipe()
    extra = scene_features(flat, channels, scenes, recipe.seed, compile_f32, progress)
    params = fit_head(features, rt_value(graph, "tap") or recipe.tap, settings, extra)
    params.info["vocabulary"] = source
    return save_ir(refit_lite_model(graph, params, FITTED_NAME), Path(output), fp16=True)


def fit_to_gallery(
    model: EmbeddingModel,
    gallery: Path,
    index_dir: Path | None = None,
    clusters: int | None = None,
    dim: int | None = None,
    max_images: int | None = None,
    progress: bool = False,
    scenes: int = LiteRecipe.scenes,
    routes: RouteMode | None = None,
) -> IndexUpdate:
    """Fit ``model``'s head to ``gallery``, save it in the index folder and index the gallery.

    ``scenes``: generated images that join the gallery's in the whitening sample; ``routes``:
    how the gallery's folders map to routes (as for ``update_index``).
    The index folder defaults to ``<gallery>/.place_index/<model key>/``, the same folder the
    base model uses, so later runs with the base model find and use the fitted one.
    ``IndexUpdate.model`` is the fitted model (use it, or ``PlaceRecognizer.open``, to search).
    """
    gallery = Path(gallery)
    directory = Path(index_dir) if index_dir else default_index_dir(gallery, model.fingerprint)
    directory.mkdir(parents=True, exist_ok=True)
    generation = PlaceIndex.next_generation(directory)
    xml = directory / f"model.{generation:06d}.xml"
    started = time.perf_counter()
    fit_lite_to_images(
        model,
        folder_images(gallery, max_images),
        xml,
        f"gallery {gallery.name}",
        clusters,
        dim,
        progress,
        scenes,
    )
    logger.info("fitted to %s in %.1f s: %s", gallery, time.perf_counter() - started, xml)
    fitted = model.sibling(xml)
    query_model = QueryModel(
        fitted.fingerprint,
        files={"xml": xml.name, "bin": xml.with_suffix(".bin").name},
        fitted_from=model.fingerprint,
        info={"vocabulary": fitted.info.get("vocabulary", "")},
    )
    options = UpdateOptions(rebuild=True, max_images=max_images, progress=progress, routes=routes)
    update = update_index(fitted, gallery, directory, options, query_model=query_model)
    update.model_reason = STORED
    return update
