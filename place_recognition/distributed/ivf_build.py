"""An inverted-file index built on the cluster: the recipe of faiss's ``demos/demo_ondisk_ivf.py``
and ``benchs/distributed_ondisk/``.

1. The new generation's vectors are written once, in chunks, to the build scratch folder (they
   become the index's exact vectors for re-ranking, and the workers read their rows from it).
2. The index is trained on a sample drawn across the whole gallery (index/modes.py ``train``),
   or copies the training of the previous generation of the same mode.
3. Workers add row ranges to copies of the trained index (ids = row numbers), in parallel.
4. The parts are merged in order: in memory one part at a time (``faiss.merge_into``), or into
   one on-disk inverted-lists file (``OnDiskInvertedLists.merge_from_multiple``, the parts
   memory-mapped: the lists never need to fit in RAM), which the saved index then maps.

Every list holds its entries in row order either way, so the index equals one built in one
process from the same vectors and training.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
from distributed import Client, wait

from ..core.fingerprint import ModelFingerprint
from ..errors import RuntimeFailure
from ..index import modes as ann
from ..index.place_index import PlaceIndex, l2_normalize
from ..index.records import GalleryRecord
from ..indexing.engine import Rows
from .cluster import ATTEMPTS, worker_threads
from .report import ClusterReport
from .worker import add_rows

logger = logging.getLogger(__name__)

ADD_ROWS = 100_000  # rows per add task at most
_WRITE_CHUNK = 65_536


def is_inverted_file(factory: str, dim: int) -> bool:
    """True for a factory string whose index is an inverted file (IVF...): only those merge."""
    return (
        factory != ann.EXACT
        and faiss.try_extract_index_ivf(ann.new_index(factory, dim)) is not None
    )


def build_on_cluster(
    client: Client,
    scratch: Path,
    fingerprint: ModelFingerprint,
    records: list[GalleryRecord],
    rows: Rows,
    factory: str,
    trained: faiss.Index | None,
    on_disk: bool,
    report: ClusterReport,
) -> PlaceIndex:
    """The PlaceIndex of ``records`` and ``rows`` for the inverted-file ``factory``."""
    scratch.mkdir(parents=True, exist_ok=True)
    with report.timing("writing"):
        vectors = write_vectors(scratch / "vectors.npy", rows)
    with report.timing("training"):
        if trained is not None:  # the previous generation's training (same mode)
            index = ann.empty_copy(trained)
        else:
            index = ann.new_index(factory, rows.dim)
            ann.train(index, vectors)  # on a sample across all rows, i.e. all shards
        faiss.write_index(index, str(scratch / "trained.faiss"))
    with report.timing("adding"):
        parts = add_on_workers(client, scratch, len(vectors))
    with report.timing("merging"):
        lists_file = scratch / "merged.ivfdata" if on_disk else None
        if lists_file is not None:
            merge_on_disk(index, parts, lists_file)
        else:
            merge_in_memory(index, parts)
    return PlaceIndex(fingerprint, records, index, 0, vectors, factory, lists_file)


def write_vectors(path: Path, rows: Rows) -> np.ndarray:
    """``rows`` (unit length) written chunk by chunk to a ``.npy`` file; memory-mapped."""
    out = np.lib.format.open_memmap(path, "w+", np.float32, (len(rows), rows.dim))
    start = 0
    for chunk in rows.chunks(_WRITE_CHUNK):
        out[start : start + len(chunk)] = l2_normalize(chunk)
        start += len(chunk)
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def add_on_workers(client: Client, scratch: Path, count: int) -> list[Path]:
    """Rows 0..count of scratch/vectors.npy added to copies of scratch/trained.faiss on the
    workers, in ranges; the parts' files in row order."""
    workers = max(1, sum(worker_threads(client).values()))
    tasks = max(1, min(math.ceil(count / 1_000), max(workers, math.ceil(count / ADD_ROWS))))
    bounds = np.linspace(0, count, tasks + 1).astype(int)
    parts = [scratch / f"part-{i:05d}.faiss" for i in range(tasks)]
    futures = [
        client.submit(
            add_rows,
            str(scratch / "trained.faiss"),
            str(scratch / "vectors.npy"),
            int(start),
            int(stop),
            str(part),
            retries=ATTEMPTS - 1,
            pure=False,
        )
        for start, stop, part in zip(bounds[:-1], bounds[1:], parts, strict=True)
    ]
    wait(futures)
    failed = [f for f in futures if f.status != "finished"]
    if failed:
        error = " ".join(str(failed[0].exception()).split())
        raise RuntimeFailure(
            f"adding vectors to the index failed on the cluster ({error}); the embedded shards "
            "are kept, so a re-run only builds the index again"
        )
    return parts


def merge_in_memory(index: faiss.Index, parts: list[Path]) -> None:
    """Merge the parts into ``index`` one at a time (one part in memory besides ``index``)."""
    for part in parts:
        faiss.merge_into(index, faiss.read_index(str(part)), False)


def merge_on_disk(index: faiss.Index, parts: list[Path], lists_file: Path) -> None:
    """Give ``index`` on-disk inverted lists in ``lists_file``, merged from the parts."""
    shards = [faiss.read_index(str(part), faiss.IO_FLAG_MMAP) for part in parts]
    ivf = faiss.extract_index_ivf(index)
    lists = faiss.OnDiskInvertedLists(ivf.nlist, ivf.code_size, str(lists_file))
    sources = faiss.InvertedListsPtrVector()
    for shard in shards:
        sources.push_back(faiss.extract_index_ivf(shard).invlists)
    with _stdout_silenced():
        total = lists.merge_from_multiple(sources.data(), sources.size(), False)
    ivf.replace_invlists(lists, True)
    lists.this.disown()  # the index owns (and frees) it now
    index.ntotal = ivf.ntotal = total


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """faiss's on-disk lists print "resizing ..." with printf on stdout, which is the command
    line's own output: send file descriptor 1 to /dev/null meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
