"""PlaceIndex: a faiss index + the gallery records + a manifest; search and persistence.

A save writes a new generation of data files (index/storage.py), then replaces the manifest
(index/manifest.py, the commit point), then deletes older generations: a reader or a crash sees
the old index or the new one, never a mix. Writers hold the folder's lock (core/files.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from ..core.fingerprint import ModelFingerprint
from ..errors import IndexFormatError, IndexMismatchError, IndexWriteError, Remedy
from . import modes as ann
from . import storage
from .manifest import MANIFEST, Manifest, QueryModel, read_manifest, write_manifest
from .manifest_checks import ONDISK_LISTS
from .records import GalleryRecord

logger = logging.getLogger(__name__)

INDEX_DIRNAME = ".place_index"
_READ_ATTEMPTS = 20  # a reader retries when concurrent saves delete the generation it opens


class _GenerationGone(Exception):
    """The generation being read was replaced (and deleted) by a concurrent save."""


@dataclass(frozen=True)
class Match:
    """One search hit: ``score`` is the cosine similarity (inner product of unit vectors)."""

    rank: int
    id: int
    score: float
    record: GalleryRecord


def default_index_dir(gallery: Path, fingerprint: ModelFingerprint) -> Path:
    """Where the index of ``gallery`` for a model lives unless told otherwise."""
    return Path(gallery) / INDEX_DIRNAME / fingerprint.key


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Vectors (..., D) scaled to unit length along the last axis, float32 (zeros stay zero)."""
    vectors = np.asarray(vectors, np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class PlaceIndex:
    """Inner-product search over a gallery's descriptors, with its records.

    ``factory`` says how (index/modes.py): ``Flat`` (exact) keeps the vectors in faiss; any
    other mode keeps the exact vectors beside the faiss index (``vectors``, memory-mapped when
    loaded) and re-ranks its candidates with them, so scores are exact cosine similarities in
    every mode. An inverted-file index may keep its lists on disk, memory-mapped from
    ``lists_file`` (built so by distributed/; saved and loaded like any other index).
    """

    def __init__(
        self,
        fingerprint: ModelFingerprint,
        records: list[GalleryRecord],
        index: faiss.Index,
        generation: int = 0,
        vectors: np.ndarray | None = None,
        factory: str = ann.EXACT,
        lists_file: Path | None = None,
    ) -> None:
        if index.ntotal != len(records):
            raise ValueError(f"{index.ntotal} vectors but {len(records)} records")
        if (factory == ann.EXACT) != (vectors is None):
            raise ValueError("an approximate index needs its exact vectors, an exact one not")
        if (lists_file is None) != (storage.ondisk_lists(index) is None):
            raise ValueError("on-disk inverted lists and their file go together")
        self.fingerprint = fingerprint
        self.records = records
        self.generation = generation
        self.factory = factory
        self.nprobe = ann.DEFAULT_NPROBE
        self._index = index
        self._vectors = vectors
        self.lists_file = Path(lists_file) if lists_file is not None else None
        # Data for indexing/ and recognition/, which decide what it means: the model that
        # embeds queries (None: the index's own model) and the unknown-place thresholds.
        self.query_model: QueryModel | None = None
        self.thresholds: dict[str, dict] = {}
        # Gallery files left out, with why: [{"path", "reason", "size", "mtime_ns"}] (manifest).
        self.skipped: list[dict] = []
        # Digest of the gallery listing the index was made from (indexing.listing_digest).
        self.listing: str | None = None
        # How the gallery's folders map to routes (records' route/position); None: unknown.
        self.routes: str | None = None

    @classmethod
    def build(
        cls,
        fingerprint: ModelFingerprint,
        records: list[GalleryRecord],
        vectors: np.ndarray,
        factory: str = ann.EXACT,
        trained: faiss.Index | None = None,
        progress: bool = False,
    ) -> PlaceIndex:
        """A new index; ``vectors``: (N, D) float32, row i belongs to ``records[i]``.

        ``factory``: ``Flat`` (exact) or a faiss factory string (see index/modes.py), trained on the
        vectors themselves unless ``trained`` (an index of the same factory) is given to copy.
        """
        vectors = l2_normalize(np.asarray(vectors, np.float32).reshape(-1, fingerprint.dim))
        index = ann.build(factory, vectors, trained, progress)
        exact = factory == ann.EXACT
        return cls(fingerprint, list(records), index, 0, None if exact else vectors, factory)

    @property
    def trained_index(self) -> faiss.Index | None:
        """The approximate faiss index (trained), to build the next generation with."""
        return None if self.factory == ann.EXACT else self._index

    def __len__(self) -> int:
        return len(self.records)

    @property
    def dim(self) -> int:
        return self._index.d

    def prefetch(self) -> None:
        """Touch every page of a memory-mapped index, so that the first search is not slowed
        by page faults (run it on a background thread while other start-up work goes on)."""
        if self._index.ntotal and isinstance(self._index, faiss.IndexFlat):
            float(self._stored().ravel()[:: 4096 // 4].sum())  # one float per 4 KiB page

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The stored vectors, (N, D) float32 in record order (memory-mapped when loaded), or
        those of ``rows`` only."""
        if self._vectors is not None:
            return self._vectors if rows is None else np.asarray(self._vectors[rows])
        if rows is not None:
            return self._index.reconstruct_batch(np.asarray(rows, np.int64))
        if self._index.ntotal == 0:
            return np.empty((0, self.dim), np.float32)
        return self._index.reconstruct_n(0, self._index.ntotal)

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """(N,) float32: the cosine similarity of one query to every record, in record order.

        Exact indexes read their vectors in place (no copy; memory-mapped when loaded); an
        approximate index reads its exact vectors, all of them: for large approximate
        galleries use ``search`` and the top candidates instead.
        """
        query = l2_normalize(np.asarray(query, np.float32).reshape(-1))
        if query.shape[0] != self.dim:
            raise ValueError(f"query has {query.shape[0]} dims, the index {self.dim}")
        return self._stored() @ query

    def _stored(self) -> np.ndarray:
        """The vectors as they are stored, without a copy (read-only use)."""
        if self._vectors is not None:
            return self._vectors
        count = self._index.ntotal
        if not count or not isinstance(self._index, faiss.IndexFlat):
            return self.vectors()
        stored = faiss.rev_swig_ptr(self._index.get_xb(), count * self.dim)
        return stored.reshape(count, self.dim)

    def search(self, queries: np.ndarray, k: int) -> list[list[Match]]:
        """Top-``k`` matches per query; ``queries``: (N, D) or (D,) float32 descriptors."""
        queries = l2_normalize(np.atleast_2d(queries))
        if queries.shape[1] != self.dim:
            raise ValueError(f"query has {queries.shape[1]} dims, the index {self.dim}")
        k = min(k, len(self.records))
        if k <= 0:
            return [[] for _ in range(len(queries))]
        if self._vectors is None:
            scores, ids = self._index.search(queries, k)
        else:
            scores, ids = ann.search_and_rerank(self._index, self._vectors, queries, k, self.nprobe)
        return [
            [
                Match(rank, int(i), float(s), self.records[i])
                for rank, (s, i) in enumerate(zip(row_scores, row_ids, strict=True))
                if i >= 0
            ]
            for row_scores, row_ids in zip(scores, ids, strict=True)
        ]

    def save(self, directory: Path) -> Path:
        """Write the index as a new generation in ``directory`` and commit it atomically.

        The manifest gets this index's ``query_model`` (None: its own model, with no files)
        and ``thresholds``; the files of the previous generation are deleted, those of its
        query model too unless this index names the same (see indexing/update.py)."""
        directory = Path(directory)
        try:
            return self._save(directory)
        except PermissionError as exc:
            raise IndexWriteError(
                f"cannot write the index in {directory}: {exc.strerror}; make the folder "
                "writable or choose another index folder",
                remedy=Remedy.INDEX_FOLDER,
            ) from exc
        except OSError as exc:
            raise IndexWriteError(f"cannot write the index in {directory}: {exc}") from exc

    def _save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        storage.delete_temporaries(directory)  # left by a killed save (writers hold the lock)
        try:
            previous = read_manifest(directory, missing_ok=True)
        except IndexFormatError:
            # A damaged or newer manifest is being replaced on purpose (only a rebuild gets
            # here): nothing of it is carried over. Loading such an index still refuses it.
            logger.warning("replacing the unreadable index manifest in %s", directory)
            previous = None
        last = previous.generation if previous else 0
        self.generation = 1 + max(self.generation, last, storage.highest_generation(directory))
        files = storage.write_generation(
            directory, self.generation, self._index, self.records, self._vectors, self.lists_file
        )
        if "invlists" in files:  # (moved in from where a build wrote it)
            self.lists_file = directory / files["invlists"].name
        manifest = Manifest(
            generation=self.generation,
            model=self.fingerprint,
            count=len(self.records),
            files=files,
            requires=(ONDISK_LISTS,) if "invlists" in files else (),
            query_model=self.query_model or QueryModel(self.fingerprint),
            factory=self.factory,
            nprobe=self.nprobe,
            thresholds=self.thresholds,
            skipped=self.skipped,
            listing=self.listing,
            routes=self.routes,
        )
        write_manifest(directory, manifest)
        storage.delete_other_generations(directory, self.generation, manifest.referenced)
        return directory

    @classmethod
    def next_generation(cls, directory: Path) -> int:
        """The generation number the next save in ``directory`` will get."""
        previous = read_manifest(directory, missing_ok=True)
        highest = storage.highest_generation(directory)
        return max(previous.generation if previous else 0, highest) + 1

    @classmethod
    def load(
        cls, directory: Path, expected: ModelFingerprint | None = None, mmap: bool = False
    ) -> PlaceIndex:
        """Read a saved index; refuse another model's index, a damaged one, or a newer format.

        Every data file's size and sha256 are checked before it is read (index/storage.py).
        ``mmap`` maps an exact index's vectors instead of reading them (a fast start on a large
        gallery; pages are read on the first search); such an index is for searching only. An
        approximate index is read whole (its exact vectors are always mapped). An older format
        version is read as it is (index/manifest.py).
        """
        directory = Path(directory)
        for _attempt in range(_READ_ATTEMPTS):
            manifest = read_manifest(directory)
            try:
                return cls._load_generation(directory, manifest, expected, mmap)
            except _GenerationGone:
                continue  # a concurrent save committed a newer generation: read that one
        raise IndexFormatError(f"{directory} changed {_READ_ATTEMPTS} times while being read")

    @classmethod
    def _load_generation(
        cls, directory: Path, manifest: Manifest, expected: ModelFingerprint | None, mmap: bool
    ) -> PlaceIndex:
        fingerprint = manifest.model
        if expected is not None and fingerprint != expected:
            raise IndexMismatchError(
                f"the index in {directory} was built with model {fingerprint.key}, not with "
                f"{expected.key}; rebuild the index with this model, or use that model's index",
                remedy=Remedy.REBUILD_INDEX,
            )
        exact = manifest.factory == ann.EXACT
        files = {r: e for r, e in manifest.files.items() if r != "vectors" or not exact}
        try:
            index, records, vectors = storage.read_generation(
                directory, files, manifest.count, fingerprint.dim, mmap
            )
        except storage.DataFileMissing as gone:
            raise _gone_or_missing(directory, manifest, Path(str(gone))) from None
        if not (manifest.count == index.ntotal == len(records)) or index.d != fingerprint.dim:
            raise IndexFormatError(
                f"{directory}: manifest count {manifest.count}, {index.ntotal} vectors of "
                f"{index.d} dims, {len(records)} records do not agree; {storage.REBUILD}",
                remedy=Remedy.REBUILD_INDEX,
            )
        lists = manifest.files.get("invlists")
        lists_file = directory / lists.name if lists else None
        loaded = cls(
            fingerprint, records, index, manifest.generation, vectors, manifest.factory, lists_file
        )
        loaded.nprobe = manifest.nprobe
        loaded.query_model, loaded.thresholds = manifest.query_model, dict(manifest.thresholds)
        loaded.skipped, loaded.listing = list(manifest.skipped), manifest.listing
        loaded.routes = manifest.routes
        return loaded

    @classmethod
    def load_if_present(
        cls, directory: Path, expected: ModelFingerprint, mmap: bool = False
    ) -> PlaceIndex | None:
        """The index in ``directory``, or None when there is none yet.

        Data files without a manifest are a committed index that lost its manifest (an
        interrupted first build only ever leaves generation 1): refused, not overwritten."""
        if read_manifest(directory, missing_ok=True) is not None:
            return cls.load(directory, expected, mmap)
        if storage.highest_generation(directory) > 1:
            raise IndexFormatError(
                f"{directory} holds index files but no {MANIFEST} (deleted?); {storage.REBUILD}",
                remedy=Remedy.REBUILD_INDEX,
            )
        return None


def _gone_or_missing(directory: Path, manifest: Manifest, path: Path) -> Exception:
    """_GenerationGone when a newer save deleted ``path``, else the error naming it."""
    try:
        current = read_manifest(directory, missing_ok=True)
    except IndexFormatError:
        current = None
    if current and current.generation != manifest.generation:
        return _GenerationGone(path)
    return IndexFormatError(f"{path} is missing; {storage.REBUILD}", remedy=Remedy.REBUILD_INDEX)
