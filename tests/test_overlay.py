"""The overlay as a pure function, the place decisions it shows, and the thumbnail cache."""

from __future__ import annotations

import cv2
import numpy as np

from place_recognition.index.place_index import Match
from place_recognition.index.records import GalleryRecord
from place_recognition.recognition.decisions import (
    PlaceVoter,
    accept,
    decide,
    distinct_places,
)
from place_recognition.video.overlay import (
    OverlayView,
    draw_overlay,
    label_region,
    overlay_size,
)
from place_recognition.video.thumbnails import ThumbnailCache

from conftest import scene


def match(rank: int, label: str, score: float, lat=None, lon=None) -> Match:
    record = GalleryRecord(f"{label}/{rank}.jpg", label, "0" * 64, 1, 1, lat, lon)
    return Match(rank, rank, score, record)


MATCHES = [
    match(0, "bridge", 0.91, 47.5, 8.5),
    match(1, "bridge", 0.90, 47.5, 8.5),
    match(2, "market", 0.72),
    match(3, "bridge", 0.70),
    match(4, "tower", 0.65),
]


def test_top_k_are_distinct_places_with_their_best_image():
    places = distinct_places(MATCHES, k=3)
    assert [(p.label, p.score, p.rank) for p in places] == [
        ("bridge", 0.91, 0),
        ("market", 0.72, 1),
        ("tower", 0.65, 2),
    ]
    assert places[0].match.record.path == "bridge/0.jpg" and places[0].lat == 47.5
    assert len(distinct_places(MATCHES, k=10)) == 3


def test_threshold_makes_the_place_unknown_and_zero_turns_it_off():
    places = distinct_places(MATCHES, k=3)
    assert accept(places, 0.95) is None
    assert accept(places, 0.91) == "bridge"
    assert accept(places, 0.0) == "bridge"
    result = decide(places, 0.95, PlaceVoter(1))
    assert not result.known and result.best.label == "bridge"


def test_smoothing_votes_over_the_last_n_frames():
    voter = PlaceVoter(3)
    shown = [voter.vote(label) for label in ["a", "a", "b", "a", "b", "b", None, "b", None, None]]
    assert shown == ["a", "a", "a", "a", "b", "b", "b", "b", None, None]
    plain = PlaceVoter(1)
    assert [plain.vote(x) for x in ["a", "b", None]] == ["a", "b", None]


def view_for(threshold: float, **kwargs) -> OverlayView:
    places = distinct_places(MATCHES, k=3)
    thumbs = [scene(i, 60, 80) for i in range(len(places))]
    return OverlayView(decide(places, threshold, PlaceVoter(1)), thumbs, **kwargs)


def test_draw_overlay_is_pure_and_writes_the_label():
    frame = np.full((240, 320, 3), 128, np.uint8)
    before = frame.copy()
    stages = {"decode": 1.0, "inference": 20.0}
    known = draw_overlay(frame, view_for(0.5, fps=25.0, stages_ms=stages))
    assert np.array_equal(frame, before)  # the input is not drawn on
    assert known.shape == (*overlay_size(frame.shape), 3) and known.dtype == np.uint8
    rows, cols = label_region(frame.shape)
    assert known[rows, cols].std() > 5  # text on the uniformly darkened banner
    unknown = draw_overlay(frame, view_for(0.95))
    assert not np.array_equal(known[rows, cols], unknown[rows, cols])  # "unknown place ..."
    assert np.array_equal(draw_overlay(frame, view_for(0.5)), draw_overlay(frame, view_for(0.5)))


def test_overlay_size_follows_the_frame_aspect():
    wide = draw_overlay(np.zeros((100, 400, 3), np.uint8), view_for(0.5))
    tall = draw_overlay(np.zeros((400, 100, 3), np.uint8), view_for(0.5))
    assert wide.shape[:2] == overlay_size((100, 400)) and tall.shape[:2] == overlay_size((400, 100))
    assert wide.shape[1] > tall.shape[1]


def test_thumbnails_are_read_once(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), scene(1))
    cache = ThumbnailCache(tmp_path, size=(30, 40))
    first = cache.get("a.png")
    assert first.shape == (30, 40, 3)
    assert cache.get("a.png") is first and cache.reads == 1
    missing = cache.get("gone.png")  # a placeholder, not an exception
    assert missing.shape == (30, 40, 3) and cache.reads == 2
