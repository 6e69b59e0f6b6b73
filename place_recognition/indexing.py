"""Build or incrementally update the persisted index of a gallery folder.

Unchanged files (same path, size and mtime) keep their vectors without being read. Other files
are hashed: content already in the index (a renamed or touched file) reuses its vector, new
content is decoded and embedded, and files that are gone are dropped. Undecodable files are
reported by path and left out, so every vector stays aligned with its record.
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .fitted import resolve_gallery_model
from .fsutil import sha256_bytes
from .gallery import GalleryRecord, ordered_prefetch
from .images import (
    PLACES_CSV,
    ImageFile,
    PlaceInfo,
    decode_image,
    default_label,
    list_images,
    read_places,
)
from .index import (
    IndexFormatError,
    PlaceIndex,
    default_index_dir,
    read_manifest,
    update_manifest,
)
from .model import EmbeddingModel

logger = logging.getLogger(__name__)

LISTING = "listing"  # manifest key: digest of the gallery listing the index was made from


@dataclass
class IndexUpdate:
    """What an indexing run did."""

    index: PlaceIndex
    directory: Path
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (relpath, reason)
    saved: bool = False
    seconds: float = 0.0
    model: EmbeddingModel | None = None  # the model the vectors are from (maybe gallery-fitted)


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
) -> IndexUpdate:
    """Bring the index of ``gallery`` up to date with its files and save it if anything changed.

    Args:
        index_dir: where the index lives; default ``<gallery>/.place_index/<model key>/``.
        rehash: hash every file even when its size and mtime are unchanged.
        rebuild: ignore the existing index and embed everything again.
        max_images: index only the first N images (in sorted order).
        attach: manifest entries to record with this index (used by ``fit_to_gallery``).

    When the index folder holds a model fitted to this gallery from ``model``
    (``--fit-to-gallery``), that model is used instead; ``IndexUpdate.model`` says which.
    """
    started = time.perf_counter()
    gallery = Path(gallery)
    directory = Path(index_dir) if index_dir else default_index_dir(gallery, model.fingerprint)
    if attach is None:
        model = _gallery_model(model, gallery, directory, rebuild)
    manifest = None if rebuild else read_manifest(directory, missing_ok=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Load the saved index (vectors mapped, then paged in) while the gallery is listed:
        # listing is mostly stat() calls, which release the GIL. Both are the bulk of a warm
        # start on a big gallery.
        loading = pool.submit(_load_mapped, directory, model) if manifest else None
        files = list_images(gallery)[:max_images]
        listing = listing_digest(gallery, files)
        old = loading.result() if loading else None
    if old is not None and manifest.get(LISTING) == listing and not rehash and not attach:
        # Same files with the same sizes and mtimes as when the index was saved: nothing to
        # compare or rebuild, so a big gallery starts in about a second.
        update = IndexUpdate(old, directory, model=model)
        update.seconds = time.perf_counter() - started
        return update
    old_records = old.records if old else []
    kept, candidates = _split_unchanged(files, old_records, rehash)
    by_sha = {record.sha256: i for i, record in enumerate(old_records)}
    reused, new_vectors, failed = _embed_candidates(model, gallery, candidates, by_sha, progress)
    source = {**kept, **reused}  # relpath -> old row
    places = read_places(gallery, {str(Path(f.relpath).parent) for f in files})
    records, rows = [], []
    old_vectors = old.vectors() if old and source else None
    for file in files:
        if file.relpath in source:
            sha = old_records[source[file.relpath]].sha256
            rows.append(old_vectors[source[file.relpath]])
        elif file.relpath in new_vectors:
            sha, vector = new_vectors[file.relpath]
            rows.append(vector)
        else:
            continue
        records.append(_record(file, sha, places.get(file.relpath)))
    vectors = np.stack(rows) if rows else np.empty((0, model.dim), np.float32)
    index = PlaceIndex.build(model.fingerprint, records, vectors)
    index.attached = dict(attach or {})
    update = IndexUpdate(index, directory, len(new_vectors), len(reused), failed=failed)
    update.model = model
    update.removed = len({r.path for r in old_records} - {r.path for r in records})
    if not failed:  # a listing with undecodable files is re-examined next time (and reported)
        index.attached[LISTING] = listing
    if old is None or records != old_records or attach:
        index.save(directory)
        update.saved = True
    else:
        index.generation = old.generation
        if not failed and manifest.get(LISTING) != listing:
            update_manifest(directory, **{LISTING: listing})
    update.seconds = time.perf_counter() - started
    return update


def _gallery_model(
    model: EmbeddingModel, gallery: Path, directory: Path, rebuild: bool
) -> EmbeddingModel:
    """The gallery-fitted model when the index has one (see fitted.py), else ``model``."""
    try:
        return resolve_gallery_model(model, gallery, directory)
    except IndexFormatError:
        if rebuild:  # an unreadable manifest names no fitted model to rebuild with
            return model
        raise


def _load_mapped(directory: Path, model: EmbeddingModel) -> PlaceIndex:
    index = PlaceIndex.load(directory, expected=model.fingerprint, mmap=True)
    index.prefetch()
    return index


def listing_digest(gallery: Path, files: list[ImageFile]) -> str:
    """sha256 over the gallery's image paths, sizes and mtimes, and its places.csv files' stats.

    Equal digests mean the files an index was made from are all still there, unchanged as far
    as ``update_index`` looks (it hashes content only when size or mtime changed).
    """
    digest = hashlib.sha256()
    digest.update("".join(f"{f.relpath}\0{f.size}\0{f.mtime_ns}\n" for f in files).encode())
    # String ops, not Path objects: this runs on every start, over up to 100k+ paths.
    for folder in sorted({file.relpath.rpartition("/")[0] or "." for file in files}):
        csv_path = Path(gallery) / folder / PLACES_CSV
        if csv_path.is_file():
            stat = csv_path.stat()
            digest.update(f"{folder}/{PLACES_CSV}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


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


def _embed_candidates(
    model: EmbeddingModel,
    gallery: Path,
    candidates: list[ImageFile],
    known_sha: dict[str, int],
    progress: bool,
) -> tuple[dict[str, int], dict[str, tuple[str, np.ndarray]], list[tuple[str, str]]]:
    """Hash candidates; reuse known content, embed the rest (decoding runs ahead of inference)."""
    reused: dict[str, int] = {}
    failed: list[tuple[str, str]] = []
    to_embed: list[tuple[str, str]] = []  # (relpath, sha256); images are not kept

    def load(file: ImageFile) -> _Loaded:
        try:
            data = (gallery / file.relpath).read_bytes()
        except OSError as exc:
            return _Loaded(file, None, error=f"cannot read ({exc.strerror})")
        sha = sha256_bytes(data)
        if sha in known_sha:
            return _Loaded(file, sha)
        image = decode_image(data)
        return _Loaded(file, sha, image, None if image is not None else "cannot decode")

    bar = tqdm(total=len(candidates), unit="img", desc="indexing", disable=not progress)

    def images():
        for loaded in ordered_prefetch(load, candidates):
            if loaded.error:
                logger.warning("skipping %s: %s", gallery / loaded.file.relpath, loaded.error)
                failed.append((loaded.file.relpath, loaded.error))
                bar.update()
            elif loaded.image is None:
                reused[loaded.file.relpath] = known_sha[loaded.sha256]
                bar.update()
            else:
                to_embed.append((loaded.file.relpath, loaded.sha256))
                yield loaded.image

    embedded = {}
    with bar:
        for position, vector in enumerate(model.embed_iter(images())):
            relpath, sha = to_embed[position]
            embedded[relpath] = (sha, vector)
            bar.update()
    return reused, embedded, failed


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
