"""Where an index update does its heavy work: embedding the new images and building the faiss
index. ``update_index`` decides *what* to embed and keep (indexing/update.py); an engine does
it. :class:`UpdateEngine` does it in this process; distributed/ plugs in a Dask cluster with
the same decisions, records and commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from ..core.fingerprint import ModelFingerprint
from ..core.images import ImageFile
from ..core.model import EmbeddingModel
from ..index.place_index import PlaceIndex
from ..index.records import GalleryRecord
from .embedding import embed_candidates
from .journal import ResumeJournal


@dataclass
class Embedded:
    """What an engine made of the candidates.

    ``found``: relpath -> (sha256, vector) for every candidate with a vector (an array, or an
    array-like read when the rows are stacked: a cluster's stay in their files till then);
    ``embedded``: how many of them were embedded now (the others reused known content);
    ``failed``: files that cannot be read or decoded, with why (they are recorded as skipped);
    ``unfinished``: files the engine did not get to (a cluster shard that kept failing):
    neither indexed nor skipped, so the next run tries them again.
    """

    found: dict[str, tuple[str, np.ndarray]]
    embedded: int
    failed: list[tuple[ImageFile, str]]
    unfinished: list[ImageFile] = field(default_factory=list)


@dataclass(frozen=True)
class Rows:
    """The vectors of a new index in record order, as ``update_index`` assembles them.

    ``sources[i]``: a row of ``old_vectors`` (int) or a new (D,) vector. Nothing is copied
    until asked: a big gallery's vectors can be streamed in chunks instead of stacked whole.
    """

    sources: list[int | np.ndarray]
    old_vectors: np.ndarray | None
    dim: int

    def __len__(self) -> int:
        return len(self.sources)

    def stack(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` as one (N, D) float32 array."""
        sources = self.sources[start:stop]
        if sources and all(isinstance(s, int) for s in sources):  # old rows only: one gather
            return np.asarray(self.old_vectors[np.asarray(sources)], np.float32)
        rows = [self.old_vectors[s] if isinstance(s, int) else s for s in sources]
        return np.stack(rows).astype(np.float32, copy=False) if rows else self._empty()

    def chunks(self, size: int) -> Iterator[np.ndarray]:
        """The rows in order, ``size`` at a time (the last chunk may be shorter)."""
        for start in range(0, len(self.sources), size):
            yield self.stack(start, start + size)

    def _empty(self) -> np.ndarray:
        return np.empty((0, self.dim), np.float32)


class UpdateEngine:
    """Embeds and builds in this process: decoding on two threads ahead of OpenVINO's
    requests, new vectors journalled as they come, the faiss index built from all vectors."""

    def start(self, directory: Path, discard: bool) -> None:
        """The index folder is locked and the update begins; ``discard``: drop any resume
        state this engine keeps there (a rebuild). The journal is update_index's own."""

    def embed(
        self,
        model: EmbeddingModel,
        gallery: Path,
        candidates: list[ImageFile],
        known: Mapping[str, np.ndarray],
        pending: Mapping[str, np.ndarray],
        journal: ResumeJournal,
        progress: bool,
    ) -> Embedded:
        """Vectors for ``candidates`` (see :func:`indexing.embedding.embed_candidates`)."""
        found, embedded, failed = embed_candidates(
            model, gallery, candidates, known, pending, journal, progress
        )
        return Embedded(found, embedded, failed)

    def build(
        self,
        fingerprint: ModelFingerprint,
        records: list[GalleryRecord],
        rows: Rows,
        factory: str,
        trained: faiss.Index | None,
        progress: bool,
    ) -> PlaceIndex:
        """The new index of ``records``; ``trained``: an index of ``factory`` to copy the
        training of (see :meth:`PlaceIndex.build`)."""
        return PlaceIndex.build(fingerprint, records, rows.stack(), factory, trained, progress)

    def finish(self) -> None:
        """The update is committed (or nothing needed committing): resume state is spent."""
