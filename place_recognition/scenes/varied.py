"""Varied procedural scenes for fitting the shipped netvlad-lite vocabulary and whitening.

The street scenes of ``scenes/street.py`` are flat-coloured facades: a vocabulary fitted on them
only knows edges of rectangles. These scenes mix what outdoor and indoor photos are made of (sky
gradients, mountain and tree-line silhouettes, fractal-noise textures such as grass, gravel or
foliage, facades with windows, roads in perspective, corridors) under random lighting, blur and
noise, so the backbone's local features spread over more of their space. Everything is drawn
from a seed: the shipped model is fitted on images the project generates itself.
"""

from __future__ import annotations

import cv2
import numpy as np

from .street import render_place

# Natural colours (BGR): foliage, grass, soil, rock, snow, water, concrete, brick.
_PALETTE = np.array(
    [
        [40, 90, 50],
        [60, 140, 90],
        [50, 90, 120],
        [110, 110, 110],
        [235, 235, 230],
        [140, 100, 60],
        [170, 170, 160],
        [60, 70, 150],
        [30, 50, 40],
        [200, 170, 140],
    ],
    np.float64,
)


def fractal_noise(
    rng: np.random.Generator, height: int, width: int, octaves: int = 7, decay: float = 0.75
) -> np.ndarray:
    """Multi-scale value noise in 0..1 down to a few pixels' grain, (height, width) float32."""
    total = np.zeros((height, width), np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cells = 2 ** (octave + 2)
        grid = rng.random((cells, max(2, cells * width // height)), dtype=np.float32)
        layer = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        weight = decay**octave
        total += weight * layer
        weight_sum += weight
    total /= weight_sum
    return (total - total.min()) / max(float(np.ptp(total)), 1e-6)


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A coloured noise texture: two random colours mixed by fractal noise, (h, w, 3) float."""
    noise = fractal_noise(rng, height, width, int(rng.integers(4, 8)), rng.uniform(0.6, 0.95))
    low, high = _natural_colour(rng), _natural_colour(rng)
    return low * (1 - noise[..., None]) + high * noise[..., None]


def _natural_colour(rng: np.random.Generator) -> np.ndarray:
    return np.clip(_PALETTE[rng.integers(0, len(_PALETTE))] + rng.normal(0, 20, 3), 0, 255)


def _silhouette(rng: np.random.Generator, width: int, base: int, amplitude: int) -> np.ndarray:
    """A random-walk skyline (mountains, tree line): y per column."""
    steps = rng.normal(0, amplitude / 12, width).cumsum()
    steps = cv2.GaussianBlur(steps.reshape(1, -1), (0, 0), float(rng.uniform(2, 15))).ravel()
    return (base - np.abs(steps - steps.mean()) - rng.uniform(0, amplitude)).astype(int)


def _landscape(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    top = np.clip(np.array([230, 190, 150]) + rng.normal(0, 30, 3), 0, 255)  # blue-ish sky
    bottom = np.clip(top + rng.normal(20, 25, 3), 0, 255)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    image = (1 - ramp) * top + ramp * bottom + np.zeros((1, width, 1))
    rows = np.arange(height)[:, None]
    for layer in range(int(rng.integers(1, 4))):
        base = int(height * rng.uniform(0.35, 0.75) + layer * height * 0.08)
        line = _silhouette(rng, width, base, int(height * rng.uniform(0.05, 0.35)))
        mask = rows >= line[None, :]
        image = np.where(mask[..., None], _texture(rng, height, width), image)
    return image


def _road(rng: np.random.Generator, image: np.ndarray) -> None:
    height, width = image.shape[:2]
    horizon = int(height * rng.uniform(0.4, 0.7))
    centre = int(width * rng.uniform(0.3, 0.7))
    spread = int(width * rng.uniform(0.3, 0.9))
    polygon = np.array(
        [
            [centre - 3, horizon],
            [centre + 3, horizon],
            [centre + spread, height],
            [centre - spread, height],
        ]
    )
    cv2.fillPoly(image, [polygon], tuple(float(c) for c in rng.integers(40, 160, 3)))
    for x in (centre - spread // 2, centre + spread // 2):
        cv2.line(
            image, (centre, horizon), (x, height), (230.0, 230.0, 230.0), int(rng.integers(1, 4))
        )


def _corridor(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A one-point-perspective box: floor, ceiling, walls with doors and lights."""
    image = np.zeros((height, width, 3), np.float64)
    cx, cy = int(width * rng.uniform(0.35, 0.65)), int(height * rng.uniform(0.4, 0.6))
    half_w, half_h = int(width * rng.uniform(0.08, 0.2)), int(height * rng.uniform(0.08, 0.2))
    inner = [
        (cx - half_w, cy - half_h),
        (cx + half_w, cy - half_h),
        (cx + half_w, cy + half_h),
        (cx - half_w, cy + half_h),
    ]
    outer = [(0, 0), (width, 0), (width, height), (0, height)]
    for i in range(4):
        quad = np.array([outer[i], outer[(i + 1) % 4], inner[(i + 1) % 4], inner[i]])
        cv2.fillPoly(image, [quad], tuple(float(c) for c in _natural_colour(rng)))
    image *= 0.85 + 0.3 * fractal_noise(rng, height, width)[..., None]  # wear, reflections
    cv2.rectangle(image, inner[0], inner[2], tuple(float(c) for c in rng.integers(0, 120, 3)), -1)
    for _ in range(int(rng.integers(2, 8))):
        t = rng.uniform(0.05, 0.8)
        x = (
            int((1 - t) * 0 + t * inner[0][0])
            if rng.random() < 0.5
            else int((1 - t) * width + t * inner[1][0])
        )
        top, bottom = int(t * inner[0][1]), int((1 - t) * height + t * inner[3][1])
        door_w = max(2, int((1 - t) * width * 0.05))
        cv2.rectangle(
            image,
            (x, top + (bottom - top) // 4),
            (x + door_w, bottom),
            tuple(float(c) for c in rng.integers(0, 256, 3)),
            -1,
        )
    return image


def _street(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    place = render_place(int(rng.integers(0, 2**31)), height, width).astype(np.float64)
    grain = fractal_noise(rng, height, width)[..., None]
    return place * (0.8 + 0.4 * grain)


def _blobs(rng: np.random.Generator, image: np.ndarray) -> None:
    """Trees, bushes, rocks: textured ellipses."""
    height, width = image.shape[:2]
    for _ in range(int(rng.integers(0, 6))):
        mask = np.zeros((height, width), np.uint8)
        centre = (int(rng.integers(0, width)), int(rng.integers(height // 4, height)))
        axes = (int(rng.integers(5, width // 6)), int(rng.integers(5, height // 4)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        image[mask > 0] = _texture(rng, height, width)[mask > 0]


def render_scene(seed: int, height: int = 240, width: int = 320) -> np.ndarray:
    """One varied scene: (height, width, 3) u8 BGR, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3)
    if kind == 0:
        image = _landscape(rng, height, width)
        if rng.random() < 0.5:
            _road(rng, image)
    elif kind == 1:
        image = _street(rng, height, width)
    else:
        image = _corridor(rng, height, width)
    _blobs(rng, image)
    image = image * rng.uniform(0.5, 1.3) + rng.uniform(-30, 30)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.5, 2.0)))
    image = image + rng.normal(0, rng.uniform(0, 8), image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)
