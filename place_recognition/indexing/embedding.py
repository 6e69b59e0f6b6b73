"""Gallery files into records and vectors: which files changed, hashing, reusing the vectors
of content already indexed, and embedding the rest (decoding runs ahead of inference).
"""

from __future__ import annotations

import logging
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core.files import sha256_bytes
from ..core.images import ImageFile, decode_image, why_undecodable
from ..core.model import EmbeddingModel
from ..core.prefetch import ordered_prefetch
from ..index.records import GalleryRecord
from .journal import ResumeJournal
from .listing import default_label
from .places_csv import PlaceInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    file: ImageFile
    sha256: str | None
    image: np.ndarray | None = None
    error: str | None = None


def split_unchanged(
    files: list[ImageFile], old_records: list[GalleryRecord], rehash: bool
) -> tuple[dict[str, int], list[ImageFile]]:
    """Files whose path, size and mtime match a record (-> its row), and all the others."""
    if rehash:
        return {}, list(files)
    old_by_path = {record.path: i for i, record in enumerate(old_records)}
    kept, candidates = {}, []
    for file in files:
        row = old_by_path.get(file.relpath)
        record = old_records[row] if row is not None else None
        if record and (record.size, record.mtime_ns) == (file.size, file.mtime_ns):
            kept[file.relpath] = row
        else:
            candidates.append(file)
    return kept, candidates


def split_known_failures(
    candidates: list[ImageFile], skipped: list[dict]
) -> tuple[list[dict], list[ImageFile]]:
    """Files that failed before and are unchanged since (not read again), and the others."""
    by_path = {entry["path"]: entry for entry in skipped}
    still_failed, others = [], []
    for file in candidates:
        entry = by_path.get(file.relpath)
        if entry and (entry["size"], entry.get("mtime_ns")) == (file.size, file.mtime_ns):
            still_failed.append(entry)
        else:
            others.append(file)
    return still_failed, others


def skip_entry(file: ImageFile, reason: str) -> dict:
    return {"path": file.relpath, "reason": reason, "size": file.size, "mtime_ns": file.mtime_ns}


def embed_candidates(
    model: EmbeddingModel,
    gallery: Path,
    candidates: list[ImageFile],
    known: Mapping[str, np.ndarray],
    pending: Mapping[str, np.ndarray],
    journal: ResumeJournal | None,
    progress: bool,
) -> tuple[dict[str, tuple[str, np.ndarray]], int, list[tuple[ImageFile, str]]]:
    """Hash candidates; reuse known content, embed the rest (decoding runs ahead of inference).

    ``known`` and ``pending`` map the sha256 of content that already has a vector (the old
    index's, the journal's) to it; ``journal`` (None: none) gets every new vector.
    Returns relpath -> (sha256, vector) for every candidate that has a vector, how many of
    them were embedded now, and the files that could not be read or decoded, with why.
    """
    found: dict[str, tuple[str, np.ndarray]] = {}
    failed: list[tuple[ImageFile, str]] = []
    to_embed: list[tuple[str, str]] = []  # (relpath, sha256); images are not kept
    reusable = ChainMap(known, pending)  # looked up, not copied: known may be large

    def load(file: ImageFile) -> _Loaded:
        try:
            data = (gallery / file.relpath).read_bytes()
        except OSError as exc:
            return _Loaded(file, None, error=f"cannot read ({exc.strerror})")
        sha = sha256_bytes(data)
        if sha in reusable:
            return _Loaded(file, sha)
        image = decode_image(data)
        return _Loaded(file, sha, image, None if image is not None else why_undecodable(data))

    bar = tqdm(total=len(candidates), unit="img", desc="indexing", disable=not progress)

    def images():
        for loaded in ordered_prefetch(load, candidates):
            if loaded.error:
                logger.warning("skipping %s: %s", gallery / loaded.file.relpath, loaded.error)
                failed.append((loaded.file, loaded.error))
                bar.update()
            elif loaded.image is None:
                found[loaded.file.relpath] = (loaded.sha256, reusable[loaded.sha256])
                bar.update()
            else:
                to_embed.append((loaded.file.relpath, loaded.sha256))
                yield loaded.image

    with bar:
        for position, vector in enumerate(model.embed_iter(images())):
            relpath, sha = to_embed[position]
            if journal is not None:
                journal.append(sha, vector)
            found[relpath] = (sha, vector)
            bar.update()
    return found, len(to_embed), failed


def count_relabelled(old_records: list[GalleryRecord], records: list[GalleryRecord]) -> int:
    """Records of the same file content whose place (label, coordinates ...) changed."""
    old_by_path = {record.path: record for record in old_records}
    return sum(
        1
        for record in records
        if (old := old_by_path.get(record.path)) is not None
        and old != record  # most are equal: the cheap test first
        and old.sha256 == record.sha256
        and _place(old) != _place(record)
    )


def _place(record: GalleryRecord) -> dict:
    """What a record says about its place: every field but the file's identity and stats."""
    return {k: v for k, v in asdict(record).items() if k not in _FILE_FIELDS}


# A route position moves whenever an image is inserted before it: not a relabelling.
_FILE_FIELDS = frozenset({"path", "sha256", "size", "mtime_ns", "position"})


def make_record(
    file: ImageFile,
    sha256: str,
    place: PlaceInfo | None,
    spot: tuple[str, int] | None = None,
    frame_label: str | None = None,
) -> GalleryRecord:
    """The record of an indexed file: its ``places.csv`` metadata, its route and position
    (``spot``) and, for a frame of a folder route, its own label (``frame_label``)."""
    label = (place.label if place else None) or frame_label or default_label(file.relpath)
    return GalleryRecord(
        path=file.relpath,
        label=label,
        sha256=sha256,
        size=file.size,
        mtime_ns=file.mtime_ns,
        lat=place.lat if place else None,
        lon=place.lon if place else None,
        route=spot[0] if spot else None,
        position=spot[1] if spot else None,
    )
