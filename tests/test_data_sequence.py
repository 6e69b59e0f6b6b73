"""Sequence matching on nordland_train with the shipped netvlad-lite and the default settings:
floors just under the measured values (docs/sequence.md), at three speeds.

Measured (f32): single frames R@1 0.061 (every 2nd frame: 0.050); sequence L = 10 as given
0.482, every 2nd frame 0.514; every frame twice, L = 20: 0.595.
"""

from __future__ import annotations

import numpy as np
import pytest

from place_recognition.core.model import EmbeddingModel
from place_recognition.eval.datasets import read_ground_truth_folder
from place_recognition.eval.metrics import rank_database, recall_at_n
from place_recognition.eval.runs import embed_paths
from place_recognition.eval.sequences import (
    evaluate_sequences,
    natural_order,
    reference_layout,
    sequence_rankings,
)
from place_recognition.sequence.settings import SequenceSettings
from place_recognition.zoo.lite import ensure_lite_model

from conftest import F32

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module")
def nordland(data_dir, tmp_path_factory):
    dataset = read_ground_truth_folder(data_dir / "nordland_train")
    model = EmbeddingModel(ensure_lite_model(), precision=F32)
    cache = tmp_path_factory.mktemp("embeddings")
    database, _ = embed_paths(model, dataset.database_paths(), cache=cache)
    queries, _ = embed_paths(model, dataset.query_paths(), cache=cache)
    return dataset, queries, database


def _stream_recall(nordland, frames: np.ndarray, length: int) -> tuple[float, float]:
    """(single-frame R@1, sequence R@1) of the queries at ``frames`` (natural order), fed
    as a stream in that order."""
    dataset, queries, database = nordland
    chosen = natural_order(dataset.queries)[frames]
    positives = [dataset.positives[i] for i in chosen]
    single, _ = rank_database(queries[chosen], database, 1)
    names = [f"{t:06d}" for t in range(len(chosen))]  # the stream's own order
    ranked = sequence_rankings(
        queries[chosen],
        database,
        names,
        reference_layout(dataset.database),
        SequenceSettings(length=length),
        1,
    )
    return recall_at_n(single, positives, (1,))[1], recall_at_n(ranked, positives, (1,))[1]


def test_l10_multiplies_recall_at_1_by_6_as_given(nordland):
    dataset, queries, database = nordland
    single, sequence = _stream_recall(nordland, np.arange(len(dataset.queries)), 10)
    print(f"as given: single {single:.3f}, sequence L=10 {sequence:.3f}")
    assert single < 0.08 and sequence >= 0.47 and sequence >= 6 * single
    entry = evaluate_sequences(
        queries,
        database,
        dataset.queries,
        dataset.database,
        dataset.positives,
        SequenceSettings(),
        (1, 5, 10),
    )  # the evaluator's own path gives the same
    assert entry["recall_at"]["1"] == pytest.approx(sequence)
    assert entry["causal"] and len(entry["top1"]) == len(dataset.queries)


def test_every_2nd_frame_l10_still_multiplies_by_6(nordland):
    count = len(nordland[0].queries)
    single, sequence = _stream_recall(nordland, np.arange(0, count, 2), 10)
    print(f"every 2nd frame: single {single:.3f}, sequence L=10 {sequence:.3f}")
    assert sequence >= 0.50 and sequence >= 6 * max(single, 0.061)


def test_every_frame_repeated_l20_multiplies_by_4(nordland):
    count = len(nordland[0].queries)
    single, sequence = _stream_recall(nordland, np.repeat(np.arange(count), 2), 20)
    print(f"every frame twice: single {single:.3f}, sequence L=20 {sequence:.3f}")
    assert sequence >= 0.58 and sequence >= 4 * single
