"""PlaceIndex: a faiss index + the gallery records + a manifest, persisted atomically.

Folder layout (generation ``g`` increases with every save)::

    manifest.json            format, model fingerprint, count, names/sizes/sha256 of the files
    index.<g>.faiss          faiss inner-product index over L2-normalised vectors
    records.<g>.jsonl        one GalleryRecord per line, line i = faiss id i
    model.<g>.xml/.bin       optional: the gallery-fitted model the vectors were made with
                             (manifest key "fitted_model"; see fitting.py)

The manifest may also hold ``"threshold"``: the calibrated unknown-place score threshold
(calibration.py). Both are carried over by later saves of the same model's index.

New data files are written under new names, then the manifest is replaced (the commit point),
then older generations are deleted: a reader or a crash sees the old index or the new one,
never a mix.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .errors import PlaceRecognitionError
from .fingerprint import ModelFingerprint
from .fsutil import atomic_write_text, atomic_write_with, sha256_files
from .gallery import GalleryRecord

logger = logging.getLogger(__name__)

FORMAT = "place-recognition-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDEX_DIRNAME = ".place_index"
_ROLES = ("index", "records")
_DATA_FILE = re.compile(r"^(index|records|model)\.(\d+)\.(faiss|jsonl|xml|bin)$")
FITTED_MODEL = "fitted_model"  # manifest key: {"xml", "bin", "base_model", "info"}
THRESHOLD = "threshold"  # manifest key: calibrated unknown-place threshold (float)
_CARRIED = (FITTED_MODEL, THRESHOLD)  # kept by later saves of the same model


class IndexMismatchError(PlaceRecognitionError, ValueError):
    """The index was built with another model than the one given."""


class IndexFormatError(PlaceRecognitionError):
    """The index folder is damaged or was written by a newer version."""


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
    """Exact inner-product search over a gallery's descriptors, with its records."""

    def __init__(
        self,
        fingerprint: ModelFingerprint,
        records: list[GalleryRecord],
        index: faiss.Index,
        generation: int = 0,
    ) -> None:
        if index.ntotal != len(records):
            raise ValueError(f"{index.ntotal} vectors but {len(records)} records")
        self.fingerprint = fingerprint
        self.records = records
        self.generation = generation
        self._index = index
        # Manifest entries that belong to the model rather than to one save (FITTED_MODEL,
        # THRESHOLD): set by load(), kept by save().
        self.attached: dict = {}

    @classmethod
    def build(
        cls, fingerprint: ModelFingerprint, records: list[GalleryRecord], vectors: np.ndarray
    ) -> PlaceIndex:
        """A new exact index; ``vectors``: (N, D) float32, row i belongs to ``records[i]``."""
        vectors = l2_normalize(np.asarray(vectors, np.float32).reshape(-1, fingerprint.dim))
        index = faiss.IndexFlatIP(fingerprint.dim)
        index.add(vectors)
        return cls(fingerprint, list(records), index)

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
        """All stored vectors, (N, D) float32, in record order."""
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
        scores, ids = self._index.search(queries, k)
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

        Entries of the previous manifest of the *same* model (its gallery-fitted model files,
        its threshold) are carried over unless this index sets its own in ``attached``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        try:
            previous = read_manifest(directory, missing_ok=True)
        except IndexFormatError:
            # A damaged or newer manifest is being replaced on purpose (a rebuild): nothing of
            # it is carried over. Loading such an index still refuses it.
            logger.warning("replacing the unreadable index manifest in %s", directory)
            previous = None
        self.generation = max(self.generation, previous["generation"] if previous else 0) + 1
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
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "generation": self.generation,
            "model": self.fingerprint.to_dict(),
            "metric": "inner_product",
            "factory": "Flat",
            "dim": self.dim,
            "count": len(self.records),
            "files": {"index": _describe(index_file), "records": _describe(records_file)},
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
        return (previous["generation"] if previous else 0) + 1

    @classmethod
    def load(
        cls,
        directory: Path,
        expected: ModelFingerprint | None = None,
        verify: bool = False,
        mmap: bool = False,
    ) -> PlaceIndex:
        """Read a saved index; refuse another model's index, a damaged one, or a newer format.

        ``verify`` also checks the sha256 of the data files (sizes are always checked).
        ``mmap`` maps the vectors instead of reading them (a fast start on a large gallery;
        the pages are read on the first search); such an index is for searching only.
        """
        directory = Path(directory)
        try:
            return cls._load_generation(directory, expected, verify, mmap)
        except _GenerationGone:
            # A writer committed a new generation and deleted ours while we read: read again.
            return cls._load_generation(directory, expected, verify, mmap)

    @classmethod
    def _load_generation(
        cls, directory: Path, expected: ModelFingerprint | None, verify: bool, mmap: bool
    ) -> PlaceIndex:
        manifest = read_manifest(directory)
        fingerprint = ModelFingerprint.from_dict(manifest["model"])
        if expected is not None and fingerprint != expected:
            raise IndexMismatchError(
                f"the index in {directory} was built with model {fingerprint.key}, not with "
                f"{expected.key}; index the gallery with this model (or pass its own index)"
            )
        files = {role: _checked_file(directory, manifest, role, verify) for role in _ROLES}
        try:
            flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
            index = faiss.read_index(str(files["index"]), flags)
        except RuntimeError as exc:
            raise IndexFormatError(f"cannot read {files['index']}: damaged faiss index") from exc
        records = _read_records(files["records"])
        if not (manifest["count"] == index.ntotal == len(records)) or index.d != fingerprint.dim:
            raise IndexFormatError(
                f"{directory}: manifest count {manifest['count']}, {index.ntotal} vectors of "
                f"{index.d} dims, {len(records)} records do not agree; rebuild the index"
            )
        loaded = cls(fingerprint, records, index, int(manifest["generation"]))
        loaded.attached = {k: manifest[k] for k in _CARRIED if k in manifest}
        return loaded


def read_manifest(directory: Path, missing_ok: bool = False) -> dict | None:
    """The parsed ``manifest.json`` of an index folder (format and version checked)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        if missing_ok:
            return None
        raise FileNotFoundError(f"no index at {directory} (missing {MANIFEST}); build it first")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"{path} is damaged ({exc}); rebuild the index") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexFormatError(f"{path} is not a place-recognition index manifest")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise IndexFormatError(
            f"{path} has format version {manifest['format_version']}, newer than this version "
            f"reads ({FORMAT_VERSION}); upgrade place_recognition or rebuild the index"
        )
    return manifest


def _describe(path: Path) -> dict:
    return {"name": path.name, "size": path.stat().st_size, "sha256": sha256_files([path])}


def _checked_file(directory: Path, manifest: dict, role: str, verify: bool) -> Path:
    entry = manifest["files"][role]
    path = directory / entry["name"]
    if not path.is_file():
        current = read_manifest(directory, missing_ok=True)
        if current and current.get("generation") != manifest["generation"]:
            raise _GenerationGone(path)
        raise IndexFormatError(f"{path} is missing; rebuild the index")
    if path.stat().st_size != entry["size"]:
        raise IndexFormatError(
            f"{path} has {path.stat().st_size} bytes, the manifest says {entry['size']}: "
            "the file is damaged; rebuild the index"
        )
    if verify and sha256_files([path]) != entry["sha256"]:
        raise IndexFormatError(f"{path} does not match its sha256 in the manifest; rebuild")
    return path


def _read_records(path: Path) -> list[GalleryRecord]:
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        # One parse of all lines as a JSON array: several times faster than one per line,
        # which matters for the start-up time on 100k-image galleries.
        return [GalleryRecord.from_json(data) for data in json.loads(f"[{','.join(lines)}]")]
    except (ValueError, TypeError):
        pass
    for line_number, line in enumerate(lines, start=1):  # find the damaged line for the message
        try:
            GalleryRecord.from_json(json.loads(line))
        except (ValueError, TypeError) as exc:
            raise IndexFormatError(f"{path}, line {line_number}: damaged record") from exc
    raise IndexFormatError(f"{path}: damaged records file; rebuild the index")


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
