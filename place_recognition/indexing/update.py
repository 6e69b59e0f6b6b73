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
from dataclasses import dataclass, field
from pathlib import Path

from ..core.files import folder_lock
from ..core.images import ImageFile, require_gallery
from ..core.model import EmbeddingModel
from ..errors import IndexFormatError
from ..index import modes as ann
from ..index.manifest import (
    FORMAT_VERSION,
    Manifest,
    QueryModel,
    read_manifest,
    update_manifest,
    upgrade_in_place,
)
from ..index.place_index import PlaceIndex, default_index_dir
from . import gallery_threshold
from .embedding import (
    count_relabelled,
    make_record,
    skip_entry,
    split_known_failures,
    split_unchanged,
)
from .engine import Rows, UpdateEngine
from .journal import ResumeJournal
from .listing import GalleryListing, list_gallery
from .places_csv import read_places
from .query_model import GIVEN, QueryModelChoice, choose_query_model
from .routes import RouteMode, assign_routes, folder_of, folder_routes, frame_label

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpdateOptions:
    """How ``update_index`` goes about it.

    Args:
        rehash: hash every file even when its size and mtime are unchanged.
        rebuild: ignore the existing index (even a damaged one) and embed everything again.
        max_images: index only the first N images (in sorted order).
        index_mode: ``exact``, ``auto`` (exact below ann.AUTO_EXACT_LIMIT images, else
            approximate) or a faiss factory string; see index/modes.py. A change of mode
            rebuilds the faiss index (not the vectors); an approximate index is trained on the
            gallery. None keeps the saved index's mode (``auto`` for a new index).
        nprobe: inverted lists visited per query by an approximate index (saved with it).
        progress: show progress bars.
        routes: how the gallery's folders map to routes (indexing/routes.py); None keeps the
            saved index's (``RouteMode.ROOT`` for a new index).
    """

    rehash: bool = False
    rebuild: bool = False
    max_images: int | None = None
    index_mode: str | None = "auto"
    nprobe: int | None = None
    progress: bool = False
    routes: RouteMode | None = None


@dataclass
class IndexUpdate:
    """What an indexing run did, and with which model (``model``, chosen for ``model_reason``:
    ``query_model.STORED`` or ``query_model.GIVEN``)."""

    index: PlaceIndex
    directory: Path
    model: EmbeddingModel
    model_reason: str = GIVEN
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    relabelled: int = 0  # kept images whose label or coordinates changed (places.csv)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (relpath, reason)
    # Not indexed because the engine did not get to them (a cluster shard that kept failing);
    # the listing is then not recorded, so the next run takes them up again.
    unfinished: list[str] = field(default_factory=list)
    saved: bool = False
    changed: bool = False  # records or skipped files differ from the old index
    upgraded: bool = False  # an older index format was rewritten as the current one
    seconds: float = 0.0


@dataclass(frozen=True)
class _Mode:
    index_mode: str | None  # exact, auto or a faiss factory string; None: the old index's
    nprobe: int | None  # None: the old index's, else the default

    def factory(self, old: PlaceIndex | None, count: int) -> str:
        if self.index_mode is None and old is not None:
            return old.factory
        return ann.resolve_factory(self.index_mode or "auto", count)

    routes: RouteMode | None = None  # None: the old index's

    def keeps(self, index: PlaceIndex) -> bool:
        """True when this mode would leave ``index`` as it is (factory, nprobe, routes)."""
        factory = self.factory(index, len(index))
        return (
            factory == index.factory
            and self.nprobe in (None, index.nprobe)
            and index.routes == self.route_mode(index)
        )

    def route_mode(self, old: PlaceIndex | None) -> RouteMode:
        if self.routes is not None:
            return self.routes
        known = old.routes if old is not None else None
        return RouteMode(known) if known else RouteMode.ROOT


def update_index(
    model: EmbeddingModel,
    gallery: Path,
    index_dir: Path | None = None,
    options: UpdateOptions | None = None,
    *,
    listing: GalleryListing | Future | None = None,
    query_model: QueryModel | None = None,
    engine: UpdateEngine | None = None,
) -> IndexUpdate:
    """Bring the index of ``gallery`` up to date with its files and save it if anything changed.

    Args:
        index_dir: where the index lives; default ``<gallery>/.place_index/<model key>/``.
        options: how (see UpdateOptions); default ``UpdateOptions()``.
        listing: ``list_gallery(gallery, max_images)`` made ahead, or the Future of it (a
            thread listing the gallery while the caller compiled its model); None: made here.
        query_model: the manifest entry naming ``model`` as the query model (stored in the
            folder by ``fit_to_gallery``): ``model`` is used as it is. Without it, an index
            fitted from ``model`` is updated with its stored model (``choose_query_model``);
            ``IndexUpdate.model`` and ``model_reason`` say which.
        engine: where the images are embedded and the faiss index built (indexing/engine.py);
            default this process. The decisions, records and commit are the same with any.

    New vectors go to a resume journal as they are made, so a killed run loses no work; the
    index is replaced only at the end, in one commit. An index of an older format is upgraded
    in place first (nothing embedded again). One writer at a time per index folder.
    """
    started = time.perf_counter()
    options = options or UpdateOptions()
    gallery = require_gallery(gallery)  # before the lock creates the index folder inside it
    directory = Path(index_dir) if index_dir else default_index_dir(gallery, model.fingerprint)
    given = QueryModelChoice(model, GIVEN) if query_model is not None else None
    choice = given or choose_query_model(model, directory, unreadable_ok=options.rebuild)
    logger.info("indexing with %s", choice.describe())
    model = choice.model
    with folder_lock(directory, "index"):
        if upgraded := not options.rebuild and upgrade_in_place(directory):
            logger.info("%s: upgraded to index format %d in place", directory, FORMAT_VERSION)
        old, files, digest = _load_and_list(model, gallery, directory, options, listing)
        update = _update_locked(
            model, gallery, directory, files, digest, old, options, query_model, engine
        )
    update.model_reason, update.upgraded = choice.reason, upgraded
    update.seconds = time.perf_counter() - started
    return update


def _load_and_list(
    model: EmbeddingModel,
    gallery: Path,
    directory: Path,
    options: UpdateOptions,
    listing: GalleryListing | Future | None,
) -> tuple[PlaceIndex | None, list[ImageFile], str]:
    """The saved index (None: none, or rebuilding) and the gallery's files and digest."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Load the saved index (vectors mapped, then paged in) while the gallery is listed
        # (stat() calls, which release the GIL): the bulk of a warm start on a big gallery.
        loading = None if options.rebuild else pool.submit(_load_mapped, directory, model)
        if isinstance(listing, Future):
            listing = listing.result()
        listed = listing or list_gallery(gallery, options.max_images)
        return (loading.result() if loading else None), listed.files, listed.digest


def _update_locked(
    model: EmbeddingModel,
    gallery: Path,
    directory: Path,
    files: list[ImageFile],
    digest: str,
    old: PlaceIndex | None,
    options: UpdateOptions,
    query_model: QueryModel | None,
    engine: UpdateEngine | None,
) -> IndexUpdate:
    """update_index's work once the folder is locked and the old index loaded."""
    mode = _Mode(options.index_mode, options.nprobe, options.routes)
    unchanged = old is not None and old.listing == digest and mode.keeps(old)
    if unchanged and not options.rehash and query_model is None:
        # Same files, same sizes and mtimes as when the index was saved, same mode: nothing
        # to compare or rebuild, so a big gallery starts in about a second.
        gallery_threshold.store_if_missing(old, directory)
        # A run killed after its commit but before deleting its journal leaves it here; the
        # index already holds those vectors, so it is spent.
        ResumeJournal(directory, model.fingerprint.sha256, model.dim).discard()
        update = IndexUpdate(old, directory, model)
        update.failed = [(entry["path"], entry["reason"]) for entry in old.skipped]
        return update
    journal = ResumeJournal(directory, model.fingerprint.sha256, model.dim)
    engine = engine or UpdateEngine()
    if options.rebuild:
        journal.discard()
    engine.start(directory, discard=options.rebuild)
    try:
        recorded = old is not None and old.listing == digest
        update = _update(model, gallery, directory, files, old, journal, options, mode, engine)
        complete = not update.unfinished  # else the next run must compare the files again
        update.index.listing = digest if complete else None  # (old index: nothing changed)
        if old is None or update.changed or query_model is not None:
            _carry_over(update.index, old, directory, query_model, options.rebuild)
            update.index.save(directory)
            update.saved = True
        elif not recorded and complete:  # same records, new listing: record it for next time
            update_manifest(directory, listing=digest)
        if not update.saved:
            gallery_threshold.store_if_missing(update.index, directory)
    finally:
        journal.close()
    journal.discard()  # committed (or nothing was pending)
    engine.finish()
    return update


def _update(
    model: EmbeddingModel,
    gallery: Path,
    directory: Path,
    files: list[ImageFile],
    old: PlaceIndex | None,
    journal: ResumeJournal,
    options: UpdateOptions,
    mode: _Mode,
    engine: UpdateEngine,
) -> IndexUpdate:
    """The new index of ``files``: old vectors where the file is unchanged, new ones embedded."""
    old_records = old.records if old else []
    old_skipped = old.skipped if old else []
    kept, candidates = split_unchanged(files, old_records, options.rehash)
    still_failed, candidates = split_known_failures(candidates, old_skipped)
    # Old vectors are copied out of faiss only when something changed (100k x 4096 = 1.6 GB).
    old_vectors = old.vectors() if old and candidates else None
    known = {r.sha256: old_vectors[i] for i, r in enumerate(old_records)} if candidates else {}
    pending = journal.read() if candidates else {}  # vectors of a run killed before its commit
    result = engine.embed(model, gallery, candidates, known, pending, journal, options.progress)
    found, embedded, failed = result.found, result.embedded, result.failed
    places = read_places(gallery, {file.relpath for file in files})
    indexed = [f for f in files if f.relpath in kept or f.relpath in found]
    route_mode = mode.route_mode(old)
    spots, route_folders = _routes(indexed, places, route_mode)
    records, sources = [], []
    for file in indexed:
        if file.relpath in kept:
            sha, source = old_records[kept[file.relpath]].sha256, kept[file.relpath]
        else:
            sha, source = found[file.relpath]
        spot = spots.get(file.relpath)
        own = frame_label(file.relpath) if folder_of(file.relpath) in route_folders else None
        records.append(make_record(file, sha, places.get(file.relpath), spot, own))
        sources.append(source)  # a row of the old index, or a new vector
    skipped = still_failed + [skip_entry(file, reason) for file, reason in failed]
    skipped.sort(key=lambda entry: entry["path"])
    factory = mode.factory(old, len(records))
    nprobe = mode.nprobe or (old.nprobe if old is not None else ann.DEFAULT_NPROBE)
    rebuild = old is None or records != old_records or old.factory != factory
    changed = rebuild or skipped != old_skipped or nprobe != old.nprobe or old.routes != route_mode
    if not rebuild:
        index = old
    else:
        if old is not None and old_vectors is None:
            old_vectors = old.vectors()
        rows = Rows(sources, old_vectors, model.dim)
        # Same approximate factory: keep its training (PCA, lists, codebooks), re-add vectors.
        trained = old.trained_index if old is not None and old.factory == factory else None
        index = engine.build(model.fingerprint, records, rows, factory, trained, options.progress)
    index.nprobe, index.skipped, index.routes = nprobe, skipped, route_mode.value
    update = IndexUpdate(index, directory, model, embedded=embedded, reused=len(found) - embedded)
    update.failed, update.changed = [(entry["path"], entry["reason"]) for entry in skipped], changed
    update.unfinished = [file.relpath for file in result.unfinished]
    update.removed = len({r.path for r in old_records} - {r.path for r in records})
    update.relabelled = count_relabelled(old_records, records)
    return update


def _carry_over(
    index: PlaceIndex,
    old: PlaceIndex | None,
    directory: Path,
    query_model: QueryModel | None,
    rebuild: bool,
) -> None:
    """The new generation's query model and thresholds: ``query_model`` when given, else the
    old index's (rebuilding: the previous save's, if of the same model) with its thresholds
    but the gallery-derived one, which is derived again from the new records."""
    source = old if old is not None else _previous_save(directory, index) if rebuild else None
    kept = dict(source.thresholds) if source is not None and query_model is None else {}
    kept.pop(gallery_threshold.NAME, None)
    index.query_model = query_model or (source.query_model if source is not None else None)
    applies = gallery_threshold.applies(index)
    derived = gallery_threshold.gallery_threshold(index) if applies else None
    index.thresholds = {**kept, **({gallery_threshold.NAME: derived} if derived else {})}


def _previous_save(directory: Path, index: PlaceIndex) -> Manifest | None:
    """The folder's manifest when it is readable and of ``index``'s model, else None."""
    try:
        previous = read_manifest(directory, missing_ok=True)
    except IndexFormatError:
        return None
    return previous if previous and previous.model.sha256 == index.fingerprint.sha256 else None


def _load_mapped(directory: Path, model: EmbeddingModel) -> PlaceIndex | None:
    index = PlaceIndex.load_if_present(directory, model.fingerprint, mmap=True)
    if index is not None:
        index.prefetch()
    return index


def _routes(
    files: list[ImageFile], places: dict, mode: RouteMode
) -> tuple[dict[str, tuple[str, int]], set[str]]:
    """Each indexed file's (route, position), from the full listing, and the folders that are
    routes of frames (their images are labelled per frame)."""
    relpaths = [file.relpath for file in files]
    listed = set(relpaths)
    explicit = {
        path: (info.route, info.index)
        for path, info in places.items()
        if info.route is not None and path in listed
    }
    labels = {path: info.label for path, info in places.items()}
    folders = folder_routes(relpaths, labels) if mode is RouteMode.FOLDERS else set()
    return assign_routes(relpaths, mode, explicit, labels), folders
