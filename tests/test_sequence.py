"""The sequence matcher on synthetic routes: tracking at several speeds, causality, routes kept
apart, the top-K variant, settings checks."""

from __future__ import annotations

import numpy as np
import pytest

from place_recognition.core.fingerprint import ModelFingerprint
from place_recognition.eval.sequences import evaluate_sequences, sequence_rankings
from place_recognition.index.place_index import PlaceIndex
from place_recognition.index.records import GalleryRecord
from place_recognition.sequence.candidates import CandidateSequenceMatcher
from place_recognition.sequence.layout import RouteLayout
from place_recognition.sequence.matcher import SequenceMatcher
from place_recognition.sequence.settings import (
    SequenceSettings,
    SequenceSettingsError,
    parse_velocities,
)
from place_recognition.sequence.stream import RouteStream

DIM = 64


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


def route_gallery(length: int, seed: int = 0) -> np.ndarray:
    """A route whose consecutive frames look alike (a smooth walk in descriptor space)."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(length, DIM))
    walk = np.cumsum(steps, axis=0) * 0.35 + rng.normal(size=(length, DIM))
    return unit(walk)


def walk(gallery: np.ndarray, velocity: float, frames: int, noise: float, seed: int = 1):
    """Query frames taken along the route at ``velocity`` gallery frames per frame, each a
    noisy view of its place. Returns (queries, true gallery index per frame)."""
    rng = np.random.default_rng(seed)
    truth = np.minimum((np.arange(frames) * velocity + 10).astype(int), len(gallery) - 1)
    queries = unit(gallery[truth] + rng.normal(scale=noise, size=(frames, DIM)))
    return queries, truth


def one_route(count: int) -> RouteLayout:
    return RouteLayout.from_spots([(".", i) for i in range(count)])


@pytest.mark.parametrize("velocity", [0.5, 1.0, 2.0])
def test_a_route_walked_at_several_speeds_is_tracked_where_single_frames_fail(velocity):
    gallery = route_gallery(400)
    queries, truth = walk(gallery, velocity, 150, noise=0.22)
    similarities = queries @ gallery.T
    single_hits = np.abs(similarities.argmax(axis=1) - truth) <= 1
    matcher = SequenceMatcher(one_route(len(gallery)))
    answers = [matcher.update(row) for row in similarities]
    sequence_hits = np.array([abs(a.record - t) <= 1 for a, t in zip(answers, truth, strict=True)])
    assert single_hits.mean() < 0.6  # single frames are weak here ...
    assert sequence_hits[20:].mean() > 0.95  # ... the sequence is not, after a short start
    assert np.median([a.velocity for a in answers[20:]]) == velocity
    assert answers[-1].length == matcher.settings.length


def test_the_answer_for_a_frame_never_depends_on_later_frames():
    gallery = route_gallery(200)
    queries, _ = walk(gallery, 1.0, 60, noise=0.3)
    other = queries.copy()
    other[30:] = unit(np.random.default_rng(5).normal(size=(30, DIM)))  # a different future
    first, second = SequenceMatcher(one_route(200)), SequenceMatcher(one_route(200))
    for t in range(60):
        a, b = first.update(queries[t] @ gallery.T), second.update(other[t] @ gallery.T)
        if t < 30:
            assert a == b
    names = [f"query/{i:03d}.png" for i in range(60)]
    refs = [f"ref/{i:03d}.png" for i in range(200)]
    layout = one_route(200)
    settings = SequenceSettings()
    ranked_a = sequence_rankings(queries, gallery, names, layout, settings, 5)
    ranked_b = sequence_rankings(other, gallery, names, layout, settings, 5)
    assert (ranked_a[:30] == ranked_b[:30]).all() and not (ranked_a[30:] == ranked_b[30:]).all()
    positives = [np.array([i]) for i in range(60)]
    top1_a = evaluate_sequences(queries, gallery, names, refs, positives, settings, (1,))["top1"]
    top1_b = evaluate_sequences(other, gallery, names, refs, positives, settings, (1,))["top1"]
    assert top1_a[:30] == top1_b[:30]


def test_routes_in_any_record_order_and_no_trajectory_between_routes():
    first, second = route_gallery(150, seed=2), route_gallery(150, seed=3)
    gallery = np.empty((300, DIM), np.float32)
    gallery[0::2], gallery[1::2] = first, second  # the two routes' records interleaved
    spots = [("a", i // 2) if i % 2 == 0 else ("b", i // 2) for i in range(300)]
    layout = RouteLayout.from_spots(spots)
    assert layout.names == ("a", "b") and list(layout.starts) == [0, 150]
    queries, truth = walk(second, 1.0, 100, noise=0.22, seed=4)
    matcher = SequenceMatcher(layout)
    answers = [matcher.update(q @ gallery.T) for q in queries]
    assert all(a.route == "b" for a in answers[20:])
    assert np.mean([abs(a.record // 2 - t) <= 1 for a, t in zip(answers, truth, strict=True)]) > 0.9
    # A hypothesis running off the end of route "a" must not continue into route "b".
    assert list(matcher._fresh[0][:1]) == [0]


def test_the_top_k_variant_tracks_like_the_full_matcher():
    gallery = route_gallery(500)
    queries, truth = walk(gallery, 1.0, 120, noise=0.22)
    dense = SequenceMatcher(one_route(500))
    sparse = CandidateSequenceMatcher(one_route(500))
    agree = 0
    for row, t in zip(queries @ gallery.T, truth, strict=True):
        ids = np.argsort(-row)[:50]
        a = dense.update(row)
        b = sparse.update(ids, row[ids], float(row.mean()), float(row.std()))
        agree += abs(a.record - b.record) <= 1 and abs(b.record - t) <= 1
    assert agree / len(truth) > 0.85
    assert len(sparse.ranking(5)) == 5


def test_reset_forgets_the_stream():
    gallery = route_gallery(100)
    matcher = SequenceMatcher(one_route(100))
    for q in walk(gallery, 1.0, 30, noise=0.2)[0]:
        matcher.update(q @ gallery.T)
    matcher.reset()
    answer = matcher.update(gallery[70] @ gallery.T)
    assert answer.record == 70 and answer.length == 1


def test_settings_are_checked_and_velocities_parsed():
    assert parse_velocities("0.5,2") == (0.5, 2.0, 0.5)
    assert parse_velocities("-2,2,0.25") == (-2.0, 2.0, 0.25)
    assert SequenceSettings(velocities=(-1.0, 1.0, 0.5)).fine_shifts() == [-2, -1, 0, 1, 2]
    for bad in (
        dict(length=0),
        dict(velocities=(2.0, 1.0, 0.5)),
        dict(velocities=(0.5, 2.0, 0.3)),
        dict(velocities=(0.6, 2.0, 0.5)),
    ):
        with pytest.raises(SequenceSettingsError):
            SequenceSettings(**bad)
    with pytest.raises(ValueError):
        parse_velocities("1")


# --- RouteStream: an index following a stream (exact and approximate indexes) -------------


def _index(gallery: np.ndarray, factory: str, routed: bool = True) -> PlaceIndex:
    fingerprint = ModelFingerprint("walk", "ef" * 32, (8, 8), DIM)
    records = [
        GalleryRecord(
            f"r/{i:04d}.png",
            f"r/{i:04d}",
            f"{i:064x}",
            1,
            1,
            route="." if routed else None,
            position=i if routed else None,
        )
        for i in range(len(gallery))
    ]
    return PlaceIndex.build(fingerprint, records, gallery, factory)


@pytest.mark.parametrize("factory", ["Flat", "IVF16,Flat"])
def test_a_route_stream_tracks_with_exact_and_approximate_indexes(factory):
    gallery = route_gallery(600)
    queries, truth = walk(gallery, 1.5, 120, noise=0.22)
    stream = RouteStream(_index(gallery, factory), candidates=60)
    assert stream.active
    answers = [stream.push_embedding(q, k=3) for q in queries]
    assert all(len(a.matches) == 3 and a.matches[0].rank == 0 for a in answers)
    hits = [abs(a.sequence.record - t) <= 1 for a, t in zip(answers, truth, strict=True)]
    assert np.mean(hits[20:]) > 0.9
    assert answers[-1].record.path == f"r/{answers[-1].sequence.record:04d}.png"
    single = [abs(a.matches[0].id - t) <= 1 for a, t in zip(answers, truth, strict=True)]
    assert np.mean(single) < 0.5


def test_a_gallery_without_routes_answers_single_frames():
    gallery = route_gallery(50)
    stream = RouteStream(_index(gallery, "Flat", routed=False))
    answer = stream.push_embedding(gallery[7], k=2)
    assert not stream.active and answer.sequence is None and answer.matches[0].id == 7
