"""Run a model over a labelled set: embed (cached), rank, Recall@N, timings -> RecallReport.

Embeddings are cached per model fingerprint, preprocessing path and image list (paths, sizes,
mtimes), under ``<cache>/embeddings/``, so evaluating again, or another N, does not embed again.

Two preprocessing paths: the product's (OpenCV decode, in-graph resize, inner-product ranking)
and the Accuracy Checker's (PIL decode, host ``cv2.resize`` on u8, re-L2, squared-L2 ranking),
which gives ``localization_recall`` exactly as ``accuracy_check`` does (``eval/ac_protocol.py``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core.files import atomic_save_npy
from ..core.home import cache_dir
from ..core.images import read_image
from ..core.model import EmbeddingModel
from ..core.prefetch import ordered_prefetch
from .ac_protocol import grn_normalize, load_like_ac, localization_recall
from .datasets import VprDataset
from .metrics import (
    DEFAULT_NS,
    RecallReport,
    rank_database,
    recall_at_n,
)

logger = logging.getLogger(__name__)


def embedding_cache_file(model: EmbeddingModel, paths: list[Path], root: Path | None) -> Path:
    """Cache file of ``model``'s embeddings of ``paths`` (keyed by precision, paths, stamps)."""
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    base = Path(root) if root else cache_dir() / "embeddings"
    path = "accuracy-checker" if model.host_preprocessing else "graph"
    # The precision in effect changes the vectors (bf16 vs f32), so it is part of the key.
    return base / model.fingerprint.key / f"{path}-{model.precision}-{digest.hexdigest()[:24]}.npy"


def image_loader(model: EmbeddingModel) -> Callable[[Path], np.ndarray]:
    """How ``model`` wants its images read: u8 BGR frames, or host-resized float (AC path)."""
    if model.host_preprocessing:
        return lambda path: load_like_ac(path, model.input.size)
    return read_image


def embed_paths(
    model: EmbeddingModel,
    paths: list[Path],
    progress: bool = False,
    cache: Path | None = None,
    use_cache: bool = True,
    what: str = "images",
) -> tuple[np.ndarray, float]:
    """Embeddings (N, D) of image files and the seconds spent embedding (0 when cached);
    ``what`` names them on the progress bar."""
    cache_file = embedding_cache_file(model, paths, cache)
    if use_cache and cache_file.is_file():
        logger.info("embeddings from the cache %s", cache_file)
        return np.load(cache_file), 0.0
    started = time.perf_counter()
    images = ordered_prefetch(image_loader(model), paths)
    bar = tqdm(
        model.embed_iter(images),
        total=len(paths),
        desc=f"embedding {what}",
        unit="img",
        disable=not progress,
    )
    vectors = np.stack(list(bar)) if paths else np.empty((0, model.dim), np.float32)
    seconds = time.perf_counter() - started
    if use_cache:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_save_npy(cache_file, vectors)
    return vectors, seconds


def evaluate_dataset(
    model: EmbeddingModel,
    dataset: VprDataset,
    ns: tuple[int, ...] = DEFAULT_NS,
    progress: bool = False,
    cache: Path | None = None,
    use_cache: bool = True,
) -> tuple[RecallReport, dict]:
    """Recall@N of ``model`` on ``dataset``; also returns the raw ranking for calibration.

    The second value holds ``indices``/``scores`` (Q, k) of the ranking (``first_hit_rank`` in
    eval/metrics.py turns it into each query's first correct rank).
    """
    database, database_s = embed_paths(
        model, dataset.database_paths(), progress, cache, use_cache, what="database"
    )
    queries, query_s = embed_paths(
        model, dataset.query_paths(), progress, cache, use_cache, what="queries"
    )
    started = time.perf_counter()
    indices, scores = rank_database(queries, database, max(ns))
    search_s = time.perf_counter() - started
    recall = recall_at_n(indices, dataset.positives, ns)
    embedded = (len(dataset.database) if database_s else 0) + (len(queries) if query_s else 0)
    timings = {
        "embed_database_s": round(database_s, 3),
        "embed_queries_s": round(query_s, 3),
        "search_s": round(search_s, 4),
    }
    if embedded:
        timings["embed_ms_per_image"] = round(1000 * (database_s + query_s) / embedded, 2)
    report = RecallReport(
        dataset=dataset.name,
        model={**model.fingerprint.to_dict(), "path": str(model.path)},
        recall_at=recall,
        queries=len(dataset.queries),
        database=len(dataset.database),
        vocabulary=model_vocabulary(model),
        precision=model.precision,
        timings=timings,
    )
    return report, {"indices": indices, "scores": scores}


def model_vocabulary(model: EmbeddingModel) -> str:
    """Where the model's NetVLAD vocabulary comes from (rt_info), or '' for other models."""
    info = model.info
    if "vocabulary" not in info:
        return ""
    return f"{info['vocabulary']} ({info.get('vocabulary_images', '?')} images)"


def evaluate_like_accuracy_checker(
    model: EmbeddingModel,
    dataset: VprDataset,
    ns: tuple[int, ...] = DEFAULT_NS,
    progress: bool = False,
    cache: Path | None = None,
    use_cache: bool = True,
) -> dict:
    """The Accuracy Checker's protocol on ``dataset``: ``localization_recall`` (top-1, strictly
    within 25 m, needs UTM) and Recall@N of the same embeddings and squared-L2 ranking."""
    host = model if model.host_preprocessing else model.with_host_preprocessing()
    database, _ = embed_paths(
        host, dataset.database_paths(), progress, cache, use_cache, what="database"
    )
    queries, _ = embed_paths(
        host, dataset.query_paths(), progress, cache, use_cache, what="queries"
    )
    database, queries = grn_normalize(database), grn_normalize(queries)
    # Squared L2 on unit vectors is 2 - 2 q.g: the inner-product ranking gives the same order.
    indices, _ = rank_database(queries, database, max(ns))
    result = {
        "recall_at": {str(n): v for n, v in recall_at_n(indices, dataset.positives, ns).items()}
    }
    if dataset.has_utm:
        result["localization_recall"] = localization_recall(
            queries, database, dataset.utm_queries, dataset.utm_database
        )
    return result
