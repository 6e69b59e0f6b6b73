"""Which unknown-place threshold a recognizer uses, and where it came from.

The first of these that exists:

1. the threshold given (the command line's ``--threshold``);
2. the threshold calibrated on labelled queries and stored with the index (``calibrated``);
3. for an index whose query model was fitted to its gallery, the threshold derived from the
   gallery itself (``gallery``, indexing/gallery_threshold.py): the fitted model scores on
   another scale than the model it was made from, whose stored threshold does not apply;
4. the threshold stored with the model (IR rt_info ``place_recognition/threshold``; the
   default netvlad-lite build stores one);
5. 0: every frame gets its nearest place, with a warning saying how to calibrate.

A gallery-derived threshold is not used for an index that was not fitted: measured on three
real sets it rejected nearly every known place there (docs/thresholds.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..core.model import EmbeddingModel
from ..index.manifest import read_manifest
from .calibration import CALIBRATED

logger = logging.getLogger(__name__)

UNCALIBRATED_DEFAULT = 0.0
GALLERY = "gallery"  # indexing.gallery_threshold.NAME

GIVEN = "given"
INDEX_CALIBRATED = "calibrated on labelled queries, stored with the index"
INDEX_GALLERY = "derived from the gallery, stored with the index"
MODEL = "stored with the model"
DEFAULT = "default"


@dataclass(frozen=True)
class Threshold:
    value: float
    source: str  # one of GIVEN, INDEX_CALIBRATED, INDEX_GALLERY, MODEL, DEFAULT

    def describe(self) -> str:
        return f"{self.value:.4f} ({self.source})"


def resolve_threshold(
    requested: float | None, model: EmbeddingModel, index_dir: Path | None
) -> Threshold:
    """The threshold to use (see the module docstring for the order)."""
    if requested is not None:
        return Threshold(float(requested), GIVEN)
    manifest = read_manifest(index_dir, missing_ok=True) if index_dir is not None else None
    stored = {
        name: entry["value"] for name, entry in (manifest.thresholds if manifest else {}).items()
    }
    fitted = manifest is not None and manifest.query_model.fitted_from is not None
    in_model = model.info.get("threshold")
    candidates = [
        (stored.get(CALIBRATED), INDEX_CALIBRATED),
        (stored.get(GALLERY) if fitted else None, INDEX_GALLERY),
        (in_model, MODEL),
    ]
    for value, source in candidates:
        if value is not None:
            return Threshold(float(value), source)
    logger.warning(
        "no calibrated threshold for %s: every frame gets its nearest place (threshold %g). "
        "Calibrate one on labelled queries, or give one",
        model.name,
        UNCALIBRATED_DEFAULT,
    )
    return Threshold(UNCALIBRATED_DEFAULT, DEFAULT)
