"""The shipped netvlad-lite, made ready to use: built from the committed backbone on first use,
with an unknown-place threshold calibrated on a generated labelled set and stored in its IR.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from ..core.files import atomic_write_text
from ..core.model import EmbeddingModel
from ..eval.datasets import read_ground_truth_folder
from ..eval.runs import evaluate_dataset
from ..nets.lite import BACKBONE_PATH
from ..nets.lite_build import LiteRecipe, build_lite, default_lite_path
from ..recognition.calibration import calibrate_on_ranking, store_threshold_in_model
from ..scenes.street import write_sample_dataset

logger = logging.getLogger(__name__)

# What a first-use build costs, said before it starts. Measured on 2 cores of an AMD EPYC
# (AVX-512 BF16; the head is fitted in f32): 91 s in .ci/run with other jobs on the machine,
# 95 s of CPU time when 5-7 minutes of wall time under a load average of 10; more on an
# AVX2-only machine.
FIRST_BUILD_COST = "about a minute on 2 cores"


def build_calibrated_lite(
    output: Path | None = None,
    recipe: LiteRecipe | None = None,
    calibration: Path | None = None,
    fp16: bool = True,
    progress: bool = False,
) -> Path:
    """``build_lite`` (default: the shipped recipe, into the data home), then the threshold.

    A default build (the shipped recipe, generated scenes, FP16) leaves a ``.recipe`` stamp
    beside the IR, so that :func:`ensure_lite_model` takes it as the shipped model; any other
    build removes the stamp, so it never silently stands in for the shipped model.
    """
    path = Path(output) if output else default_lite_path()
    recipe = recipe or LiteRecipe()
    stamp = path.with_suffix(".recipe")
    stamp.unlink(missing_ok=True)  # a half-done rebuild must not keep the old stamp
    build_lite(path, recipe, calibration, BACKBONE_PATH, fp16, progress)
    calibrate_on_generated_set(path)
    if recipe == LiteRecipe() and calibration is None and fp16:
        atomic_write_text(stamp, repr(recipe))
    return path


def calibrate_on_generated_set(model_path: Path) -> float:
    """Store the unknown-place threshold derived on a generated labelled set (scenes/street.py)."""
    with tempfile.TemporaryDirectory(prefix="place-recognition-") as tmp:
        dataset = read_ground_truth_folder(write_sample_dataset(Path(tmp) / "calibration"))
        model = EmbeddingModel(model_path)
        _, ranking = evaluate_dataset(model, dataset, (1,), use_cache=False)
    calibration = calibrate_on_ranking(ranking["scores"], ranking["indices"], dataset.positives)
    store_threshold_in_model(model_path, calibration.threshold)
    logger.info("unknown-place %s of a generated labelled set", calibration.describe())
    return calibration.threshold


def ensure_lite_model(path: Path | None = None, progress: bool = False) -> Path:
    """The shipped netvlad-lite IR (default ``<data home>/models/netvlad-lite/``), built from
    the committed backbone on first use (about a minute; logged, with its time afterwards).

    A ``.recipe`` file beside the IR names the recipe it was built with; when the project's
    recipe has changed since (an update of the code), the IR is built again, so an old build
    never silently stands in for the current model.
    """
    path = Path(path) if path else default_lite_path()
    stamp = path.with_suffix(".recipe")
    built = stamp.read_text(encoding="utf-8") if stamp.is_file() else None
    if path.is_file() and built == repr(LiteRecipe()):
        return path
    why = "first use" if not path.is_file() else "the recipe of the one there differs"
    logger.warning("building netvlad-lite once (%s, %s): %s", why, FIRST_BUILD_COST, path)
    started = time.perf_counter()
    build_calibrated_lite(path, progress=progress)
    logger.info("netvlad-lite built in %.0f s: %s", time.perf_counter() - started, path)
    return path
