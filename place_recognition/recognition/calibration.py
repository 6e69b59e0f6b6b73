"""The unknown-place threshold: derived from a labelled set, stored with the model or index.

A query's top-1 cosine score is a *positive* when its top-1 is one of its positives and a
*negative* otherwise (a wrong place, or a place the gallery does not have). Accepting only
scores >= t gives precision = positives accepted / all accepted and recall = positives accepted
/ queries that have a positive. The threshold maximises F1, or is the lowest t reaching a target
precision. It is stored with the index (manifest ``thresholds``, name ``calibrated``) or with the
model (IR rt_info ``place_recognition/threshold``); recognition/thresholds.py says which applies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import openvino as ov

from ..core.files import folder_lock
from ..core.ir_files import save_ir
from ..core.model import RT_SECTION
from ..errors import PlaceRecognitionError, Remedy
from ..index.manifest import read_manifest, update_manifest

RT_THRESHOLD = "threshold"  # rt_info key under place_recognition/
CALIBRATED = "calibrated"  # its name in the index manifest's ``thresholds``


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold and how it performs on the labelled set it came from."""

    threshold: float
    precision: float
    recall: float
    f1: float
    positives: int
    negatives: int

    def to_json(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """``threshold 0.557: F1 0.83 (precision 0.91, recall 0.77) on 24 queries, 20 of them
        with the right top-1``, for logs and reports."""
        return (
            f"threshold {self.threshold:.3f}: F1 {self.f1:.2f} (precision {self.precision:.2f}, "
            f"recall {self.recall:.2f}) on {self.positives + self.negatives} queries, "
            f"{self.positives} of them with the right top-1"
        )


def calibrate_threshold(
    top1_scores: np.ndarray,
    top1_correct: np.ndarray,
    has_positive: np.ndarray,
    target_precision: float | None = None,
) -> Calibration:
    """Threshold from per-query top-1 scores (Q,), correctness (Q,) bool, answerable (Q,) bool."""
    scores = np.asarray(top1_scores, np.float64)
    correct = np.asarray(top1_correct, bool)
    answerable = max(int(np.sum(has_positive)), 1)
    if not correct.any():
        raise PlaceRecognitionError(
            "no query's top-1 is correct on this set: no threshold can be derived"
        )
    order = np.argsort(-scores, kind="stable")
    accepted_true = np.cumsum(correct[order])
    accepted = np.arange(1, len(scores) + 1)
    precision = accepted_true / accepted
    recall = accepted_true / answerable
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    # Only cut between distinct scores: a cut inside a run of ties is not a real threshold.
    last_of_run = np.r_[scores[order][1:] != scores[order][:-1], True]
    if target_precision is None:
        best = int(np.argmax(np.where(last_of_run, f1, -1)))
    else:
        ok = np.flatnonzero(last_of_run & (precision >= target_precision))
        if ok.size == 0:
            raise PlaceRecognitionError(
                f"no threshold reaches precision {target_precision} on this set; lower the "
                "target precision",
                remedy=Remedy.TARGET_PRECISION,
            )
        best = int(ok[-1])
    return Calibration(
        threshold=float(scores[order][best]),
        precision=float(precision[best]),
        recall=float(recall[best]),
        f1=float(f1[best]),
        positives=int(correct.sum()),
        negatives=int((~correct).sum()),
    )


def store_threshold_in_index(
    index_dir: Path, threshold: float, calibration: Calibration | None = None
) -> None:
    """Store ``threshold`` in the index manifest as its ``calibrated`` threshold, with the
    ``calibration`` it came from (kept by later saves of the same model's index).

    The manifest is read, changed and written back atomically under the index folder's lock,
    so a save committing meanwhile cannot be undone (with its data files already deleted);
    while another run updates the index this fails at once, saying so.
    """
    read_manifest(index_dir)  # no index: fail before the lock creates the folder
    entry = {"value": float(threshold), "method": "labelled queries"}
    if calibration is not None:
        entry.update({k: v for k, v in calibration.to_json().items() if k != "threshold"})
    with folder_lock(index_dir, "index"):
        thresholds = dict(read_manifest(index_dir).thresholds)
        thresholds[CALIBRATED] = entry
        update_manifest(index_dir, thresholds=thresholds)


def store_threshold_in_model(model_path: Path, threshold: float) -> Path:
    """Write rt_info ``place_recognition/threshold`` into the IR (rewrites the .xml and .bin).

    The model's sha256, and so its fingerprint, changes: index galleries after calibrating.
    """
    model_path = Path(model_path)
    if model_path.suffix.lower() != ".xml":
        raise PlaceRecognitionError(f"{model_path}: a threshold can only be stored in an IR .xml")
    model = ov.Core().read_model(model_path)
    model.set_rt_info(repr(float(threshold)), [RT_SECTION, RT_THRESHOLD])
    return save_ir(model, model_path)  # FP16 constants stay FP16


def calibrate_on_ranking(
    scores: np.ndarray,
    indices: np.ndarray,
    positives: list[np.ndarray],
    target_precision: float | None = None,
) -> Calibration:
    """:func:`calibrate_threshold` from a ranking (``eval.runs.evaluate_dataset``'s output)."""
    top1 = indices[:, 0]
    correct = np.array([top1[i] in set(p.tolist()) for i, p in enumerate(positives)])
    has_positive = np.array([len(p) > 0 for p in positives])
    return calibrate_threshold(scores[:, 0], correct, has_positive, target_precision)
