"""Generated sample scenes: a street of distinct procedural "places", for demos and tests.

No external data: every place is drawn from a seed (sky, buildings, windows, trees), so the
project can ship a working gallery and video without images it does not own. A place's views are
crops of its panorama with a shift, a zoom and a lighting change, so that matching a view to its
place is a small but real recognition task.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

PLACE_HEIGHT = 360
PLACE_WIDTH = 640


def render_place(seed: int, height: int = PLACE_HEIGHT, width: int = PLACE_WIDTH) -> np.ndarray:
    """The panorama of place ``seed``: (height, width, 3) u8 BGR, deterministic."""
    rng = np.random.default_rng(seed)
    top, bottom = rng.integers(90, 256, 3), rng.integers(60, 200, 3)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    image = ((1 - ramp) * top + ramp * bottom).repeat(width, axis=1).astype(np.uint8)
    horizon = int(height * rng.uniform(0.7, 0.85))
    image[horizon:] = rng.integers(30, 120, 3)
    x = int(rng.integers(-40, 0))
    while x < width:
        x = _draw_building(image, rng, x, horizon) + int(rng.integers(0, 25))
    for _ in range(int(rng.integers(1, 5))):
        centre = (int(rng.integers(0, width)), int(horizon - rng.integers(10, 40)))
        cv2.circle(image, centre, int(rng.integers(12, 35)), _colour(rng, 20, 140), -1)
    return image


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(low, high, 3))


def _draw_building(image: np.ndarray, rng: np.random.Generator, x: int, horizon: int) -> int:
    """Draw one facade with a window grid starting at ``x``; return its right edge."""
    width = int(rng.integers(50, 160))
    roof = int(horizon - rng.integers(60, horizon - 20))
    cv2.rectangle(image, (x, roof), (x + width, horizon), _colour(rng), -1)
    window = _colour(rng)
    step_x, step_y = int(rng.integers(14, 30)), int(rng.integers(18, 36))
    size_x, size_y = int(step_x * rng.uniform(0.4, 0.7)), int(step_y * rng.uniform(0.4, 0.7))
    for wy in range(roof + 8, horizon - step_y, step_y):
        for wx in range(x + 6, x + width - size_x - 4, step_x):
            cv2.rectangle(image, (wx, wy), (wx + size_x, wy + size_y), window, -1)
    return x + width


def render_view(
    panorama: np.ndarray, seed: int, size: tuple[int, int] = (240, 320), strength: float = 1.0
) -> np.ndarray:
    """A view of a place: a shifted, zoomed crop with changed lighting, resized to ``size``."""
    rng = np.random.default_rng(seed)
    height, width = panorama.shape[:2]
    zoom = 1.0 - strength * rng.uniform(0.0, 0.2)
    crop_h, crop_w = int(height * zoom), int(width * zoom)
    y0 = int(rng.integers(0, height - crop_h + 1))
    x0 = int(rng.integers(0, width - crop_w + 1))
    crop = panorama[y0 : y0 + crop_h, x0 : x0 + crop_w].astype(np.float32)
    gain = 1.0 + strength * rng.uniform(-0.25, 0.25)
    bias = strength * rng.uniform(-20, 20)
    view = np.clip(crop * gain + bias, 0, 255).astype(np.uint8)
    return cv2.resize(view, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def place_label(index: int) -> str:
    return f"place_{index:02d}"


def place_coordinates(index: int) -> tuple[float, float]:
    """Made-up (lat, lon) of sample place ``index``: a street near 0°N 0°E, 100 m apart."""
    return round(0.0009 * index, 6), round(0.0004 * index, 6)


def write_sample_gallery(root: Path, places: int = 6, views: int = 3, seed: int = 0) -> list[Path]:
    """Write ``views`` JPEG views of each of ``places`` places, one subfolder per place.

    Each folder also gets a ``places.csv`` with the place's made-up coordinates, so that the
    gallery exercises metadata too (labels stay the folder names).
    """
    written = []
    for p in range(places):
        panorama = render_place(seed * 1000 + p)
        folder = Path(root) / place_label(p)
        folder.mkdir(parents=True, exist_ok=True)
        lat, lon = place_coordinates(p)
        rows = ["file,lat,lon"]
        for v in range(views):
            path = folder / f"view_{v}.jpg"
            cv2.imwrite(str(path), render_view(panorama, seed * 1000 + p * 100 + v))
            written.append(path)
            rows.append(f"{path.name},{lat},{lon}")
        (folder / "places.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return written


def write_sample_dataset(
    root: Path, places: int = 12, views: int = 4, unknown: int = 6, seed: int = 1
) -> Path:
    """A labelled set in the ground_truth.csv format, from generated places only.

    ``ref/`` holds view 0 of each place; ``query/`` the other views (positive: their place's
    reference) and one view of each of ``unknown`` places missing from ``ref/`` (no positive),
    so that both recall and unknown-place rejection can be measured.
    """
    root = Path(root)
    (root / "ref").mkdir(parents=True, exist_ok=True)
    (root / "query").mkdir(parents=True, exist_ok=True)
    rows = ["query,positives"]
    for p in range(places + unknown):
        panorama = render_place(seed * 1000 + p)
        ref = f"ref/{place_label(p)}.jpg"
        if p < places:
            cv2.imwrite(str(root / ref), render_view(panorama, seed * 1000 + p * 100))
        for v in range(1, views) if p < places else range(1, 2):
            query = f"query/{place_label(p)}_{v}.jpg"
            cv2.imwrite(str(root / query), render_view(panorama, seed * 1000 + p * 100 + v))
            rows.append(f"{query},{ref if p < places else ''}")
    (root / "ground_truth.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


UNKNOWN_PLACE_SEED = 999_999  # a place no sample gallery holds (seeds there are < 1000 * seeds)


def sample_video_frames(
    places: int = 6,
    frames_per_place: int = 24,
    seed: int = 0,
    size: tuple[int, int] = (240, 320),
    unknown: bool = True,
) -> Iterator[np.ndarray]:
    """Frames of a walk past the places of ``write_sample_gallery(places, seed=seed)``.

    Each place is seen as a slow pan across its panorama (new views, none of them in the
    gallery); with ``unknown`` the walk ends at a place the gallery does not have. Yields
    (height, width, 3) u8 BGR frames; the caller writes them (e.g. as a video).
    """
    seeds = [seed * 1000 + p for p in range(places)] + ([UNKNOWN_PLACE_SEED] if unknown else [])
    height, width = size
    for place_seed in seeds:
        panorama = render_place(place_seed)
        pano_h, pano_w = panorama.shape[:2]
        crop_h, crop_w = int(pano_h * 0.85), int(pano_w * 0.85)
        for f in range(frames_per_place):
            x0 = round((pano_w - crop_w) * f / max(frames_per_place - 1, 1))
            y0 = (pano_h - crop_h) // 2
            crop = panorama[y0 : y0 + crop_h, x0 : x0 + crop_w]
            yield cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)


ROUTE_PLACES = 10  # places along the generated route's street
ROUTE_CROP = 0.75  # a route frame shows this share of one place's panorama width


def render_street(places: int = ROUTE_PLACES, seed: int = 7) -> np.ndarray:
    """A long street: the panoramas of ``places`` places side by side, (360, 640 * places, 3)."""
    return np.hstack([render_place(seed * 1000 + p) for p in range(places)])


def route_frame(
    street: np.ndarray,
    x: float,
    size: tuple[int, int] = (240, 320),
    dusk: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """The view from position ``x`` (pixels along the street); ``dusk`` in [0, 1] darkens it
    and shifts it towards blue, a change of appearance like evening light; ``noise`` adds
    Gaussian sensor noise of that standard deviation (grey levels, seeded by ``seed``)."""
    crop_w = int(PLACE_WIDTH * ROUTE_CROP)
    x0 = int(np.clip(round(x), 0, street.shape[1] - crop_w))
    view = street[:, x0 : x0 + crop_w].astype(np.float32)
    if dusk:
        view = view * (1.0 - 0.45 * dusk) + np.array([25.0, 5.0, -10.0]) * dusk
    if noise:
        view = view + np.random.default_rng(seed).normal(0.0, noise, view.shape)
    view = cv2.resize(np.clip(view, 0, 255).astype(np.uint8), (size[1], size[0]), cv2.INTER_AREA)
    return view


def route_positions(frames: int, street_width: int) -> np.ndarray:
    """``frames`` evenly spaced view positions covering the street (pixels)."""
    last = street_width - int(PLACE_WIDTH * ROUTE_CROP)
    return np.linspace(0.0, last, frames)


def write_route_gallery(root: Path, frames: int = 60, seed: int = 7) -> list[Path]:
    """A route gallery: ``frames`` views along the generated street, in the gallery root
    (``frame_000.jpg`` ...), so that they form one route in travel order."""
    street = render_street(seed=seed)
    Path(root).mkdir(parents=True, exist_ok=True)
    written = []
    for i, x in enumerate(route_positions(frames, street.shape[1])):
        path = Path(root) / f"frame_{i:03d}.jpg"
        cv2.imwrite(str(path), route_frame(street, x))
        written.append(path)
    return written


def route_walk_frames(
    gallery_frames: int = 60,
    speed: float = 0.5,
    dusk: float = 1.0,
    noise: float = 15.0,
    seed: int = 7,
) -> Iterator[tuple[np.ndarray, float]]:
    """A walk along the route gallery's street at ``speed`` gallery frames per frame, at dusk
    with a noisy camera (single frames are often wrong: sequence matching follows it).

    Yields (frame, the gallery frame position it shows, fractional): the ground truth of a
    route walk, for checking which answers were right.
    """
    street = render_street(seed=seed)
    positions = route_positions(gallery_frames, street.shape[1])
    step = positions[1] - positions[0]
    count = int((gallery_frames - 1) / speed) + 1
    for t in range(count):
        along = t * speed
        view = route_frame(street, positions[0] + along * step, dusk=dusk, noise=noise, seed=t)
        yield view, along
