"""Which unknown-place threshold the demo uses, and where it came from.

Order: ``--threshold`` when given; else the calibrated value stored with the gallery's index
(manifest key ``threshold``) or with the model (rt_info ``place_recognition/threshold``; the
default netvlad-lite build stores one), read as ``calibration.read_threshold`` does; else 0,
meaning every frame is given its nearest place, with a notice saying how to calibrate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..core.model import EmbeddingModel
from .calibration import read_threshold

logger = logging.getLogger(__name__)

UNCALIBRATED_DEFAULT = 0.0


@dataclass(frozen=True)
class Threshold:
    value: float
    source: str  # "--threshold", "index manifest", "model rt_info" or "default"


def resolve_threshold(
    requested: float | None, model: EmbeddingModel, index_dir: Path | None
) -> Threshold:
    """The threshold to use (see the module docstring for the order)."""
    if requested is not None:
        return Threshold(float(requested), "--threshold")
    in_index = read_threshold(None, index_dir)
    if in_index is not None:
        return Threshold(in_index, "index manifest")
    stored = model.info.get("threshold")
    if stored is not None:
        return Threshold(float(stored), "model rt_info")
    logger.warning(
        "no calibrated threshold for %s: every frame gets its nearest place (threshold %g). "
        "Calibrate one with scripts/calibrate_threshold.py or pass --threshold",
        model.name,
        UNCALIBRATED_DEFAULT,
    )
    return Threshold(UNCALIBRATED_DEFAULT, "default")
