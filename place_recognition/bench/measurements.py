"""The measurements behind ``scripts/benchmark.py``: numbers only, no printing.

- Indexing from image files: decode + resize + inference + index, as ``build_index`` runs it
  (THROUGHPUT hint, asynchronous requests, exact index), timed apart from the model compilation.
- The reference demo's method (``bench/reference_demo.py``) on the same files and IR: its gallery
  build (compile, read all, embed one by one) and its per-query search (NumPy L2 distance to
  every vector + full argsort) against ``PlaceIndex.search`` on the same vectors.
- Search timing uses random unit vectors: exact search costs the same whatever the values.
"""

from __future__ import annotations

import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core.fingerprint import ModelFingerprint
from ..core.images import read_image
from ..core.model import EmbeddingModel
from ..core.prefetch import ordered_prefetch
from ..index.place_index import PlaceIndex, l2_normalize
from ..index.records import GalleryRecord
from ..indexing.update import UpdateOptions, update_index
from ..scenes.street import render_place, render_view
from .reference_demo import ReferenceDemo, reference_search

SEARCH_K = 5


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def make_image_gallery(folder: Path, count: int, size: tuple[int, int] = (480, 640)) -> list[Path]:
    """``count`` camera-size JPEG views of generated places (3 views per place), made once."""
    folder = Path(folder)
    existing = sorted(folder.rglob("*.jpg")) if folder.is_dir() else []
    if len(existing) == count:
        return existing
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(count):
        place = folder / f"place_{i // 3:04d}"
        place.mkdir(parents=True, exist_ok=True)
        view = render_view(render_place(i // 3), seed=i, size=size)
        cv2.imwrite(str(place / f"view_{i % 3}.jpg"), view)
    return sorted(folder.rglob("*.jpg"))


@dataclass
class BuildTiming:
    """One gallery build: seconds to compile the model and to index (or embed) the images."""

    images: int
    compile_s: float
    index_s: float

    @property
    def total_s(self) -> float:
        return self.compile_s + self.index_s

    @property
    def images_per_s(self) -> float:
        return self.images / self.index_s


def time_our_build(
    model_path: Path,
    gallery: Path,
    workdir: Path,
    device: str,
    precision: str | None,
    batch: int = 1,
) -> BuildTiming:
    """A cold ``update_index`` of ``gallery`` into a fresh folder, as ``build_index [--batch]``
    runs it."""
    index_dir = Path(workdir) / "index"
    shutil.rmtree(index_dir, ignore_errors=True)
    started = time.perf_counter()
    model = EmbeddingModel(model_path, device, precision, "THROUGHPUT", batch=batch)
    compiled = time.perf_counter()
    options = UpdateOptions(rebuild=True, index_mode="exact")
    update = update_index(model, gallery, index_dir, options)
    done = time.perf_counter()
    return BuildTiming(len(update.index), compiled - started, done - compiled)


def time_reference_build(model_path: Path, paths: list[Path], device: str) -> BuildTiming:
    """The reference demo's start: compile without configuration, read all, embed one by one."""
    started = time.perf_counter()
    demo = ReferenceDemo(model_path, device)
    compiled = time.perf_counter()
    demo.embed_gallery(paths)
    return BuildTiming(len(paths), compiled - started, time.perf_counter() - compiled)


def decode_images_per_s(paths: list[Path]) -> float:
    """Images per second read and decoded alone, on the indexing pipeline's decode threads.

    With inference this is the other half of the work on the same cores: at best the two
    together reach 1 / (1 / decode + 1 / inference) images per second.
    """
    started = time.perf_counter()
    for _ in ordered_prefetch(read_image, paths):
        pass
    return len(paths) / (time.perf_counter() - started)


def extrapolate_start(timing: BuildTiming, images: int) -> float:
    """Start-up seconds for ``images`` images: compile once + embedding time scaled linearly."""
    return timing.compile_s + timing.index_s * images / timing.images


def random_index(dim: int, size: int, seed: int = 0) -> tuple[PlaceIndex, np.ndarray]:
    """An exact index of ``size`` random unit vectors, and the vectors."""
    vectors = l2_normalize(np.random.default_rng(seed).standard_normal((size, dim), np.float32))
    records = [GalleryRecord(f"{i}.jpg", f"place_{i}", "0" * 64, 0, 0) for i in range(size)]
    fingerprint = ModelFingerprint("random", "0" * 64, (1, 1), dim)
    return PlaceIndex.build(fingerprint, records, vectors), vectors


def time_search(dim: int, size: int, queries: int, reference_queries: int) -> dict:
    """Median ms per query (one at a time, top-5) of ``PlaceIndex`` and of the reference method."""
    index, vectors = random_index(dim, size)
    probes = l2_normalize(np.random.default_rng(1).standard_normal((queries, dim), np.float32))
    ours, reference = [], []
    for probe in probes:
        started = time.perf_counter()
        index.search(probe[None], SEARCH_K)
        ours.append(time.perf_counter() - started)
    for probe in probes[:reference_queries]:
        started = time.perf_counter()
        reference_search(vectors, probe)[:SEARCH_K]
        reference.append(time.perf_counter() - started)
    ours_ms, reference_ms = 1000 * median(ours), 1000 * median(reference)
    return {
        "gallery": size,
        "dim": dim,
        "ours_ms": ours_ms,
        "reference_ms": reference_ms,
        "speedup": reference_ms / ours_ms,
        "queries": queries,
        "reference_queries": min(reference_queries, queries),
    }
