"""One training run end to end: data, cached features, split, training, export, before/after.

The before/after Recall@1/5 are measured through OpenVINO on the validation images only (the
base IR and the exported IR, f32 hint), i.e. through the path the product deploys.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

from ..core.files import atomic_write_text
from ..core.model import EmbeddingModel
from ..eval.datasets import read_dataset
from ..eval.metrics import rank_database, recall_at_n
from ..eval.runs import embed_paths
from ..zoo.lite import calibrate_on_generated_set
from .data import build_sets, validation_positives
from .features import FEATURES_PRECISION, LocalFeatureExtractor
from .head import NetVladHead
from .ir_head import export_trained, read_head_file
from .loop import RECALL_AT, Trainer
from .places import Split, dataset_positions, split_route
from .settings import RunOptions, TrainSettings

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
TRAINED_IR = "netvlad-lite-trained.xml"
REPORT = "report.json"


def train_and_export(
    options: RunOptions, settings: TrainSettings, resume: bool = False, progress: bool = False
) -> dict:
    """Train, export the best head to ``output/TRAINED_IR``, write ``output/REPORT``."""
    dataset = read_dataset(options.dataset)
    positions = dataset_positions(dataset, options.positions_csv, options.position_from_name)
    # Training images stay farther than the negative radius from every validation image.
    split = split_route(positions, options.val_fraction, gap=options.neg_radius)
    logger.info("%s; %s", dataset.describe(), split.describe())
    params = read_head_file(options.base_model)
    extractor = LocalFeatureExtractor(options.base_model, options.features_cache)
    try:
        db_features = extractor.features(dataset.database_paths(), progress, "database")
        q_features = extractor.features(dataset.query_paths(), progress, "queries")
        base_key = extractor.lite.fingerprint.key
    finally:
        extractor.close()
    train, val = build_sets(
        q_features,
        db_features,
        positions,
        split,
        dataset.positives,
        options.pos_radius,
        options.neg_radius,
    )
    head = NetVladHead(params)
    signature = {
        "base_model": base_key,
        "dataset": str(Path(options.dataset).resolve()),
        "split": split.describe(),
        "pos_radius": options.pos_radius,
        "neg_radius": options.neg_radius,
    }
    output = Path(options.output)
    trainer = Trainer(head, train, val, settings, output / CHECKPOINT, signature)
    result = trainer.run(resume=resume, progress=progress)
    head.load_state_dict(result.best_state)
    info = {
        "vocabulary": f"{params.info.get('vocabulary', 'k-means')}, fine-tuned on {dataset.name}",
        "trained_on": dataset.name,
        "trained_epochs": str(result.best_epoch),
        "trained_loss": settings.loss,
        "validation_recall_at_1": f"{result.best_recall[1]:.4f}",
    }
    exported = export_trained(
        options.base_model, head.to_params(info), output / TRAINED_IR, options.fp16
    )
    threshold = calibrate_on_generated_set(exported)  # as the shipped build does
    report = {
        "dataset": dataset.name,
        "unknown_place_threshold": threshold,
        "split": split.describe(),
        "base_model": str(options.base_model),
        "trained_model": str(exported),
        "settings": asdict(settings),
        "options": {k: str(v) for k, v in asdict(options).items()},
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "history": [
            {**h, "recall": {str(n): v for n, v in h["recall"].items()}} for h in result.history
        ],
        "validation_openvino": {
            "before": _ir_recall(options.base_model, dataset, split),
            "after": _ir_recall(exported, dataset, split),
        },
    }
    atomic_write_text(output / REPORT, json.dumps(report, indent=2) + "\n")
    return report


def _ir_recall(model_path: Path, dataset, split: Split) -> dict[str, float]:
    """Recall@1/5 of an IR on the validation queries against the validation database."""
    model = EmbeddingModel(model_path, precision=FEATURES_PRECISION)
    paths_db, paths_q = dataset.database_paths(), dataset.query_paths()
    database, _ = embed_paths(model, [paths_db[i] for i in split.val_database], use_cache=False)
    queries, _ = embed_paths(model, [paths_q[i] for i in split.val_queries], use_cache=False)
    positives = validation_positives(dataset.positives, split, len(paths_db))
    indices, _ = rank_database(queries, database, max(RECALL_AT))
    return {str(n): v for n, v in recall_at_n(indices, positives, RECALL_AT).items()}
