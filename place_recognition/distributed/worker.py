"""What runs inside a Dask worker process: its model, compiled once, and the tasks.

Each worker process keeps one compiled model (``ModelRecipe`` -> EmbeddingModel), with
OpenVINO's inference threads capped at the worker's own thread count, so that the workers of
one machine share its cores instead of each taking all of them. A task reads the gallery and
writes into the index's staging folder itself: both are on a filesystem every worker sees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from distributed import get_worker

from ..core.files import atomic_write_with
from ..core.model import EmbeddingModel
from ..errors import PlaceRecognitionError
from ..indexing.embedding import embed_candidates
from .shards import Shard, ShardResult, read_shard, write_shard

_ADD_CHUNK = 65_536
_models: dict[ModelRecipe, EmbeddingModel] = {}
_reusable: dict[str, np.ndarray] = {}
_lock = threading.Lock()  # a worker may run several task threads


class WorkerSetupError(Exception):
    """A worker cannot do the work at all (no model file, no gallery): fix the cluster."""


@dataclass(frozen=True)
class ModelRecipe:
    """How to compile the driver's model in a worker: its path (as the workers see it), the
    sha256 of its files (a worker with other bytes there refuses), its compile options."""

    path: str
    sha256: str
    dim: int
    options: tuple[tuple[str, object], ...]

    @classmethod
    def of(cls, model: EmbeddingModel) -> ModelRecipe:
        options = {k: v for k, v in model.compile_options.items() if k != "threads"}
        options["cache_dir"] = str(options["cache_dir"]) if options["cache_dir"] else None
        path = str(model.path.resolve())
        return cls(path, model.fingerprint.sha256, model.dim, tuple(sorted(options.items())))

    @property
    def key(self) -> str:
        """What of the model decides its vectors (the shard key's part)."""
        options = dict(self.options)
        decisive = [options.get(name) for name in ("device", "precision", "batch")]
        return f"{self.sha256} {options.get('host_preprocessing')} {decisive}"


@dataclass(frozen=True)
class ShardDone:
    """What a worker reports for a shard (its vectors are in the shard file)."""

    key: str
    worker: str
    images: int  # embedded now (not reused, not failed)
    seconds: float
    precision: str
    from_staging: bool  # the file was there already (an earlier attempt or run)


def prepare(recipe: ModelRecipe, image: str, token: str) -> tuple[str, float, str]:
    """Check that this worker sees what the driver sees (the gallery ``image``, the ``token``
    file the driver wrote in the staging folder) and compile the model; (worker, seconds,
    precision)."""
    started = time.perf_counter()
    if not Path(image).is_file():
        raise WorkerSetupError(
            f"worker {_address()} cannot see the gallery image {image}: the gallery must be on "
            "a filesystem every worker sees, at the same path"
        )
    _require_folders(str(Path(image).parent), str(Path(token).parent))
    if not Path(token).is_file():
        raise WorkerSetupError(
            f"worker {_address()} does not see the index folder {Path(token).parents[1]} that "
            "the driver writes: it must be on a filesystem every worker and the driver share, "
            "at the same path"
        )
    model = worker_model(recipe)
    return _address(), time.perf_counter() - started, model.precision


def embed_shard(
    recipe: ModelRecipe, gallery: str, shard: Shard, out: str, reusable: str | None
) -> ShardDone:
    """Embed one shard and leave its result in the shard file ``out`` (distributed/shards.py).

    ``reusable``: the file of content hashes not to embed again (None: none).
    """
    path = Path(out)
    if (done := read_shard(path, shard, recipe.dim)) is not None:  # a straggler's, say
        return ShardDone(shard.key, done.worker, 0, 0.0, done.precision, True)
    _require_folders(gallery, str(path.parent))
    model = worker_model(recipe)
    started = time.perf_counter()
    known = _HashSet(_reusable_hashes(reusable))
    found, embedded, failed = embed_candidates(
        model, Path(gallery), list(shard.files), known, {}, None, False
    )
    result = _result(shard, found, failed, model)
    result.seconds = time.perf_counter() - started
    write_shard(path, shard.key, result)
    return ShardDone(shard.key, result.worker, embedded, result.seconds, model.precision, False)


def _result(shard: Shard, found: dict, failed: list, model: EmbeddingModel) -> ShardResult:
    reasons = {file.relpath: reason for file, reason in failed}
    entries, rows = [], []
    for file in shard.files:
        sha, vector = found.get(file.relpath, (None, None))
        row = -1
        if vector is not None:  # embedded now; None: content the index already has
            row = len(rows)
            rows.append(vector)
        entries.append((*file, sha, reasons.get(file.relpath), row))
    vectors = np.stack(rows) if rows else np.empty((0, model.dim), np.float32)
    return ShardResult(entries, _address(), 0.0, model.precision, vectors)


def add_rows(trained: str, vectors: str, start: int, stop: int, out: str) -> tuple[str, float]:
    """Add rows ``start:stop`` of the ``.npy`` file ``vectors`` (ids = row numbers) to a copy of
    the trained index in the file ``trained``; write it to ``out``; (worker, seconds)."""
    started = time.perf_counter()
    faiss.omp_set_num_threads(_threads())
    index = faiss.read_index(trained)
    rows = np.load(vectors, mmap_mode="r")
    for first in range(start, stop, _ADD_CHUNK):
        last = min(stop, first + _ADD_CHUNK)
        ids = np.arange(first, last, dtype=np.int64)
        index.add_with_ids(np.ascontiguousarray(rows[first:last], np.float32), ids)
    atomic_write_with(Path(out), lambda tmp: faiss.write_index(index, str(tmp)))
    return _address(), time.perf_counter() - started


def worker_model(recipe: ModelRecipe) -> EmbeddingModel:
    """This worker's compiled model of ``recipe`` (compiled on first use, then kept)."""
    with _lock:
        model = _models.get(recipe)
        if model is None:
            _models.clear()  # one model per worker: a new run's replaces the last one's
            model = _models[recipe] = _compile(recipe)
    return model


def _compile(recipe: ModelRecipe) -> EmbeddingModel:
    options = dict(recipe.options)
    if options.get("device") == "CPU":  # other devices have their own threads
        options["threads"] = _threads()
    try:
        model = EmbeddingModel(recipe.path, **options)
    except (OSError, PlaceRecognitionError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())
        raise WorkerSetupError(f"worker {_address()} cannot load the model: {reason}") from None
    if model.fingerprint.sha256 != recipe.sha256:
        raise WorkerSetupError(
            f"worker {_address()} has another model at {recipe.path} (sha256 "
            f"{model.fingerprint.sha256[:12]}, not {recipe.sha256[:12]}): every worker must "
            "see the same model file"
        )
    return model


def _require_folders(gallery: str, staging: str) -> None:
    if not Path(gallery).is_dir():
        raise WorkerSetupError(
            f"worker {_address()} cannot see the gallery folder {gallery}: it must be on a "
            "filesystem every worker sees, at the same path"
        )
    try:
        Path(staging).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkerSetupError(
            f"worker {_address()} cannot write the staging folder {staging} ({exc.strerror}): "
            "the index folder must be on a filesystem every worker can write, at the same path"
        ) from None


def _reusable_hashes(path: str | None) -> np.ndarray:
    if path is None:
        return np.empty(0, "S64")
    with _lock:
        if path not in _reusable:
            _reusable.clear()
            _reusable[path] = np.load(path, allow_pickle=False)
        return _reusable[path]


class _HashSet(Mapping):
    """Content hashes (sorted ``S64`` array) as the mapping embed_candidates looks them up in:
    a hash present maps to None, meaning "the index has its vector; do not embed it"."""

    def __init__(self, hashes: np.ndarray) -> None:
        self._hashes = hashes

    def __getitem__(self, sha: str) -> None:
        key = sha.encode("ascii")
        at = int(np.searchsorted(self._hashes, key))
        if at < len(self._hashes) and self._hashes[at] == key:
            return None
        raise KeyError(sha)

    def __iter__(self) -> Iterator[str]:
        return (sha.decode("ascii") for sha in self._hashes)

    def __len__(self) -> int:
        return len(self._hashes)


def _address() -> str:
    try:
        return get_worker().address
    except ValueError:  # called outside a worker (tests, the driver itself)
        return "local process"


def _threads() -> int:
    try:
        return get_worker().state.nthreads
    except ValueError:
        return 1
