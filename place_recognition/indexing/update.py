"""Build or incrementally update the persisted index of a gallery folder.

Unchanged files (same path, size and mtime) keep their vectors without being read. Other files
are hashed: content already in the index (a renamed or touched file) reuses its vector, new
content is decoded and embedded, and files that are gone are dropped. Undecodable files are
reported by path and left out, so every vector stays aligned with its record.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core.files import folder_lock, sha256_bytes
from ..core.images import (
    ImageFile,
    decode_image,
    require_gallery,
    why_undecodable,
)
from ..core.model import EmbeddingModel
from ..core.prefetch import ordered_prefetch
from ..index import modes as ann
from ..index.place_index import (
    IndexFormatError,
    PlaceIndex,
    default_index_dir,
    update_manifest,
)
from ..index.records import GalleryRecord
from .fitted import resolve_gallery_model
from .journal import ResumeJournal
from .listing import GalleryListing, default_label, list_gallery
from .places_csv import (
    PlaceInfo,
    read_places,
)

logger = logging.getLogger(__name__)


@dataclass
class IndexUpdate:
    """What an indexing run did."""

    index: PlaceIndex
    directory: Path
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    relabelled: int = 0  # kept images whose label or coordinates changed (places.csv)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (relpath, reason)
    saved: bool = False
    changed: bool = False  # records or skipped files differ from the old index
    seconds: float = 0.0
    model: EmbeddingModel | None = None  # the model the vectors are from (maybe gallery-fitted)


@dataclass(frozen=True)
class _Mode:
    index_mode: str | None  # exact, auto or a faiss factory string; None: the old index's
    nprobe: int | None  # None: the old index's, else the default

    def factory(self, old: PlaceIndex | None, count: int, dim: int) -> str:
        if self.index_mode is None and old is not None:
            return old.factory
        return ann.resolve_factory(self.index_mode or "auto", count, dim)

    def keeps(self, index: PlaceIndex) -> bool:
        """True when this mode would leave ``index`` as it is (same factory and nprobe)."""
        factory = self.factory(index, len(index), index.dim)
        return factory == index.factory and self.nprobe in (None, index.nprobe)


@dataclass(frozen=True)
class _Loaded:
    file: ImageFile
    sha256: str | None
    image: np.ndarray | None = None
    error: str | None = None


def update_index(
    model: EmbeddingModel,
    gallery: Path,
    index_dir: Path | None = None,
    rehash: bool = False,
    rebuild: bool = False,
    max_images: int | None = None,
    progress: bool = False,
    *,
    attach: dict | None = None,
    index_mode: str | None = "auto",
    nprobe: int | None = None,
    listing: GalleryListing | Future | None = None,
) -> IndexUpdate:
    """Bring the index of ``gallery`` up to date with its files and save it if anything changed.

    Args:
        index_dir: where the index lives; default ``<gallery>/.place_index/<model key>/``.
        rehash: hash every file even when its size and mtime are unchanged.
        rebuild: ignore the existing index (even a damaged one) and embed everything again.
        max_images: index only the first N images (in sorted order).
        attach: manifest entries to record with this index (used by ``fit_to_gallery``).
        index_mode: ``exact``, ``auto`` (exact below ann.AUTO_EXACT_LIMIT images, else
            approximate) or a faiss factory string; see index/modes.py. A change of mode
            rebuilds the faiss index (not the vectors); an approximate index is trained on the
            gallery. None keeps the saved index's mode (``auto`` for a new index).
        nprobe: inverted lists visited per query by an approximate index (saved with it).
        listing: ``list_gallery(gallery, max_images)`` made ahead, or the Future of it (a
            thread listing the gallery while the caller compiled its model); None: made here.

    When the index folder holds a model fitted to this gallery from ``model``
    (``--fit-to-gallery``), that model is used instead; ``IndexUpdate.model`` says which.
    New vectors go to a resume journal as they are made, so a killed run loses no work; the
    index is replaced only at the end, in one commit. One writer at a time per index folder.
    """
    started = time.perf_counter()
    gallery = require_gallery(gallery)  # before the lock creates the index folder inside it
    directory = Path(index_dir) if index_dir else default_index_dir(gallery, model.fingerprint)
    if attach is None:
        model = _gallery_model(model, gallery, directory, rebuild)
    with folder_lock(directory, "index"):
        with ThreadPoolExecutor(max_workers=1) as pool:
            # Load the saved index (vectors mapped, then paged in) while the gallery is listed:
            # listing is mostly stat() calls, which release the GIL. Both are the bulk of a
            # warm start on a big gallery.
            loading = None if rebuild else pool.submit(_load_mapped, directory, model)
            if isinstance(listing, Future):
                listing = listing.result()
            listed = listing or list_gallery(gallery, max_images)
            files, digest = listed.files, listed.digest
            old = loading.result() if loading else None
        mode = _Mode(index_mode, nprobe)
        unchanged = old is not None and old.listing == digest and mode.keeps(old)
        if unchanged and not (rehash or attach):
            # Same files, same sizes and mtimes as when the index was saved, same mode:
            # nothing to compare or rebuild, so a big gallery starts in about a second.
            update = IndexUpdate(old, directory, model=model)
            update.failed = [(entry["path"], entry["reason"]) for entry in old.skipped]
            update.seconds = time.perf_counter() - started
            return update
        journal = ResumeJournal(directory, model.fingerprint.sha256, model.dim)
        if rebuild:
            journal.discard()
        try:
            recorded = old is not None and old.listing == digest
            update = _update(model, gallery, directory, files, old, journal, rehash, progress, mode)
            update.index.listing = digest  # (the old index itself when nothing changed)
            if old is None or update.changed or attach:
                update.index.attached = dict(attach or {})
                update.index.save(directory)
                update.saved = True
            elif not recorded:  # same records, new listing: record it for the next fast start
                update_manifest(directory, listing=digest)
        finally:
            journal.close()
        journal.discard()  # committed (or nothing was pending)
    update.seconds = time.perf_counter() - started
    return update


def _update(
    model: EmbeddingModel,
    gallery: Path,
    directory: Path,
    files: list[ImageFile],
    old: PlaceIndex | None,
    journal: ResumeJournal,
    rehash: bool,
    progress: bool,
    mode: _Mode,
) -> IndexUpdate:
    """The new index of ``files``: old vectors where the file is unchanged, new ones embedded."""
    old_records = old.records if old else []
    old_skipped = old.skipped if old else []
    kept, candidates = _split_unchanged(files, old_records, rehash)
    still_failed, candidates = _split_known_failures(candidates, old_skipped)
    # Old vectors are copied out of faiss only when something changed (100k x 4096 = 1.6 GB).
    old_vectors = old.vectors() if old and candidates else None
    known = {r.sha256: old_vectors[i] for i, r in enumerate(old_records)} if candidates else {}
    pending = journal.read() if candidates else {}  # vectors of a run killed before its commit
    found, embedded, failed = _embed_candidates(
        model, gallery, candidates, known, pending, journal, progress
    )
    places = read_places(gallery, {file.relpath for file in files})
    records, sources = [], []
    for file in files:
        if file.relpath in kept:
            sha, source = old_records[kept[file.relpath]].sha256, kept[file.relpath]
        elif file.relpath in found:
            sha, source = found[file.relpath]
        else:
            continue
        records.append(_record(file, sha, places.get(file.relpath)))
        sources.append(source)  # a row of the old index, or a new vector
    skipped = still_failed + [_skip_entry(file, reason) for file, reason in failed]
    skipped.sort(key=lambda entry: entry["path"])
    factory = mode.factory(old, len(records), model.dim)
    nprobe = mode.nprobe or (old.nprobe if old is not None else ann.DEFAULT_NPROBE)
    rebuild = old is None or records != old_records or old.factory != factory
    changed = rebuild or skipped != old_skipped or nprobe != old.nprobe
    if not rebuild:
        index = old
    else:
        if old is not None and old_vectors is None:
            old_vectors = old.vectors()
        rows = [old_vectors[s] if isinstance(s, int) else s for s in sources]
        vectors = np.stack(rows) if rows else np.empty((0, model.dim), np.float32)
        # Same approximate factory: keep its training (PCA, lists, codebooks), re-add vectors.
        trained = old.trained_index if old is not None and old.factory == factory else None
        index = PlaceIndex.build(model.fingerprint, records, vectors, factory, trained, progress)
    index.nprobe = nprobe
    index.skipped = skipped
    update = IndexUpdate(index, directory, embedded, len(found) - embedded, model=model)
    update.failed = [(entry["path"], entry["reason"]) for entry in skipped]
    update.removed = len({r.path for r in old_records} - {r.path for r in records})
    update.relabelled = _relabelled(old_records, records)
    update.changed = changed
    return update


def _relabelled(old_records: list[GalleryRecord], records: list[GalleryRecord]) -> int:
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


_FILE_FIELDS = frozenset({"path", "sha256", "size", "mtime_ns"})


def _gallery_model(
    model: EmbeddingModel, gallery: Path, directory: Path, rebuild: bool
) -> EmbeddingModel:
    """The gallery-fitted model when the index has one (see indexing/fitted.py), else ``model``."""
    try:
        return resolve_gallery_model(model, gallery, directory)
    except IndexFormatError:
        if rebuild:  # an unreadable manifest names no fitted model to rebuild with
            return model
        raise


def _load_mapped(directory: Path, model: EmbeddingModel) -> PlaceIndex | None:
    index = PlaceIndex.load_if_present(directory, model.fingerprint, mmap=True)
    if index is not None:
        index.prefetch()
    return index


def _split_unchanged(
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


def _split_known_failures(
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


def _skip_entry(file: ImageFile, reason: str) -> dict:
    return {"path": file.relpath, "reason": reason, "size": file.size, "mtime_ns": file.mtime_ns}


def _embed_candidates(
    model: EmbeddingModel,
    gallery: Path,
    candidates: list[ImageFile],
    known: dict[str, np.ndarray],
    pending: dict[str, np.ndarray],
    journal: ResumeJournal,
    progress: bool,
) -> tuple[dict[str, tuple[str, np.ndarray]], int, list[tuple[ImageFile, str]]]:
    """Hash candidates; reuse known content, embed the rest (decoding runs ahead of inference).

    Returns relpath -> (sha256, vector) for every candidate that has a vector, how many of
    them were embedded now, and the files that could not be read or decoded, with why.
    """
    found: dict[str, tuple[str, np.ndarray]] = {}
    failed: list[tuple[ImageFile, str]] = []
    to_embed: list[tuple[str, str]] = []  # (relpath, sha256); images are not kept
    reusable = {**pending, **known}

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
            journal.append(sha, vector)
            found[relpath] = (sha, vector)
            bar.update()
    return found, len(to_embed), failed


def _record(file: ImageFile, sha256: str, place: PlaceInfo | None) -> GalleryRecord:
    label = (place.label if place else None) or default_label(file.relpath)
    return GalleryRecord(
        path=file.relpath,
        label=label,
        sha256=sha256,
        size=file.size,
        mtime_ns=file.mtime_ns,
        lat=place.lat if place else None,
        lon=place.lon if place else None,
    )
