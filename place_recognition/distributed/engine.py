"""The driver's side: an UpdateEngine (indexing/engine.py) whose embedding runs as shards on a
Dask cluster and whose inverted-file indexes are built there too.

``update_index`` keeps deciding what is embedded, what is kept and how the result is
committed; this engine only changes where the work runs. A shard is submitted with retries
(ATTEMPTS runs in all, a worker's death counts as one); a shard that fails every attempt is
left out and its images reported as unfinished, the rest is committed.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path

import faiss
import numpy as np
from distributed import Client, Future, wait

from ..core.fingerprint import ModelFingerprint
from ..core.images import ImageFile
from ..core.model import EmbeddingModel
from ..errors import PlaceRecognitionError, Remedy, RuntimeFailure
from ..index.place_index import PlaceIndex
from ..index.records import GalleryRecord
from ..indexing.engine import Embedded, Rows, UpdateEngine
from ..indexing.journal import ResumeJournal
from .cluster import ATTEMPTS, worker_threads
from .ivf_build import build_on_cluster, is_inverted_file
from .report import ClusterProgress, ClusterReport
from .shards import (
    DEFAULT_SHARD_SIZE,
    Shard,
    ShardResult,
    ShardRows,
    Staging,
    gather,
    plan_shards,
    read_shard,
    reusable_digest,
    write_reusable,
)
from .worker import ModelRecipe, ShardDone, WorkerSetupError, embed_shard, prepare

logger = logging.getLogger(__name__)

NO_WORKERS_SECONDS = 60.0  # without any worker alive this long, a run gives up


class ClusterEngine(UpdateEngine):
    """Embeds in shards on the cluster of ``client``; builds inverted files there too.

    Args:
        report: filled in as the run goes (counts, timings, per-worker throughput).
        shard_size: images per shard.
        on_disk: keep an inverted-file index's merged lists on disk, memory-mapped.
    """

    def __init__(
        self,
        client: Client,
        report: ClusterReport,
        shard_size: int = DEFAULT_SHARD_SIZE,
        on_disk: bool = False,
    ) -> None:
        self.client = client
        self.report = report
        self.shard_size = shard_size
        self.on_disk = on_disk
        self.staging: Staging | None = None

    def start(self, directory: Path, discard: bool) -> None:
        self.staging = Staging(directory)
        if discard:
            self.staging.clear()

    def finish(self) -> None:
        self.staging.clear()  # committed: the shard files are spent

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
        if not candidates:
            return Embedded({}, 0, [])
        recipe = ModelRecipe.of(model)
        hashes = set(known) | set(pending)
        digest = reusable_digest(hashes)
        shards = plan_shards(candidates, self.shard_size, recipe.key, digest)
        reusable = None
        if hashes:
            reusable = self.staging.reusable_path(digest)
            write_reusable(reusable, hashes)
        with self.report.timing("embedding"):
            results, resumed = self._run(recipe, Path(gallery), shards, reusable, progress)
        if len(self.report.precisions) > 1:
            logger.warning(
                "the workers embedded at different precisions (%s): give the precision to "
                "make them agree",
                ", ".join(sorted(self.report.precisions)),
            )
        reused = ChainMap(known, pending)
        return gather(shards, results, resumed, reused, ShardRows(self.staging))

    def build(
        self,
        fingerprint: ModelFingerprint,
        records: list[GalleryRecord],
        rows: Rows,
        factory: str,
        trained: faiss.Index | None,
        progress: bool,
    ) -> PlaceIndex:
        if is_inverted_file(factory, fingerprint.dim):
            scratch = self.staging.scratch
            return build_on_cluster(
                self.client,
                scratch,
                fingerprint,
                records,
                rows,
                factory,
                trained,
                self.on_disk,
                self.report,
            )
        if self.on_disk:
            raise PlaceRecognitionError(
                f"on-disk inverted lists need an inverted-file index mode (IVF...), not "
                f"{factory} for {len(records)} images; choose one such as IVF4096,SQ8 (the "
                "embedded shards are kept: the next run only builds the index)",
                remedy=Remedy.INDEX_MODE,
            )
        return super().build(fingerprint, records, rows, factory, trained, progress)

    def _run(
        self,
        recipe: ModelRecipe,
        gallery: Path,
        shards: list[Shard],
        reusable: Path | None,
        progress: bool,
    ) -> tuple[dict[str, ShardResult], set[str]]:
        """Each shard's result, by key (a failed shard has none), and the keys resumed."""
        results = {}
        for shard in shards:
            if result := read_shard(self.staging.shard_path(shard.key), shard, recipe.dim):
                results[shard.key] = result
        resumed = set(results)
        self.report.shards, self.report.resumed = len(shards), len(resumed)
        todo = [shard for shard in shards if shard.key not in results]
        bar = ClusterProgress(sum(len(shard.files) for shard in shards), progress)
        bar.advance(sum(len(shard.files) for shard in shards if shard.key in results))
        try:
            if todo:
                self._prepare(recipe, gallery / todo[0].files[0].relpath)
                futures = {self._submit(recipe, gallery, shard, reusable): shard for shard in todo}
                self._collect(futures, recipe, results, bar)
        finally:
            bar.close()
        return results, resumed

    def _submit(
        self, recipe: ModelRecipe, gallery: Path, shard: Shard, reusable: Path | None
    ) -> Future:
        out = str(self.staging.shard_path(shard.key))
        return self.client.submit(
            embed_shard,
            recipe,
            str(gallery),
            shard,
            out,
            str(reusable) if reusable else None,
            # Unique per run: a killed run's task of the same shard may linger on the
            # scheduler; both write the same content-keyed file, atomically.
            key=f"embed-shard-{shard.key[:16]}-{uuid.uuid4().hex[:8]}",
            retries=ATTEMPTS - 1,
            pure=False,
        )

    def _prepare(self, recipe: ModelRecipe, image: Path) -> None:
        """Compile the model on every worker first: a worker that cannot (no model file, no
        gallery ``image``, not the driver's index folder) stops the run with its reason before
        any shard, and compiling is timed apart."""
        try:
            self.client.wait_for_workers(1, timeout=NO_WORKERS_SECONDS)
        except TimeoutError:
            raise RuntimeFailure(
                f"no Dask worker joined {self.report.cluster} in {NO_WORKERS_SECONDS:.0f} s"
            ) from None
        workers = worker_threads(self.client)
        self.report.workers_at_start = len(workers)
        token = self.staging.folder / f"driver-{uuid.uuid4().hex}"
        token.parent.mkdir(parents=True, exist_ok=True)
        token.touch()
        futures = [
            self.client.submit(
                prepare,
                recipe,
                str(image),
                str(token),
                workers=[address],
                allow_other_workers=True,
                pure=False,
                key=f"prepare-{uuid.uuid4().hex}",
            )
            for address in workers
        ]
        try:
            with self.report.timing("compiling"):
                wait(futures)
        finally:
            token.unlink()
        for future in futures:
            error = future.exception() if future.status == "error" else None
            if isinstance(error, WorkerSetupError):
                raise PlaceRecognitionError(str(error))
            if error is not None:  # e.g. the worker died: the shards go to the others
                logger.warning("a worker could not prepare: %s", " ".join(str(error).split()))

    def _collect(
        self,
        futures: dict[Future, Shard],
        recipe: ModelRecipe,
        results: dict[str, ShardResult],
        bar: ClusterProgress,
    ) -> None:
        """Wait for the shards, reading each result as it comes; failed shards are logged."""
        pending, alone_since = set(futures), None
        while pending:
            with contextlib.suppress(TimeoutError):  # a second passed: refresh the bar
                wait(list(pending), timeout=1.0, return_when="FIRST_COMPLETED")
            alive = len(worker_threads(self.client))
            bar.workers(alive)
            alone_since = None if alive else alone_since or time.monotonic()
            if alone_since is not None and time.monotonic() - alone_since > NO_WORKERS_SECONDS:
                raise RuntimeFailure(
                    f"no Dask worker alive at {self.report.cluster} for {NO_WORKERS_SECONDS:.0f} "
                    "s; the shards done so far are kept and a re-run reuses them"
                )
            for future in [future for future in pending if future.done()]:
                pending.discard(future)
                self._take(future, futures[future], recipe, results, bar)

    def _take(
        self,
        future: Future,
        shard: Shard,
        recipe: ModelRecipe,
        results: dict[str, ShardResult],
        bar: ClusterProgress,
    ) -> None:
        if future.status != "finished":
            error = future.exception() if future.status == "error" else future.status
            if isinstance(error, WorkerSetupError):
                raise PlaceRecognitionError(str(error))
            self.report.failed += 1
            logger.warning(
                "a shard of %d images (%s ...) failed on every attempt, left out: %s",
                len(shard.files),
                shard.files[0].relpath,
                _one_line(error),
            )
            return
        done: ShardDone = future.result()
        path = self.staging.shard_path(shard.key)
        result = read_shard(path, shard, recipe.dim)
        if result is None:
            raise RuntimeFailure(
                f"worker {done.worker} wrote {path}, but it cannot be read here: the index "
                "folder must be on a filesystem that every worker and this machine share"
            )
        results[shard.key] = result
        if not done.from_staging:
            self.report.count(done.worker, done.images, done.seconds)
        self.report.precisions.add(done.precision)
        bar.advance(len(shard.files))


def _one_line(error: object) -> str:
    return " ".join(str(error).split()) or type(error).__name__
