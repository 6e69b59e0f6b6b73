"""Search at scale: exact vs approximate index modes on 100k-1M descriptors that are not noise.

The queries and their true matches are real descriptors (a model run over labelled data sets).
The rest of the gallery is made from the real references by augmentation in descriptor space:
each synthetic vector mixes two real references (weights 0.6-1 / 0-0.4) and adds Gaussian noise
with the real references' per-dimension spread, then is L2-normalised. It lies near the real
descriptors, so a query meets many near neighbours; the top-1 minus top-2 score margins of the
real queries against the synthetic gallery are reported beside those against the real gallery,
so an easy synthetic set cannot flatter the result. Ground truth is exact search, in chunks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core.fingerprint import ModelFingerprint
from ..core.model import EmbeddingModel
from ..core.sysinfo import machine_info
from ..eval.datasets import read_dataset
from ..eval.runs import embed_paths
from ..index import modes as ann
from ..index.place_index import PlaceIndex, l2_normalize
from ..index.records import GalleryRecord

_CHUNK = 65_536
DEFAULT_MODES = ("exact", "auto", "PCAR128,HNSW32")


@dataclass(frozen=True)
class ScaleRun:
    """What ``measure_scale`` measures: gallery sizes, index modes, and the real sets."""

    datasets: list[Path]  # labelled sets giving the real queries and references
    sizes: list[int]
    workdir: Path  # the synthetic descriptors and the saved indexes
    modes: tuple[str, ...] = DEFAULT_MODES  # exact, auto or faiss factory strings
    nprobe: int | None = None  # for IVF modes (None: the default)
    queries: int = 1000  # real queries used
    exact_queries: int = 100  # of which timed in exact mode (slow at 1M)


def measure_scale(
    model: EmbeddingModel,
    run: ScaleRun,
    progress: bool = False,
    on_row: Callable[[int, dict], None] | None = None,
) -> dict:
    """Build time, memory, latency and top-1 agreement with exact search of each mode at each
    size; ``on_row(size, result)`` sees each mode's result as it is measured."""
    run.workdir.mkdir(parents=True, exist_ok=True)
    real = real_descriptors(model, run.datasets, progress=progress)
    picked = np.sort(np.random.default_rng(0).permutation(len(real.queries))[: run.queries])
    queries = real.queries[picked]
    extra = max(run.sizes) - len(real.references)
    synthetic = synthesize(real.references, extra, run.workdir / "synthetic.npy", progress=progress)
    _, real_scores = exact_top2(queries, real.references)
    truth = [real.truth[i] for i in picked]
    sizes = []
    for size in run.sizes:
        gallery = np.concatenate([real.references, synthetic[: size - len(real.references)]])
        sizes.append(_measure_size(gallery, queries, truth, run, progress, on_row))
    return {
        "machine": machine_info(),
        "model": model.describe(),
        "real": real.sources,
        "queries": len(queries),
        "margins_real_gallery": margin_summary(real_scores),
        "sizes": sizes,
    }


def _measure_size(
    gallery: np.ndarray,
    queries: np.ndarray,
    truth: list[np.ndarray],
    run: ScaleRun,
    progress: bool,
    on_row: Callable[[int, dict], None] | None,
) -> dict:
    size = len(gallery)
    truth_ids, truth_scores = exact_top2(queries, gallery)
    entry = {"gallery": size, "margins": margin_summary(truth_scores), "modes": []}
    for mode in run.modes:
        factory = ann.resolve_factory(mode, size)
        timed = run.exact_queries if factory == ann.EXACT else len(queries)
        result = measure_mode(
            factory, gallery, queries, truth_ids[:, 0], run.workdir, run.nprobe, timed, progress
        )
        result["real_recall_at_1"] = recall_at_1(result.pop("found_top1"), truth)
        entry["modes"].append({"requested": mode, **result})
        if on_row:
            on_row(size, result)
    return entry


@dataclass
class RealDescriptors:
    """Real queries and references; ``truth[i]``: rows of ``references`` showing query i."""

    queries: np.ndarray
    references: np.ndarray
    truth: list[np.ndarray]
    sources: list[str]


def real_descriptors(
    model: EmbeddingModel, dataset_dirs: list[Path], progress: bool = False
) -> RealDescriptors:
    """Embed (cached) the queries and references of labelled data sets, stacked."""
    queries, references, truth, sources = [], [], [], []
    offset = 0
    for folder in dataset_dirs:
        dataset = read_dataset(folder)
        refs, _ = embed_paths(model, dataset.database_paths(), progress, what="database")
        qs, _ = embed_paths(model, dataset.query_paths(), progress, what="queries")
        queries.append(qs)
        references.append(refs)
        truth.extend(np.asarray(p, np.int64) + offset for p in dataset.positives)
        sources.append(dataset.describe())
        offset += len(refs)
    return RealDescriptors(np.concatenate(queries), np.concatenate(references), truth, sources)


def synthesize(
    references: np.ndarray, count: int, path: Path, seed: int = 0, progress: bool = False
) -> np.ndarray:
    """``count`` augmented descriptors written in chunks to a ``.npy`` file, memory-mapped."""
    rng = np.random.default_rng(seed)
    spread = references.std(axis=0, keepdims=True)
    out = np.lib.format.open_memmap(path, "w+", np.float32, (count, references.shape[1]))
    bar = tqdm(total=count, desc="synthesising", unit="vec", disable=not progress)
    for start in range(0, count, _CHUNK):
        size = min(_CHUNK, count - start)
        first = references[rng.integers(0, len(references), size)]
        second = references[rng.integers(0, len(references), size)]
        weight = rng.uniform(0.6, 1.0, (size, 1)).astype(np.float32)
        noise = rng.standard_normal((size, references.shape[1]), np.float32) * spread * 0.5
        out[start : start + size] = l2_normalize(weight * first + (1 - weight) * second + noise)
        bar.update(size)
    bar.close()
    out.flush()
    return out


def exact_top2(queries: np.ndarray, gallery: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact best two gallery rows and scores per query, computed chunk by chunk."""
    ids = np.full((len(queries), 2), -1, np.int64)
    scores = np.full((len(queries), 2), -np.inf, np.float32)
    for start in range(0, len(gallery), _CHUNK):
        chunk = np.asarray(gallery[start : start + _CHUNK], np.float32)
        similarity = queries @ chunk.T
        top = np.argpartition(-similarity, min(1, chunk.shape[0] - 1), axis=1)[:, :2]
        candidate_scores = np.concatenate(
            [scores, np.take_along_axis(similarity, top, axis=1)], axis=1
        )
        candidate_ids = np.concatenate([ids, top + start], axis=1)
        order = np.argsort(-candidate_scores, axis=1, kind="stable")[:, :2]
        scores = np.take_along_axis(candidate_scores, order, axis=1)
        ids = np.take_along_axis(candidate_ids, order, axis=1)
    return ids, scores


def recall_at_1(found: list[int], truth: list[np.ndarray]) -> float:
    """Share of queries whose top-1 gallery row is one of their real positives."""
    hits = [f in set(t.tolist()) for f, t in zip(found, truth[: len(found)], strict=True)]
    return round(float(np.mean(hits)), 4)


def margin_summary(scores: np.ndarray) -> dict[str, float]:
    """Percentiles of the top-1 minus top-2 score margin (small margins: a hard gallery)."""
    margins = scores[:, 0] - scores[:, 1]
    return {f"p{q}": round(float(np.percentile(margins, q)), 4) for q in (10, 25, 50, 75, 90)}


def measure_mode(
    factory: str,
    gallery: np.ndarray,
    queries: np.ndarray,
    truth_top1: np.ndarray,
    workdir: Path,
    nprobe: int | None = None,
    query_count: int = 500,
    progress: bool = False,
) -> dict:
    """Build, save and load the index like the product does, then time single queries."""
    fingerprint = ModelFingerprint("bench", "0" * 64, (1, 1), gallery.shape[1])
    records = [GalleryRecord(str(i), "", "", 0, 0) for i in range(len(gallery))]
    rss = _rss_bytes()
    started = time.perf_counter()
    index = PlaceIndex.build(fingerprint, records, gallery, factory, progress=progress)
    build_seconds = time.perf_counter() - started
    if nprobe:
        index.nprobe = nprobe
    directory = workdir / factory.replace(",", "_")
    index.save(directory)
    index_bytes = sum(p.stat().st_size for p in directory.glob("index.*.faiss"))
    del index
    index = PlaceIndex.load(directory)  # the exact vectors now come memory-mapped
    memory = _rss_bytes() - rss
    count = min(query_count, len(queries))
    for query in queries[:10]:  # warm-up: page cache, lazy allocations
        index.search(query, 5)
    latencies, found = [], []
    for query in queries[:count]:
        started = time.perf_counter()
        matches = index.search(query, 5)
        latencies.append(time.perf_counter() - started)
        found.append(matches[0][0].id)
    agreement = float(np.mean(np.array(found) == truth_top1[:count]))
    return {
        "mode": factory,
        "nprobe": index.nprobe if factory != "Flat" else None,
        "gallery": len(gallery),
        "build_s": round(build_seconds, 1),
        "faiss_index_mb": round(index_bytes / 1e6, 1),
        "rss_growth_mb": round(memory / 1e6, 1),
        "query_ms_median": round(1000 * float(np.median(latencies)), 3),
        "query_ms_p90": round(1000 * float(np.percentile(latencies, 90)), 3),
        "queries_timed": count,
        "top1_agreement": round(agreement, 4),
        "found_top1": found,
    }


def _rss_bytes() -> int:
    """Resident memory of this process (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
