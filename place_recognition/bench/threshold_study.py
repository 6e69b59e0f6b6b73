"""How well unknown-place thresholds work on a labelled set: gallery-derived vs calibrated.

The gallery is every other segment of ``segment`` consecutive reference images (the held-out
segments are places the gallery does not have); its places are runs of ``place_size``
consecutive images (one folder per place, as a gallery owner would lay them out). Every query
is searched in that gallery: a query is *known* when one of its positives is in it, else
*unknown*. For a threshold t a query is accepted when its top-1 score >= t; precision = correct
accepted / accepted, recall = correct accepted / known queries, and ``rejected`` = the share of
unknown queries below t. Compared: the threshold calibrated on these very queries (the best a
threshold can do here, in-sample), the model's stored threshold, and gallery-derived ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.images import read_image
from ..core.model import EmbeddingModel
from ..eval.datasets import VprDataset
from ..eval.runs import embed_paths
from ..index.place_index import PlaceIndex, l2_normalize
from ..index.records import GalleryRecord
from ..indexing.gallery_fit import fit_lite_to_images
from ..indexing.gallery_threshold import best_scores, robust_tail, sample_rows
from ..recognition.calibration import calibrate_threshold

QUANTILES = (0.5, 0.75, 0.9, 0.95)


@dataclass(frozen=True)
class Outcome:
    """One threshold on one set: the decision's quality."""

    rule: str
    threshold: float
    precision: float
    recall: float
    f1: float
    rejected: float  # share of unknown queries rejected


@dataclass(frozen=True)
class Split:
    gallery: np.ndarray  # rows of the dataset's database in the gallery
    labels: list[str]  # the place of each gallery image
    known: np.ndarray  # (Q,) bool: a positive is in the gallery
    correct_rows: list[set[int]]  # per query: its positives, as gallery rows


def held_out_split(dataset: VprDataset, segment: int, place_size: int) -> Split:
    """Every other ``segment``-image run of the database as the gallery (see module docstring)."""
    count = len(dataset.database)
    rows = np.array([i for i in range(count) if (i // segment) % 2 == 0])
    position = {int(row): i for i, row in enumerate(rows)}
    labels = [f"place{int(row) // place_size}" for row in rows]
    correct = [{position[int(p)] for p in ps if int(p) in position} for ps in dataset.positives]
    known = np.array([bool(c) for c in correct])
    return Split(rows, labels, known, correct)


def evaluate(threshold: float, rule: str, top1: np.ndarray, scores: np.ndarray, split: Split):
    """The decision's quality at ``threshold`` (top-1 gallery row and score per query)."""
    correct = np.array([int(r) in c for r, c in zip(top1, split.correct_rows, strict=True)])
    accepted = scores >= threshold
    hits = int(np.sum(accepted & correct))
    precision = hits / max(int(accepted.sum()), 1)
    recall = hits / max(int(split.known.sum()), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    unknown = ~split.known
    rejected = float(np.mean(~accepted[unknown])) if unknown.any() else float("nan")
    return Outcome(rule, float(threshold), precision, recall, f1, rejected)


def study(
    model: EmbeddingModel,
    dataset: VprDataset,
    split: Split,
    stored: float | None,
    progress: bool = False,
) -> list[Outcome]:
    """Every threshold rule for ``model`` on ``dataset``'s held-out split."""
    database, _ = embed_paths(model, [dataset.database_paths()[i] for i in split.gallery], progress)
    queries, _ = embed_paths(model, dataset.query_paths(), progress)
    database, queries = l2_normalize(database), l2_normalize(queries)
    similarity = queries @ database.T
    top1 = similarity.argmax(axis=1)
    scores = similarity[np.arange(len(queries)), top1]
    correct = np.array([int(r) in c for r, c in zip(top1, split.correct_rows, strict=True)])
    outcomes = []
    if correct.any():
        labelled = calibrate_threshold(scores, correct, split.known).threshold
        outcomes.append(evaluate(labelled, "calibrated on the queries", top1, scores, split))
    outcomes.append(evaluate(0.0, "none (0: every query known)", top1, scores, split))
    if stored is not None:
        outcomes.append(evaluate(stored, "model's stored threshold", top1, scores, split))
    records = [GalleryRecord(str(i), label, "", 0, 0) for i, label in enumerate(split.labels)]
    gallery = PlaceIndex.build(model.fingerprint, records, database)
    same, other = best_scores(gallery, sample_rows(len(records)))
    for q in QUANTILES:
        value = float(np.quantile(other, q))
        rule = f"gallery: quantile {q:g} other-place"
        outcomes.append(evaluate(value, rule, top1, scores, split))
    rule = "gallery: median + 2 robust sd other-place (used)"
    outcomes.append(evaluate(robust_tail(other), rule, top1, scores, split))
    finite = same[np.isfinite(same)]
    if finite.size:
        positives = np.r_[np.ones(finite.size, bool), np.zeros(other.size, bool)]
        split_value = calibrate_threshold(np.r_[finite, other], positives, positives).threshold
        outcomes.append(evaluate(split_value, "gallery: same vs other F1", top1, scores, split))
    return outcomes


def fitted_model(model: EmbeddingModel, dataset: VprDataset, split: Split, folder: Path):
    """netvlad-lite fitted to the split's gallery images (as ``build_index --fit-to-gallery``)."""
    paths = [dataset.database_paths()[i] for i in split.gallery]
    xml = Path(folder) / f"{dataset.name}-fitted.xml"
    if not xml.is_file():
        images = (read_image(path) for path in paths)
        fit_lite_to_images(model, images, xml, f"{dataset.name} gallery half")
    return model.sibling(xml)
