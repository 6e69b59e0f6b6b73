"""The work split into shards, the staging folder where workers leave their results, and the
results put back together.

A shard is a run of consecutive candidate images (in listing order). Its **content key** is a
sha256 over what decides its result: the model (file digest, input size, device, precision,
batch), the set of image contents the index already has vectors for (those are hashed, not
embedded again), and the shard's files with their sizes and mtimes. A worker writes the result
to ``<index>/staging/<key>.shard.npz`` under a temporary name and renames it: a file there is
complete, and whoever wrote it (this run, a killed run, a straggler of one) wrote the same
result. So a re-run after a killed driver takes every shard file it finds and embeds only the
rest: the staging folder is the cluster's resume journal. It goes once the index is committed.

Shard file (NumPy ``.npz``, no pickles): ``vectors`` (rows, D) float32, one row per image
embedded; ``header``, UTF-8 JSON as uint8: {format, key, dim, precision, worker, seconds,
entries: [[relpath, size, mtime_ns, sha256 or null, reason or null, row]]}, where ``row`` is -1
for an image whose content already has a vector (reused) or that failed (``reason``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..core.files import atomic_write_with
from ..core.images import ImageFile
from ..indexing.engine import Embedded

logger = logging.getLogger(__name__)

SHARD_FORMAT = 1
STAGING = "staging"
DEFAULT_SHARD_SIZE = 64  # images: a few seconds of one worker thread with the full-size model


@dataclass(frozen=True)
class Shard:
    """Consecutive candidate images and the content key of their result."""

    files: tuple[ImageFile, ...]
    key: str


@dataclass
class ShardResult:
    """A shard's result: per image, its entry; the vectors of those embedded (as written; a
    result read back leaves them in the file, see ShardRows)."""

    entries: list[tuple[str, int, int, str | None, str | None, int]]
    worker: str
    seconds: float
    precision: str
    vectors: np.ndarray | None = None


def plan_shards(
    candidates: list[ImageFile], size: int, model_key: str, reusable_digest: str
) -> list[Shard]:
    """``candidates`` cut into shards of ``size`` images (the last may be shorter).

    ``model_key``: what of the model decides its vectors; ``reusable_digest``: of the content
    the workers reuse instead of embedding (see the module docstring).
    """
    shards = []
    for start in range(0, len(candidates), size):
        files = tuple(candidates[start : start + size])
        shards.append(Shard(files, shard_key(files, model_key, reusable_digest)))
    return shards


def shard_key(files: Iterable[ImageFile], model_key: str, reusable_digest: str) -> str:
    digest = hashlib.sha256(f"shard {SHARD_FORMAT}\n{model_key}\n{reusable_digest}\n".encode())
    for file in files:
        digest.update(f"{file.relpath}\0{file.size}\0{file.mtime_ns}\n".encode())
    return digest.hexdigest()


def reusable_digest(sha256s: Iterable[str]) -> str:
    """Digest of a set of content hashes (order does not matter)."""
    digest = hashlib.sha256()
    for sha in sorted(sha256s):
        digest.update(sha.encode("ascii"))
    return digest.hexdigest()


class Staging:
    """The staging folder of an index folder: shard files, the reusable set, build scratch."""

    def __init__(self, index_dir: Path) -> None:
        self.folder = Path(index_dir) / STAGING

    def shard_path(self, key: str) -> Path:
        return self.folder / f"{key}.shard.npz"

    def reusable_path(self, digest: str) -> Path:
        return self.folder / f"reusable-{digest[:32]}.npy"

    @property
    def scratch(self) -> Path:
        """Intermediate files of an index build (never resumed: cleared at each build)."""
        return self.folder / "build"

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def write_reusable(path: Path, sha256s: Iterable[str]) -> None:
    """The content hashes the workers reuse, sorted, as a (N,) ``S64`` array (looked up by
    binary search: a million of them take 64 MB in each worker, not a Python set's 150)."""
    hashes = np.array(sorted(sha256s), dtype="S64")

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, hashes, allow_pickle=False)

    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_with(path, write)


def write_shard(path: Path, key: str, result: ShardResult) -> None:
    """Write a shard's result atomically (temporary name, then rename)."""
    header = {
        "format": SHARD_FORMAT,
        "key": key,
        "dim": int(result.vectors.shape[1]),
        "precision": result.precision,
        "worker": result.worker,
        "seconds": result.seconds,
        "entries": result.entries,
    }
    encoded = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, vectors=np.asarray(result.vectors, np.float32), header=encoded)

    atomic_write_with(path, write)


def read_shard(path: Path, shard: Shard, dim: int) -> ShardResult | None:
    """The result in ``path`` when it is a complete one of ``shard`` (else None, logged); its
    vectors stay in the file (only their shape is read)."""
    try:
        with zipfile.ZipFile(path) as archive:
            header = json.loads(np.load(io.BytesIO(archive.read("header.npy"))).tobytes())
            with archive.open("vectors.npy") as member:
                shape, dtype = _array_shape(member)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        if path.exists():
            logger.warning("ignoring the unreadable shard file %s (%s)", path, exc)
        return None
    entries = [tuple(entry) for entry in header.get("entries", [])]
    expected = [(f.relpath, f.size, f.mtime_ns) for f in shard.files]
    rows = sorted(entry[5] for entry in entries if entry[5] >= 0)
    if (
        header.get("format") != SHARD_FORMAT
        or header.get("key") != shard.key
        or [entry[:3] for entry in entries] != expected
        or (shape, dtype) != ((len(rows), dim), np.float32)
        or rows != list(range(len(rows)))
    ):
        logger.warning("ignoring the shard file %s: it does not hold this shard's result", path)
        return None
    return ShardResult(entries, header["worker"], header["seconds"], header["precision"])


def _array_shape(member: BinaryIO) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the header of a ``.npy`` stream (the data is not read)."""
    version = np.lib.format.read_magic(member)
    readers = {(1, 0): np.lib.format.read_array_header_1_0}
    readers[(2, 0)] = np.lib.format.read_array_header_2_0
    shape, _, dtype = readers[version](member)
    return shape, dtype


class ShardRows:
    """The vectors of shard files, read when first asked for and let go when another shard's
    are: rows are asked for in listing order, shard after shard, so the driver holds one
    shard's vectors at a time however many images a run embeds."""

    def __init__(self, staging: Staging) -> None:
        self._staging = staging
        self._key: str | None = None
        self._vectors: np.ndarray | None = None

    def row(self, key: str, row: int) -> np.ndarray:
        if key != self._key:
            with np.load(self._staging.shard_path(key), allow_pickle=False) as data:
                self._key, self._vectors = key, data["vectors"]
        return self._vectors[row]


class ShardRow:
    """One embedded vector, read from its shard file when NumPy first needs it."""

    __slots__ = ("_key", "_row", "_rows")

    def __init__(self, rows: ShardRows, key: str, row: int) -> None:
        self._rows, self._key, self._row = rows, key, row

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        vector = self._rows.row(self._key, self._row)
        return vector if dtype is None else vector.astype(dtype)


def gather(
    shards: list[Shard],
    results: dict[str, ShardResult],
    resumed: set[str],
    reusable: Mapping[str, np.ndarray],
    rows: ShardRows,
) -> Embedded:
    """The shards' results as update_index takes them, the new vectors left in their files
    until needed; a resumed shard's vectors count as reused (an earlier run embedded them), as
    the single-process journal's do."""
    found: dict[str, tuple[str, np.ndarray | ShardRow]] = {}
    failed, unfinished, embedded = [], [], 0
    for shard in shards:
        result = results.get(shard.key)
        if result is None:
            unfinished.extend(shard.files)
            continue
        for file, (_, _, _, sha, reason, row) in zip(shard.files, result.entries, strict=True):
            if reason is not None:
                failed.append((file, reason))
            elif row >= 0:
                found[file.relpath] = (sha, ShardRow(rows, shard.key, row))
                embedded += shard.key not in resumed
            else:
                found[file.relpath] = (sha, reusable[sha])
    return Embedded(found, embedded, failed, unfinished)
