"""Build the shipped netvlad-lite IR from the committed backbone IR (no torch, no download).

The head is fitted on generated scenes (``scenes/varied.py``) unless a calibration folder is
given. The first-use build of the shipped model, with its unknown-place threshold, is
``zoo.lite.ensure_lite_model``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import openvino as ov

from ..core.home import models_dir
from ..core.images import ImageFiles, list_images
from ..core.ir_files import save_ir
from ..core.model import RT_SECTION, EmbeddingModel
from ..errors import PlaceRecognitionError
from .head_fit import (
    FIT_PRECISION,
    HeadSettings,
    fit_head,
    local_features,
    scene_features,
)
from .lite import (
    BACKBONE_PATH,
    LITE_NAME,
    TAP_CHANNELS,
    build_lite_model,
    build_local_features_model,
    build_meanpool_model,
    read_backbone,
)

logger = logging.getLogger(__name__)

# Softer than NetVLAD's initialisation (0.01, nets/vocabulary.py): with 0.01 the INT8 copy lost
# 18-23 points of Recall@1 on corridor, its sharp assignment amplifying the backbone's INT8 error;
# 0.25 keeps INT8 recall there and float recall everywhere (docs/models.md, netvlad-lite).
LITE_SECOND_WEIGHT = 0.25


def default_lite_path() -> Path:
    """Where the shipped netvlad-lite is built: ``<data home>/models/netvlad-lite/``."""
    return models_dir() / LITE_NAME / f"{LITE_NAME}.xml"


@dataclass(frozen=True)
class LiteRecipe:
    """Design choices of netvlad-lite (chosen on nordland_train: docs/models.md, netvlad-lite)."""

    tap: str = "s32"
    input_size: tuple[int, int] = (240, 320)
    clusters: int = 32
    dim: int = 1024
    shrinkage: float = 0.1
    second_weight: float = LITE_SECOND_WEIGHT
    scenes: int = 2000  # generated images for the vocabulary and the whitening (> dim)
    seed: int = 0

    def head(self) -> HeadSettings:
        return HeadSettings(
            self.clusters,
            self.dim,
            self.shrinkage,
            seed=self.seed,
            second_weight=self.second_weight,
        )


def folder_images(folder: Path, max_images: int | None = None) -> ImageFiles:
    """Every readable image under ``folder`` (sorted); unreadable ones are logged and skipped."""
    return ImageFiles(Path(folder) / file.relpath for file in list_images(folder)[:max_images])


def build_lite(
    output: Path,
    recipe: LiteRecipe = LiteRecipe(),
    calibration: Path | None = None,
    backbone_path: Path = BACKBONE_PATH,
    fp16: bool = True,
    progress: bool = False,
) -> Path:
    """Fit the head on ``calibration`` (default: generated scenes) and save the netvlad-lite IR."""
    backbone = read_backbone(backbone_path)
    flat = build_local_features_model(backbone.clone(), recipe.tap, recipe.input_size)
    compile_f32 = partial(EmbeddingModel, precision=FIT_PRECISION)
    channels = TAP_CHANNELS[recipe.tap]
    if calibration is None:
        source = "generated scenes"
        features = scene_features(flat, channels, recipe.scenes, recipe.seed, compile_f32, progress)
    else:
        source = f"folder {Path(calibration).name}"
        features = local_features(flat, channels, folder_images(calibration), compile_f32, progress)
    if not features:
        raise PlaceRecognitionError(f"no readable images in the calibration folder {calibration}")
    params = fit_head(features, recipe.tap, recipe.head())
    params.info["vocabulary"] = source
    params.info["scene_seed"] = str(recipe.seed)
    model = build_lite_model(backbone, params, recipe.input_size)
    logger.info("netvlad-lite: %s, K=%d, %d-d, %s", recipe.tap, recipe.clusters, recipe.dim, source)
    return save_ir(model, Path(output), fp16=fp16)


def build_meanpool(
    output: Path,
    tap: str = "head",
    input_size: tuple[int, int] = (224, 224),
    backbone_path: Path = BACKBONE_PATH,
) -> Path:
    """The baseline: mean-pooled EfficientNet-Lite0 features (cosine), same BGR interface."""
    model = build_meanpool_model(read_backbone(backbone_path), tap, input_size)
    return save_ir(model, Path(output), fp16=True)


def is_lite_model(model: ov.Model) -> bool:
    return model.has_rt_info([RT_SECTION, "clusters"])
