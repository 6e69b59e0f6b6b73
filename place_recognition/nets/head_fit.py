"""Fitting a netvlad-lite head to a set of images: the shipped build and fitting to a gallery.

The backbone's per-location features of the images are sampled for k-means (the vocabulary),
the images' VLAD vectors under that vocabulary give the PCA-whitening, and the fitted head is
put on the same backbone graph (``lite.refit_lite_model``). Only reference/gallery images are
ever used, never queries.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov
from tqdm import tqdm

from ..core.files import atomic_save_npy, sha256_bytes, sha256_files
from ..core.home import cache_dir
from ..core.model import EmbeddingModel, rt_value
from ..errors import PlaceRecognitionError, Remedy
from ..scenes.varied import render_scene
from .lite import NetVladParams
from .vocabulary import (
    SECOND_NEAREST_WEIGHT,
    fit_vocabulary,
    fit_whitening,
    sample_descriptors,
    vlad_batch,
)

logger = logging.getLogger(__name__)

DESCRIPTORS_PER_IMAGE = 100
# Local features for fitting are computed with the f32 hint whatever the user's precision: a
# head is fitted once and then used for every image, and the CPU's default bf16 moves backbone
# activations by up to ~0.4 (docs/background/precision.md), which the k-means and PCA would bake in.
FIT_PRECISION = "f32"
# A gallery's vocabulary comes from few descriptors (70 per image), so one k-means run depends
# on its seed; the best of several runs (lowest distortion) is steadier. nordland_train, 18 random
# 10-image galleries: R@1 0.572 with 5 runs vs 0.556 with one (docs/models.md, "Small galleries").
GALLERY_KMEANS_RESTARTS = 5
# A gallery's own vocabulary keeps NetVLAD's sharp assignment whatever the base model's (the
# shipped head's is softer, nets/lite_build.py): softened to 0.25 it scored corridor R@1 0.613
# instead of 0.730 and nordland_train 0.127 instead of 0.131 (docs/models.md, netvlad-lite).
GALLERY_SECOND_WEIGHT = SECOND_NEAREST_WEIGHT


@dataclass(frozen=True)
class HeadSettings:
    """What to fit: K clusters, output ``dim`` and the whitening regulariser (see vocabulary)."""

    clusters: int
    dim: int
    shrinkage: float = 0.0
    descriptors_per_image: int = DESCRIPTORS_PER_IMAGE
    seed: int = 0
    restarts: int = 1  # k-means runs; the lowest-distortion one is kept
    second_weight: float = SECOND_NEAREST_WEIGHT  # soft-assignment sharpness (nets/vocabulary.py)


def local_features(
    flat_model: ov.Model,
    channels: int,
    images: Iterable[np.ndarray],
    compile_model: Callable[[Path], EmbeddingModel],
    progress: bool = False,
) -> list[np.ndarray]:
    """Per-location L2-normalised features of each image: a list of (h*w, C) float16 arrays.

    ``flat_model``: a graph with the [1, h*w*C] local-features output (``nets/lite.py``);
    ``compile_model`` compiles its saved IR (with the caller's device and options).
    """
    with _compiled(flat_model, compile_model) as (local, _):
        return _extract(local, channels, images, progress, "features")


def scene_features(
    flat_model: ov.Model,
    channels: int,
    count: int,
    seed: int,
    compile_model: Callable[[Path], EmbeddingModel],
    progress: bool = False,
) -> list[np.ndarray]:
    """:func:`local_features` of ``calibration_scenes(count, seed)``, cached per user.

    Every build and every gallery fit whitens with the same 2000 scenes, whose rendering and
    features cost about a minute on 2 cores; the cache (``cache_dir()/scene-features``, ~90 MB
    each) is keyed by the graph's bytes, the device and precision it ran with, the OpenVINO
    version, the scene count and seed and a rendered scene (a renderer change misses).
    """
    with _compiled(flat_model, compile_model) as (local, xml):
        cache_file = cache_dir() / "scene-features" / f"{_scene_key(xml, local, count, seed)}.npy"
        cached = _load_scene_cache(cache_file, count)
        if cached is not None:
            logger.info("features of %d generated scenes from the cache %s", count, cache_file)
            return cached
        scenes = calibration_scenes(count, seed)
        features = _extract(local, channels, scenes, progress, "features (scenes)", count)
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_save_npy(cache_file, np.stack(features))
    except OSError as exc:  # the cache only saves time (read-only home, full disk)
        logger.debug("could not write the scene-feature cache %s: %s", cache_file, exc)
    return features


@contextmanager
def _compiled(
    flat_model: ov.Model, compile_model: Callable[[Path], EmbeddingModel]
) -> Iterator[tuple[EmbeddingModel, Path]]:
    with tempfile.TemporaryDirectory(prefix="place-recognition-") as tmp:
        path = Path(tmp) / "local.xml"
        ov.save_model(flat_model, path, compress_to_fp16=False)
        yield compile_model(path), path


def _extract(
    local: EmbeddingModel,
    channels: int,
    images: Iterable[np.ndarray],
    progress: bool,
    desc: str,
    total: int | None = None,
) -> list[np.ndarray]:
    if total is None and isinstance(images, Sized):  # ImageFiles, lists
        total = len(images)
    rows = tqdm(local.embed_iter(images), total=total, unit="img", desc=desc, disable=not progress)
    return [row.reshape(-1, channels).astype(np.float16) for row in rows]


def _scene_key(xml: Path, local: EmbeddingModel, count: int, seed: int) -> str:
    graph = sha256_files([xml, xml.with_suffix(".bin")])
    probe = sha256_bytes(next(iter(calibration_scenes(1, seed))).tobytes())
    setting = f"{graph} {local.device} {local.precision} {ov.__version__} {count} {seed} {probe}"
    return sha256_bytes(setting.encode())[:32]


def _load_scene_cache(path: Path, count: int) -> list[np.ndarray] | None:
    try:
        stacked = np.load(path, mmap_mode="r")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # damaged: computed again and rewritten
        logger.warning("ignoring the damaged scene-feature cache %s: %s", path, exc)
        return None
    if stacked.ndim != 3 or len(stacked) != count or stacked.dtype != np.float16:
        logger.warning("ignoring the scene-feature cache %s: unexpected shape", path)
        return None
    return list(stacked)


def calibration_scenes(count: int, seed: int = 0) -> Iterator[np.ndarray]:
    """The generated images the shipped head is fitted on (``scenes.render_scene``)."""
    for i in range(count):
        yield render_scene(seed * 1_000_003 + i)


def fit_head(
    features: list[np.ndarray],
    tap: str,
    settings: HeadSettings,
    extra_whitening: list[np.ndarray] = (),
) -> NetVladParams:
    """Vocabulary (k-means + alpha) and PCA-whitening fitted on the images' local features.

    ``extra_whitening``: local features of more images that join only the whitening's sample
    (the generated scenes, so that a gallery smaller than ``dim`` can still be whitened).
    """
    if len(features) + len(extra_whitening) <= settings.dim:
        raise PlaceRecognitionError(
            f"{len(features) + len(extra_whitening)} images cannot fit a {settings.dim}-d "
            "whitening: it needs more images than dimensions (add images or lower the output "
            "dimensions)",
            remedy=Remedy.DIMENSIONS,
        )
    descriptors = sample_descriptors(features, settings.descriptors_per_image, settings.seed)
    centers, alpha = fit_vocabulary(
        descriptors,
        settings.clusters,
        settings.seed,
        restarts=settings.restarts,
        second_weight=settings.second_weight,
    )
    vlads = vlad_batch([*features, *extra_whitening], centers, alpha)
    whitening, bias = fit_whitening(vlads, settings.dim, settings.shrinkage)
    logger.info(
        "fitted NetVLAD K=%d (alpha %.1f) on %d descriptors, whitening %d -> %d on %d images",
        settings.clusters,
        alpha,
        len(descriptors),
        vlads.shape[1],
        settings.dim,
        len(features),
    )
    info = {
        "vocabulary_images": str(len(features)),
        "whitening_images": str(len(vlads)),
        "shrinkage": repr(settings.shrinkage),
        "kmeans_restarts": str(settings.restarts),
        "second_nearest_weight": repr(settings.second_weight),
    }
    return NetVladParams(tap, centers, alpha, whitening, bias, info)


def head_settings_of(model: ov.Model, clusters: int | None, dim: int | None) -> HeadSettings:
    """Settings for re-fitting a netvlad-lite IR to a gallery: its own K, dim and shrinkage unless
    given; the gallery's k-means restarts and assignment sharpness."""
    own_clusters = rt_value(model, "clusters")
    own_dim = model.output(0).get_partial_shape()[1].get_length()
    shrinkage = float(rt_value(model, "shrinkage") or 0.0)
    if own_clusters is None and clusters is None:
        raise PlaceRecognitionError(
            "the model does not record its number of clusters (K): give it",
            remedy=Remedy.CLUSTERS,
        )
    return HeadSettings(
        clusters or int(own_clusters),
        dim or own_dim,
        shrinkage,
        restarts=GALLERY_KMEANS_RESTARTS,
        second_weight=GALLERY_SECOND_WEIGHT,
    )
