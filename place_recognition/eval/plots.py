"""A Recall@N curve as a PNG, drawn with OpenCV (no plotting dependency)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..core.files import atomic_write_bytes

_SIZE = (480, 640)  # height, width
_MARGIN = (40, 60, 50, 20)  # top, left, bottom, right
_COLOURS = ((200, 80, 20), (30, 140, 30), (20, 20, 200), (150, 60, 150), (0, 140, 200))


def draw_recall_curves(curves: dict[str, dict[int, float]], title: str) -> np.ndarray:
    """``curves``: label -> {N: recall}. Returns a u8 BGR image with axes, grid and legend."""
    height, width = _SIZE
    top, left, bottom, right = _MARGIN
    image = np.full((height, width, 3), 255, np.uint8)
    n_max = max(max(c) for c in curves.values())
    plot_w, plot_h = width - left - right, height - top - bottom

    def point(n: int, recall: float) -> tuple[int, int]:
        x = left + (n - 1) / max(n_max - 1, 1) * plot_w
        return round(x), round(top + (1.0 - recall) * plot_h)

    font = cv2.FONT_HERSHEY_SIMPLEX
    for tick in np.linspace(0, 1, 6):
        y = point(1, tick)[1]
        cv2.line(image, (left, y), (width - right, y), (225, 225, 225), 1)
        cv2.putText(image, f"{tick:.1f}", (left - 40, y + 5), font, 0.45, (0, 0, 0), 1)
    for n in sorted({1, *range(5, n_max + 1, 5)}):
        x = point(n, 0)[0]
        cv2.putText(image, str(n), (x - 6, height - bottom + 20), font, 0.45, (0, 0, 0), 1)
    cv2.rectangle(image, (left, top), (width - right, height - bottom), (0, 0, 0), 1)
    cv2.putText(image, title, (left, top - 15), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, "N", (width // 2, height - 8), font, 0.5, (0, 0, 0), 1)
    cv2.putText(image, "Recall@N", (5, top - 15), font, 0.45, (0, 0, 0), 1)
    for i, (label, curve) in enumerate(curves.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        points = np.array([point(n, curve[n]) for n in sorted(curve)], np.int32)
        cv2.polylines(image, [points], False, colour, 2, cv2.LINE_AA)
        for p in points:
            cv2.circle(image, tuple(int(v) for v in p), 3, colour, -1)
        y = height - bottom - 15 - 20 * (len(curves) - 1 - i)
        cv2.putText(image, label, (left + plot_w // 2, y), font, 0.45, colour, 1, cv2.LINE_AA)
    return image


def save_recall_plot(path: Path, curves: dict[str, dict[int, float]], title: str) -> Path:
    ok, data = cv2.imencode(".png", draw_recall_curves(curves, title))
    if not ok:
        raise OSError(f"cannot encode the plot for {path}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data.tobytes())
    return path
