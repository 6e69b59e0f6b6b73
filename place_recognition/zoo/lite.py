"""The shipped netvlad-lite, made ready to use: built from the committed backbone on first use,
with an unknown-place threshold calibrated on a generated labelled set and stored in its IR.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from ..core.files import atomic_write_text
from ..core.model import EmbeddingModel
from ..eval.datasets import read_ground_truth_folder
from ..eval.runs import evaluate_dataset
from ..nets.lite_build import LITE_PATH, LiteRecipe, build_lite
from ..recognition.calibration import calibrate_on_ranking, store_threshold_in_model
from ..scenes.street import write_sample_dataset

logger = logging.getLogger(__name__)


def build_calibrated_lite(output: Path = LITE_PATH, progress: bool = False, **build) -> Path:
    """``build_lite`` (its keyword arguments in ``build``), then the threshold calibrated."""
    path = build_lite(Path(output), progress=progress, **build)
    calibrate_on_generated_set(path)
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


def ensure_lite_model(path: Path = LITE_PATH, progress: bool = False) -> Path:
    """The default netvlad-lite IR, built from the committed backbone on first use (~1 min).

    A ``.recipe`` file beside the IR names the recipe it was built with; when the project's
    recipe has changed since (an update of the code), the IR is built again, so an old build
    never silently stands in for the current model.
    """
    path = Path(path)
    stamp = path.with_suffix(".recipe")
    wanted = repr(LiteRecipe())
    built = stamp.read_text(encoding="utf-8") if stamp.is_file() else None
    if not path.is_file() or built != wanted:
        why = "once, about a minute" if not path.is_file() else "its recipe changed"
        logger.warning("building %s from the committed backbone (%s)", path, why)
        build_calibrated_lite(path, progress=progress)
        atomic_write_text(stamp, wanted)
    return path
