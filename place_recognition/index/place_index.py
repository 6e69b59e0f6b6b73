"""PlaceIndex: a faiss index + the gallery records + a manifest, persisted atomically.

Folder layout (generation ``g`` increases with every save)::

    manifest.json            format, model fingerprint, count, names/sizes/sha256 of the files
    index.<g>.faiss          faiss inner-product index over L2-normalised vectors
    records.<g>.jsonl        one GalleryRecord per line, line i = faiss id i
    model.<g>.xml/.bin       optional: the gallery-fitted model the vectors were made with
                             (manifest key "fitted_model"; see nets/head_fit.py)

The manifest may also hold ``"threshold"``: the calibrated unknown-place score threshold
(recognition/calibration.py). Both are carried over by later saves of the same model's index.

New data files are written under new names, then the manifest is replaced (the commit point),
then older generations are deleted: a reader or a crash sees the old index or the new one,
never a mix.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import faiss
import numpy as np

from ..core.files import atomic_write_text, atomic_write_with
from ..core.fingerprint import ModelFingerprint, cached_sha256, cached_sha256_of_open
from ..errors import PlaceRecognitionError, RuntimeFailure
from . import modes as ann
from .records import GalleryRecord

logger = logging.getLogger(__name__)

FORMAT = "place-recognition-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDEX_DIRNAME = ".place_index"
_ROLES = ("index", "records")
_DATA_FILE = re.compile(r"^(index|records|vectors|model)\.(\d+)\.(faiss|jsonl|npy|xml|bin)$")
FITTED_MODEL = "fitted_model"  # manifest key: {"xml", "bin", "base_model", "info"}
THRESHOLD = "threshold"  # manifest key: calibrated unknown-place threshold (float)
_CARRIED = (FITTED_MODEL, THRESHOLD)  # kept by later saves of the same model


class IndexMismatchError(PlaceRecognitionError, ValueError):
    """The index was built with another model than the one given."""


class IndexFormatError(PlaceRecognitionError):
    """The index folder is damaged or was written by a newer version."""


class IndexMissingError(PlaceRecognitionError, FileNotFoundError):
    """There is no index in the folder yet."""


class IndexWriteError(RuntimeFailure):
    """The index folder cannot be written (read-only, full disk)."""


class _GenerationGone(Exception):
    """The generation being read was replaced (and deleted) by a concurrent save."""


_REBUILD = "re-run build_index.py with --rebuild to replace it"
_READ_ATTEMPTS = 20  # a reader retries when concurrent saves delete the generation it opens


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
    every mode.
    """

    def __init__(
        self,
        fingerprint: ModelFingerprint,
        records: list[GalleryRecord],
        index: faiss.Index,
        generation: int = 0,
        vectors: np.ndarray | None = None,
        factory: str = ann.EXACT,
    ) -> None:
        if index.ntotal != len(records):
            raise ValueError(f"{index.ntotal} vectors but {len(records)} records")
        if (factory == ann.EXACT) != (vectors is None):
            raise ValueError("an approximate index needs its exact vectors, an exact one not")
        self.fingerprint = fingerprint
        self.records = records
        self.generation = generation
        self.factory = factory
        self.nprobe = ann.DEFAULT_NPROBE
        self._index = index
        self._vectors = vectors
        # Manifest entries that belong to the model rather than to one save (FITTED_MODEL,
        # THRESHOLD): set by load(), kept by save().
        self.attached: dict = {}
        # Gallery files left out, with why: [{"path", "reason", "size", "mtime_ns"}] (manifest).
        self.skipped: list[dict] = []
        # Digest of the gallery listing the index was made from (indexing.listing_digest).
        self.listing: str | None = None

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
        if factory == ann.EXACT:
            index = faiss.IndexFlatIP(fingerprint.dim)
            index.add(vectors)
            return cls(fingerprint, list(records), index)
        if trained is not None:
            index = faiss.clone_index(trained)
            index.reset()
        else:
            index = ann.new_index(factory, fingerprint.dim)
            ann.train(index, vectors)
        ann.add_in_chunks(index, vectors, progress)
        return cls(fingerprint, list(records), index, vectors=vectors, factory=factory)

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
            stored = faiss.rev_swig_ptr(self._index.get_xb(), self._index.ntotal * self.dim)
            float(stored[:: 4096 // 4].sum())  # one float per 4 KiB page

    def vectors(self) -> np.ndarray:
        """All stored vectors, (N, D) float32, in record order (memory-mapped when loaded)."""
        if self._vectors is not None:
            return self._vectors
        if self._index.ntotal == 0:
            return np.empty((0, self.dim), np.float32)
        return self._index.reconstruct_n(0, self._index.ntotal)

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
            scores, ids = self._search_and_rerank(queries, k)
        return [
            [
                Match(rank, int(i), float(s), self.records[i])
                for rank, (s, i) in enumerate(zip(row_scores, row_ids, strict=True))
                if i >= 0
            ]
            for row_scores, row_ids in zip(scores, ids, strict=True)
        ]

    def _search_and_rerank(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidates from the approximate index, ordered by their exact similarity."""
        ann.set_nprobe(self._index, self.nprobe)
        candidates = min(len(self.records), max(k, ann.RERANK))
        _, ids = self._index.search(queries, candidates)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        best = np.full((len(queries), k), -1, np.int64)
        for row, (query, found) in enumerate(zip(queries, ids, strict=True)):
            found = np.unique(found[found >= 0])  # sorted rows: mostly sequential reads
            exact = self._vectors[found] @ query
            order = np.argsort(-exact, kind="stable")[:k]
            scores[row, : len(order)] = exact[order]
            best[row, : len(order)] = found[order]
        return scores, best

    def save(self, directory: Path) -> Path:
        """Write the index as a new generation in ``directory`` and commit it atomically.

        Entries of the previous manifest of the *same* model (its gallery-fitted model files,
        its threshold) are carried over unless this index sets its own in ``attached``.
        """
        directory = Path(directory)
        try:
            return self._save(directory)
        except PermissionError as exc:
            raise IndexWriteError(
                f"cannot write the index in {directory}: {exc.strerror}; make the folder "
                "writable or choose another index folder with -o"
            ) from exc
        except OSError as exc:
            raise IndexWriteError(f"cannot write the index in {directory}: {exc}") from exc

    def _save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        _delete_temporaries(directory)  # left by a killed save (writers hold the folder's lock)
        try:
            previous = read_manifest(directory, missing_ok=True)
        except IndexFormatError:
            # A damaged or newer manifest is being replaced on purpose (only --rebuild gets
            # here): nothing of it is carried over. Loading such an index still refuses it.
            logger.warning("replacing the unreadable index manifest in %s", directory)
            previous = None
        self.generation = (
            max(
                self.generation,
                previous["generation"] if previous else 0,
                _highest_generation(directory),
            )
            + 1
        )
        if previous and previous["model"].get("sha256") == self.fingerprint.sha256:
            self.attached = {
                **{k: previous[k] for k in _CARRIED if k in previous},
                **self.attached,
            }
        index_file = directory / f"index.{self.generation:06d}.faiss"
        records_file = directory / f"records.{self.generation:06d}.jsonl"
        atomic_write_with(index_file, lambda tmp: faiss.write_index(self._index, str(tmp)))
        lines = (json.dumps(r.to_json(), ensure_ascii=False) for r in self.records)
        atomic_write_text(records_file, "".join(line + "\n" for line in lines))
        files = {"index": _describe(index_file), "records": _describe(records_file)}
        if self._vectors is not None:
            vectors_file = directory / f"vectors.{self.generation:06d}.npy"
            atomic_write_with(vectors_file, lambda tmp: _write_npy(tmp, self._vectors))
            files["vectors"] = _describe(vectors_file)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "generation": self.generation,
            "model": self.fingerprint.to_dict(),
            "metric": "inner_product",
            "factory": self.factory,
            "nprobe": self.nprobe,
            "dim": self.dim,
            "count": len(self.records),
            "files": files,
            "skipped": self.skipped,
            "listing": self.listing,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **self.attached,
        }
        atomic_write_text(directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        _delete_other_generations(directory, self.generation, _referenced(manifest))
        return directory

    @classmethod
    def next_generation(cls, directory: Path) -> int:
        """The generation number the next save in ``directory`` will get."""
        previous = read_manifest(directory, missing_ok=True)
        return max(previous["generation"] if previous else 0, _highest_generation(directory)) + 1

    @classmethod
    def load(
        cls, directory: Path, expected: ModelFingerprint | None = None, mmap: bool = False
    ) -> PlaceIndex:
        """Read a saved index; refuse another model's index, a damaged one, or a newer format.

        Every data file's size and sha256 are checked against the manifest before faiss or the
        JSON reader sees it (digests are cached by inode, size and mtime, see
        ``fingerprint.cached_sha256``), so damage is reported, never half-read. ``mmap`` maps
        an exact index's vectors instead of reading them (a fast start on a large gallery; the
        pages are read on the first search); such an index is for searching only. An
        approximate index is small and read whole (its exact vectors are always mapped).
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
        cls, directory: Path, manifest: dict, expected: ModelFingerprint | None, mmap: bool
    ) -> PlaceIndex:
        fingerprint = ModelFingerprint.from_dict(manifest["model"])
        if expected is not None and fingerprint != expected:
            raise IndexMismatchError(
                f"the index in {directory} was built with model {fingerprint.key}, not with "
                f"{expected.key}; index the gallery with this model (or pass its own index)"
            )
        # Data files never change once written and are deleted only after a newer manifest is
        # committed: once both are open, they are one consistent generation, whatever happens.
        factory = manifest.get("factory", ann.EXACT)
        with (
            _open_data_file(directory, manifest, "index") as index_file,
            _open_data_file(directory, manifest, "records") as records_file,
        ):
            index = _read_faiss(index_file, mmap and factory == ann.EXACT)  # see load()
            records = _read_records(records_file)
            vectors = None
            if factory != ann.EXACT:
                with _open_data_file(directory, manifest, "vectors") as vectors_file:
                    vectors = _map_vectors(vectors_file, manifest["count"], fingerprint.dim)
        if not (manifest["count"] == index.ntotal == len(records)) or index.d != fingerprint.dim:
            raise IndexFormatError(
                f"{directory}: manifest count {manifest['count']}, {index.ntotal} vectors of "
                f"{index.d} dims, {len(records)} records do not agree; {_REBUILD}"
            )
        loaded = cls(fingerprint, records, index, int(manifest["generation"]), vectors, factory)
        loaded.nprobe = manifest.get("nprobe", ann.DEFAULT_NPROBE)
        loaded.attached = {k: manifest[k] for k in _CARRIED if k in manifest}
        loaded.skipped = manifest.get("skipped", [])
        loaded.listing = manifest.get("listing")
        return loaded

    @classmethod
    def load_if_present(
        cls, directory: Path, expected: ModelFingerprint, mmap: bool = False
    ) -> PlaceIndex | None:
        """The index in ``directory``, or None when there is none yet.

        Data files without a manifest are a committed index that lost its manifest (an
        interrupted first build only ever leaves generation 1): refused, not overwritten.
        """
        if read_manifest(directory, missing_ok=True) is not None:
            return cls.load(directory, expected, mmap)
        if _highest_generation(directory) > 1:
            raise IndexFormatError(
                f"{directory} holds index files but no {MANIFEST} (deleted?); {_REBUILD}"
            )
        return None


def read_manifest(directory: Path, missing_ok: bool = False) -> dict | None:
    """The parsed ``manifest.json`` of an index folder (format, version and fields checked)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        if missing_ok:
            return None
        raise IndexMissingError(f"no index at {directory} (missing {MANIFEST}); build it first")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"{path} is damaged ({exc}); {_REBUILD}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexFormatError(f"{path} is not a place-recognition index manifest; {_REBUILD}")
    version = manifest.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise IndexFormatError(
            f"{path} has format version {version}, newer than this version reads "
            f"({FORMAT_VERSION}); upgrade place_recognition or {_REBUILD}"
        )
    problem = _manifest_problem(manifest)
    if problem:
        raise IndexFormatError(f"{path} is damaged ({problem}); {_REBUILD}")
    return manifest


def _manifest_problem(manifest: dict) -> str | None:
    """What is wrong with a parsed manifest's fields, or None."""
    model = manifest.get("model")
    files = manifest.get("files")
    checks = {
        "format_version": _is_int(manifest.get("format_version")),
        "generation": _is_int(manifest.get("generation")),
        "count": _is_int(manifest.get("count")),
        "model": isinstance(model, dict)
        and isinstance(model.get("name"), str)
        and isinstance(model.get("sha256"), str)
        and _is_int(model.get("dim"))
        and isinstance(model.get("input_size"), list)
        and len(model["input_size"]) == 2
        and all(_is_int(v) for v in model["input_size"]),
        "files": isinstance(files, dict)
        and all(_is_file_entry(files.get(role)) for role in _ROLES),
        "skipped": isinstance(manifest.get("skipped", []), list)
        and all(_is_skip_entry(entry) for entry in manifest.get("skipped", [])),
        THRESHOLD: THRESHOLD not in manifest or _is_number(manifest[THRESHOLD]),
        "factory": isinstance(manifest.get("factory", ann.EXACT), str)
        and (
            manifest.get("factory", ann.EXACT) == ann.EXACT
            or (isinstance(files, dict) and _is_file_entry(files.get("vectors")))
        ),
        "nprobe": _is_int(manifest.get("nprobe", 1)) and manifest.get("nprobe", 1) > 0,
        "listing": manifest.get("listing") is None or isinstance(manifest["listing"], str),
        FITTED_MODEL: FITTED_MODEL not in manifest or _is_fitted_entry(manifest[FITTED_MODEL]),
    }
    bad = [key for key, ok in checks.items() if not ok]
    return f"bad or missing {', '.join(bad)}" if bad else None


def _is_skip_entry(entry) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(entry.get(k), t) for k, t in (("path", str), ("reason", str), ("size", int))
    )


def _highest_generation(directory: Path) -> int:
    """The highest generation of the index/records files in ``directory`` (0: none).

    A gallery-fitted model is written under the generation its index will get, so its files
    do not count.
    """
    if not directory.is_dir():
        return 0
    matches = (_DATA_FILE.match(path.name) for path in directory.iterdir())
    roles = (*_ROLES, "vectors")
    return max((int(m.group(2)) for m in matches if m and m.group(1) in roles), default=0)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_fitted_entry(entry) -> bool:
    return (
        isinstance(entry, dict)
        and all(
            isinstance(entry.get(key), str) and _DATA_FILE.match(entry[key]) is not None
            for key in ("xml", "bin")
        )
        and isinstance(entry.get("base_model"), dict)
    )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_file_entry(entry) -> bool:
    # The name must be a plain file name in the folder: a manifest never points elsewhere.
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and _DATA_FILE.match(entry["name"]) is not None
        and _is_int(entry.get("size"))
        and isinstance(entry.get("sha256"), str)
    )


def _describe(path: Path) -> dict:
    # Through the digest cache: the first load after a save then needs no second hashing pass.
    return {"name": path.name, "size": path.stat().st_size, "sha256": cached_sha256([path])}


def _open_data_file(directory: Path, manifest: dict, role: str) -> BinaryIO:
    """The open data file of ``role``, its size and sha256 checked against the manifest."""
    entry = manifest["files"][role]
    path = directory / entry["name"]
    try:
        file = open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        current = read_manifest(directory, missing_ok=True)
        if current and current["generation"] != manifest["generation"]:
            raise _GenerationGone(path) from None
        raise IndexFormatError(f"{path} is missing; {_REBUILD}") from None
    try:
        size = os.fstat(file.fileno()).st_size
        if size != entry["size"]:
            raise IndexFormatError(
                f"{path} has {size} bytes, the manifest says {entry['size']}: "
                f"the file is damaged; {_REBUILD}"
            )
        if cached_sha256_of_open(file, path) != entry["sha256"]:
            raise IndexFormatError(f"{path} does not match its sha256 in the manifest; {_REBUILD}")
    except BaseException:
        file.close()
        raise
    return file


def _through_descriptor(file: BinaryIO) -> Path:
    # Read through the open descriptor (Linux) so a concurrent delete cannot pull it away.
    fd_path = Path(f"/proc/self/fd/{file.fileno()}")
    return fd_path if fd_path.exists() else Path(file.name)


def _read_faiss(file: BinaryIO, mmap: bool = False) -> faiss.Index:
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
    try:
        return faiss.read_index(str(_through_descriptor(file)), flags)
    except RuntimeError as exc:
        raise IndexFormatError(f"cannot read {file.name}: damaged faiss index; {_REBUILD}") from exc


def _map_vectors(file: BinaryIO, count: int, dim: int) -> np.ndarray:
    """The exact vectors of an approximate index, memory-mapped (read-only)."""
    try:
        vectors = np.load(_through_descriptor(file), mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise IndexFormatError(f"cannot read {file.name}: {exc}; {_REBUILD}") from exc
    if vectors.dtype != np.float32 or vectors.shape != (count, dim):
        raise IndexFormatError(
            f"{file.name} holds {vectors.dtype} {vectors.shape}, not float32 ({count}, {dim}); "
            f"{_REBUILD}"
        )
    return vectors


def _write_npy(path: Path, vectors: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.lib.format.write_array(f, np.asarray(vectors, np.float32), allow_pickle=False)


def _read_records(file: BinaryIO) -> list[GalleryRecord]:
    lines = file.read().split(b"\n")  # bytes: a label may hold U+2028, which str splits on
    if lines and not lines[-1]:
        lines.pop()
    try:
        # One parse of all lines as a JSON array: several times faster than one per line,
        # which matters for the start-up time on 100k-image galleries.
        items = json.loads(b"[" + b",".join(lines) + b"]")
        return [GalleryRecord.from_json(item) for item in items]
    except (ValueError, TypeError):
        pass
    for line_number, line in enumerate(lines, start=1):  # find the damaged line for the message
        try:
            GalleryRecord.from_json(json.loads(line))
        except (ValueError, TypeError) as exc:
            raise IndexFormatError(
                f"{file.name}, line {line_number}: damaged record; {_REBUILD}"
            ) from exc
    raise IndexFormatError(f"{file.name}: damaged records file; {_REBUILD}")


def _delete_temporaries(directory: Path) -> None:
    for path in directory.glob(".*.tmp"):
        path.unlink(missing_ok=True)


def _referenced(manifest: dict) -> set[str]:
    fitted = manifest.get(FITTED_MODEL) or {}
    return {fitted[key] for key in ("xml", "bin") if key in fitted}


def _delete_other_generations(directory: Path, generation: int, keep: set[str]) -> None:
    for path in directory.iterdir():
        match = _DATA_FILE.match(path.name)
        if match and int(match.group(2)) != generation and path.name not in keep:
            path.unlink(missing_ok=True)


def update_manifest(directory: Path, **entries) -> dict:
    """Set top-level manifest keys (such as THRESHOLD) of a saved index atomically."""
    manifest = read_manifest(directory)
    manifest.update(entries)
    atomic_write_text(Path(directory) / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest
