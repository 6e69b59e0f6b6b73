"""Index modes: exact search, or approximate search for large galleries (faiss factory strings).

``exact`` is ``IndexFlatIP``: every query is compared with every gallery vector. For large
galleries ``auto`` switches to an inverted file of ~4 sqrt(N) lists with 8-bit scalar-quantised
codes (``IVF4096,SQ8`` for a million vectors), trained on a sample of the gallery itself. The
approximate index only proposes candidates: the gallery's exact vectors are kept beside it
(memory-mapped) and the candidates are re-ranked by their exact cosine similarity, so scores mean
the same in both modes and the unknown-place threshold holds.

No PCA by default: NetVLAD descriptors are already PCA-*whitened*, so their variance is spread
evenly over all dimensions and a PCA reduction throws signal away (measured on netvlad-lite at
200k: top-1 agreement with exact search 0.52-0.79 with ``PCAR256`` against 0.96-0.99 without;
BENCHMARKS.md). Any faiss factory string may be given instead, e.g. ``PCAR128,HNSW32`` (HNSW
only after a PCA, or its graph and vectors take too much memory) or ``IVF1024,PQ64``.
"""

from __future__ import annotations

import contextlib
import logging
import math

import faiss
import numpy as np
from tqdm import tqdm

from ..errors import PlaceRecognitionError, Remedy
from .storage import ondisk_lists

logger = logging.getLogger(__name__)

EXACT = "Flat"
# Below this many vectors exact search (O(N*D) per query, nothing lost) is kept; the boundary is
# an estimate (~10 ms per query at 200k x 1024-d on 2 cores), not yet tuned by measurement.
AUTO_EXACT_LIMIT = 200_000
TRAIN_SAMPLE = 200_000  # vectors used to train PCA, the coarse quantiser and PQ
RERANK = 100  # candidates re-ranked exactly per query (at least k)
DEFAULT_NPROBE = 64  # 1M netvlad-lite vectors, IVF4096: 0.98 top-1 agreement, ~2 ms
_ADD_CHUNK = 65_536


def resolve_factory(mode: str, count: int) -> str:
    """The faiss factory string for an index mode (``exact``, ``auto`` or a factory string)."""
    if mode == "exact":
        return EXACT
    if mode == "auto":
        return EXACT if count < AUTO_EXACT_LIMIT else approximate_factory(count)
    return mode


def approximate_factory(count: int) -> str:
    """~4 sqrt(N) inverted lists (a power of two), 8-bit scalar codes (1 byte per dimension)."""
    lists = 2 ** round(math.log2(max(256, min(65_536, 4 * math.sqrt(max(count, 1))))))
    return f"IVF{lists},SQ8"


def new_index(factory: str, dim: int) -> faiss.Index:
    """An empty inner-product index for ``factory``; a one-line error for a bad string."""
    try:
        return faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise PlaceRecognitionError(
            f"index mode {factory!r} is not a faiss index factory string for {dim}-d vectors "
            f"({str(exc).strip().splitlines()[-1]}); use exact, auto or e.g. PCAR128,IVF1024,PQ32",
            remedy=Remedy.INDEX_MODE,
        ) from None


def train(index: faiss.Index, vectors: np.ndarray, seed: int = 0) -> None:
    """Train ``index`` on at most TRAIN_SAMPLE rows of ``vectors`` (sorted random sample)."""
    count = len(vectors)
    rows = np.arange(count)
    if count > TRAIN_SAMPLE:
        rows = np.sort(np.random.default_rng(seed).choice(count, TRAIN_SAMPLE, replace=False))
    sample = np.ascontiguousarray(vectors[rows], dtype=np.float32)
    _explain_small_training(index, len(sample))
    try:
        index.train(sample)
    except RuntimeError as exc:  # too few vectors for the lists or codebooks
        reason = str(exc).strip().splitlines()[-1].split("failed: ")[-1]
        raise PlaceRecognitionError(
            f"cannot train the index mode on {count} gallery vectors ({reason}); use the exact "
            "(or auto) index mode for a gallery this small",
            remedy=Remedy.INDEX_MODE,
        ) from None


def _explain_small_training(index: faiss.Index, count: int) -> None:
    """One log line when ``count`` training vectors are fewer than faiss suggests for the
    index's k-means runs, instead of faiss's own raw warning printed once per run (up to one
    per PQ sub-quantiser); the training itself is unchanged (the setting only gates faiss's
    message)."""
    short = []
    for what, centroids, parameters in _clusterings(index):
        wanted = centroids * parameters.min_points_per_centroid
        if count < wanted:
            short.append(f"{what} ({wanted:,} suggested)")
            parameters.min_points_per_centroid = 1
    if short:
        logger.warning(
            "training the index mode on %d gallery vectors, fewer than faiss suggests for its "
            "%s: approximate search may miss more true matches; exact search suits a gallery "
            "this small",
            count,
            " and ".join(short),
        )


def _clusterings(index: faiss.Index) -> list[tuple[str, int, faiss.ClusteringParameters]]:
    """(what, centroids, k-means parameters) of the k-means runs that train ``index``: the
    inverted lists of an IVF index and the codebooks of a product quantizer."""
    inner = faiss.downcast_index(index)
    while isinstance(inner, faiss.IndexPreTransform):
        inner = faiss.downcast_index(inner.index)
    found = []
    if isinstance(inner, faiss.IndexIVF):
        found.append((f"{inner.nlist} inverted lists", inner.nlist, inner.cp))
    quantizer = getattr(inner, "pq", None)
    if quantizer is not None:
        found.append((f"{quantizer.ksub}-code PQ codebooks", quantizer.ksub, quantizer.cp))
    return found


def add_in_chunks(index: faiss.Index, vectors: np.ndarray, progress: bool = False) -> None:
    """Add (N, D) vectors in chunks (a memory-mapped array is never loaded whole)."""
    with tqdm(total=len(vectors), unit="vec", desc="adding", disable=not progress) as bar:
        for start in range(0, len(vectors), _ADD_CHUNK):
            chunk = np.ascontiguousarray(vectors[start : start + _ADD_CHUNK], dtype=np.float32)
            index.add(chunk)
            bar.update(len(chunk))


def build(
    factory: str, vectors: np.ndarray, trained: faiss.Index | None = None, progress: bool = False
) -> faiss.Index:
    """The faiss index of (N, D) unit ``vectors`` for ``factory``; an approximate one is trained
    on them, unless ``trained`` (an index of the same factory) is given to copy the training of."""
    if factory == EXACT:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return index
    if trained is not None:
        index = empty_copy(trained)
    else:
        index = new_index(factory, vectors.shape[1])
        train(index, vectors)
    add_in_chunks(index, vectors, progress)
    return index


def empty_copy(trained: faiss.Index) -> faiss.Index:
    """An empty index with the training of ``trained`` (PCA, coarse quantiser, codebooks), its
    inverted lists in memory, whether ``trained`` keeps its own in memory or on disk (which
    faiss cannot clone)."""
    if ondisk_lists(trained) is None:
        copy = faiss.clone_index(trained)
        copy.reset()
        return copy
    # Serialised without the lists' data (only their table), then given empty lists in memory.
    copy = faiss.deserialize_index(faiss.serialize_index(trained), faiss.IO_FLAG_SKIP_IVF_DATA)
    ivf = faiss.extract_index_ivf(copy)
    lists = faiss.ArrayInvertedLists(ivf.nlist, ivf.code_size)
    ivf.replace_invlists(lists, True)
    lists.this.disown()  # the index owns (and frees) it now
    copy.reset()
    return copy


def search_and_rerank(
    index: faiss.Index, vectors: np.ndarray, queries: np.ndarray, k: int, nprobe: int
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids), each (Q, k): candidates from the approximate ``index``, ordered by their
    exact similarity with ``vectors`` (N, D); missing hits have id -1."""
    set_nprobe(index, nprobe)
    candidates = min(len(vectors), max(k, RERANK))
    _, ids = index.search(queries, candidates)
    scores = np.full((len(queries), k), -np.inf, np.float32)
    best = np.full((len(queries), k), -1, np.int64)
    for row, (query, found) in enumerate(zip(queries, ids, strict=True)):
        found = np.unique(found[found >= 0])  # sorted rows: mostly sequential reads
        exact = vectors[found] @ query
        order = np.argsort(-exact, kind="stable")[:k]
        scores[row, : len(order)] = exact[order]
        best[row, : len(order)] = found[order]
    return scores, best


def set_nprobe(index: faiss.Index, nprobe: int) -> None:
    """Lists visited per query (IVF) or search breadth (HNSW efSearch); no-op for exact."""
    space = faiss.ParameterSpace()
    for name, value in (("nprobe", nprobe), ("efSearch", max(nprobe, 16))):
        with contextlib.suppress(RuntimeError):  # the index has no such parameter
            space.set_index_parameter(index, name, value)
