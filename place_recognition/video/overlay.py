"""The demo's picture: the frame, the recognised place, the top-k places and the timings.

``draw_overlay`` is a pure function: it takes the frame and everything to show, returns a new
image of ``overlay_size(frame.shape)`` and neither reads files nor opens windows (thumbnails
come in as images; ``video/thumbnails.py`` caches them).

Layout::

    +---------------------------+--------------+
    | label + similarity banner | best match   |
    | (route answer, confidence)| thumbnail    |
    |      the frame            | label, score |
    |   (scaled to 480 high)    | FPS, stages  |
    +---------------------------+--------------+
    | top-k distinct places: thumbnail, rank, label, score, coordinates |
    +-------------------------------------------------------------------+
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..recognition.decisions import FrameResult, PlaceHit
from ..sequence.decision import SequenceDecision

FRAME_HEIGHT = 480
MIN_FRAME_WIDTH, MAX_FRAME_WIDTH = 360, 854
PANEL_WIDTH = 300
STRIP_HEIGHT = 190
BANNER_HEIGHT = 46
SEQUENCE_HEIGHT = 34
BACKGROUND = (40, 40, 40)
KNOWN = (90, 220, 90)
UNKNOWN = (60, 160, 255)
TEXT = (235, 235, 235)
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class OverlayView:
    """Everything drawn besides the frame.

    ``thumbnails[i]`` is the gallery image of ``result.places[i]`` (any size, u8 BGR).
    ``stages_ms`` maps stage name to its moving-average latency in ms.
    """

    result: FrameResult
    thumbnails: list[np.ndarray]
    fps: float | None = None
    stages_ms: dict[str, float] = field(default_factory=dict)
    lines: tuple[str, ...] = ()  # extra facts for the panel (model, device, gallery size)
    notice: str | None = None  # a warning across the bottom of the frame
    paused: bool = False
    sequence: SequenceDecision | None = None  # the answer along the gallery's routes


def frame_width(frame_shape: tuple[int, ...]) -> int:
    """Width of the frame area: the frame scaled to FRAME_HEIGHT, within sane bounds."""
    height, width = frame_shape[:2]
    scaled = round(FRAME_HEIGHT * width / max(height, 1))
    return int(min(max(scaled, MIN_FRAME_WIDTH), MAX_FRAME_WIDTH))


def overlay_size(frame_shape: tuple[int, ...]) -> tuple[int, int]:
    """(height, width) of the overlay drawn for a frame of ``frame_shape``."""
    return FRAME_HEIGHT + STRIP_HEIGHT, frame_width(frame_shape) + PANEL_WIDTH


def label_region(frame_shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Where the place label is written (rows, columns of the overlay)."""
    return slice(0, BANNER_HEIGHT), slice(0, frame_width(frame_shape))


def draw_overlay(frame: np.ndarray, view: OverlayView) -> np.ndarray:
    """A new u8 BGR image of ``overlay_size(frame.shape)``; ``frame`` is not modified."""
    height, width = overlay_size(frame.shape)
    fw = frame_width(frame.shape)
    canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
    canvas[:FRAME_HEIGHT, :fw] = cv2.resize(frame, (fw, FRAME_HEIGHT))
    _draw_banner(canvas, fw, view.result)
    if view.sequence is not None:
        _draw_sequence(canvas, fw, view.sequence)
    _draw_panel(canvas, fw, view)
    _draw_strip(canvas, view.result.places, view.thumbnails)
    if view.notice:
        _text(canvas, view.notice, (10, FRAME_HEIGHT - 14), 0.5, UNKNOWN)
    if view.paused:
        _text(canvas, "PAUSED (space)", (fw - 190, BANNER_HEIGHT + 30), 0.7, UNKNOWN, 2)
    return canvas


def _text(canvas, text, origin, scale=0.55, colour=TEXT, thickness=1, smooth=False) -> None:
    """Text with a dark shadow, readable on any background.

    Anti-aliased text costs ~0.3 ms per call on one core (20x plain text), and the overlay has
    about 20 strings: only the place label is drawn smooth, to keep drawing off the FPS budget.
    """
    line = cv2.LINE_AA if smooth else cv2.LINE_8
    shadow = (origin[0] + 1, origin[1] + 1)
    cv2.putText(canvas, text, shadow, FONT, scale, (0, 0, 0), thickness, line)
    cv2.putText(canvas, text, origin, FONT, scale, colour, thickness, line)


def _fit(text: str, width: int, scale: float) -> str:
    """``text`` cut with an ellipsis so that it fits ``width`` pixels."""
    while len(text) > 3 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > width:
        text = text[:-4] + "..."
    return text


def _coordinates(place: PlaceHit) -> str:
    return f"{place.lat:.5f}, {place.lon:.5f}" if place.match.record.has_coordinates else ""


def _draw_banner(canvas: np.ndarray, fw: int, result: FrameResult) -> None:
    band = canvas[:BANNER_HEIGHT, :fw]
    band[:] = (band * 0.35).astype(np.uint8)  # darken, the frame stays visible underneath
    best = result.best
    if best is None:
        message, colour = "empty gallery", UNKNOWN
    elif result.known:
        score = next((p.score for p in result.places if p.label == result.label), best.score)
        message, colour = f"{result.label}  {score:.3f}", KNOWN
    else:
        message = f"unknown place (nearest {best.label} {best.score:.3f} < {result.threshold:.3f})"
        colour = UNKNOWN
    _text(canvas, _fit(message, fw - 20, 0.8), (10, 32), 0.8, colour, 2, smooth=True)


def _draw_sequence(canvas: np.ndarray, fw: int, sequence: SequenceDecision) -> None:
    """The sequence answer in a band under the single-frame banner."""
    band = canvas[BANNER_HEIGHT : BANNER_HEIGHT + SEQUENCE_HEIGHT, :fw]
    band[:] = (band * 0.35).astype(np.uint8)
    if sequence.known:
        message = f"route: {sequence.label}  confidence {sequence.confidence:.2f}"
    else:
        message = (
            f"route: unsure (nearest {sequence.nearest}, confidence {sequence.confidence:.2f})"
        )
    message += f"  ({sequence.length} frames)"
    colour = KNOWN if sequence.known else UNKNOWN
    _text(canvas, _fit(message, fw - 20, 0.6), (10, BANNER_HEIGHT + 24), 0.6, colour, 1)


def _draw_panel(canvas: np.ndarray, fw: int, view: OverlayView) -> None:
    x, inner = fw + 10, PANEL_WIDTH - 20
    thumb_h = inner * 2 // 3  # leaves room for five stage lines above the strip
    best = view.result.best
    _text(canvas, "best match", (x, 20), 0.5)
    if best is not None and view.thumbnails:
        canvas[28 : 28 + thumb_h, x : x + inner] = cv2.resize(view.thumbnails[0], (inner, thumb_h))
        colour = KNOWN if view.result.known and view.result.label == best.label else UNKNOWN
        _text(canvas, _fit(best.label, inner, 0.6), (x, 50 + thumb_h), 0.6, colour, 2)
        _text(canvas, f"similarity {best.score:.3f}", (x, 72 + thumb_h), 0.5)
        if _coordinates(best):
            _text(canvas, _coordinates(best), (x, 92 + thumb_h), 0.5)
    y = 120 + thumb_h
    fps = f"{view.fps:.1f}" if view.fps is not None else "-"
    _text(canvas, f"FPS {fps}", (x, y), 0.65, TEXT, 2)
    for stage, ms in view.stages_ms.items():
        y += 22
        _text(canvas, f"{stage:<10} {ms:7.1f} ms", (x, y), 0.5)
    y += 26
    _text(canvas, f"threshold {view.result.threshold:.3f}", (x, y), 0.5)
    for line in view.lines:
        y += 20
        _text(canvas, _fit(line, inner, 0.45), (x, y), 0.45)


def _draw_strip(canvas: np.ndarray, places: list[PlaceHit], thumbnails: list[np.ndarray]) -> None:
    if not places:
        return
    width = canvas.shape[1]
    slot = min(200, (width - 10) // len(places))
    thumb_w = slot - 10
    thumb_h = min(thumb_w * 3 // 4, STRIP_HEIGHT - 70)
    top = FRAME_HEIGHT + 10
    for i, (place, thumb) in enumerate(zip(places, thumbnails, strict=False)):
        x = 10 + i * slot
        canvas[top : top + thumb_h, x : x + thumb_w] = cv2.resize(thumb, (thumb_w, thumb_h))
        y = top + thumb_h + 18
        _text(canvas, _fit(f"{i + 1}. {place.label}", thumb_w, 0.5), (x, y), 0.5)
        _text(canvas, f"{place.score:.3f}", (x, y + 18), 0.5)
        if _coordinates(place):
            _text(canvas, _fit(_coordinates(place), thumb_w, 0.4), (x, y + 36), 0.4)
