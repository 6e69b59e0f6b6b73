"""``update_on_cluster``: ``update_index`` with the embedding and the index build on a Dask
cluster. Same listing, same incremental decisions, same records, same commit under the folder
lock; only where the work runs differs (distributed/engine.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.model import EmbeddingModel
from ..errors import PlaceRecognitionError, Remedy
from ..index import modes as ann
from ..indexing.update import IndexUpdate, UpdateOptions, update_index
from .cluster import connect
from .engine import ClusterEngine
from .ivf_build import is_inverted_file
from .report import ClusterReport
from .shards import DEFAULT_SHARD_SIZE


@dataclass(frozen=True)
class ClusterOptions:
    """Where and how: ``cluster`` is ``local``, ``local:N`` or a scheduler address
    (``tcp://HOST:PORT``); ``shard_size`` images per shard; ``on_disk``: keep an inverted-file
    index's lists on disk, memory-mapped; ``connect_timeout``: seconds to reach the scheduler
    (None: Dask's configured connect timeout)."""

    cluster: str = "local"
    shard_size: int = DEFAULT_SHARD_SIZE
    on_disk: bool = False
    connect_timeout: float | None = None


def update_on_cluster(
    model: EmbeddingModel,
    gallery: Path,
    index_dir: Path | None = None,
    options: UpdateOptions | None = None,
    cluster: ClusterOptions | None = None,
) -> tuple[IndexUpdate, ClusterReport]:
    """Bring the index of ``gallery`` up to date (see ``update_index``) on a Dask cluster.

    The gallery, the index folder and the model file must be at the same paths on every worker
    (a shared filesystem; a local cluster shares this machine's). Images of a shard that failed
    every attempt are in ``IndexUpdate.unfinished``: not indexed, tried again by the next run.
    """
    options = options or UpdateOptions()
    cluster = cluster or ClusterOptions()
    if cluster.on_disk:
        _require_inverted_file(options.index_mode, model.dim)
    report = ClusterReport(cluster.cluster)
    with connect(cluster.cluster, cluster.connect_timeout) as client:
        engine = ClusterEngine(client, report, cluster.shard_size, cluster.on_disk)
        update = update_index(model, gallery, index_dir, options, engine=engine)
    return update, report


def _require_inverted_file(index_mode: str | None, dim: int) -> None:
    """Refuse on-disk lists for a mode that is never an inverted file, before any work."""
    if index_mode in (None, "auto"):
        return  # decided by the gallery's size (or the saved index): checked at build time
    factory = ann.resolve_factory(index_mode, 0)
    if not is_inverted_file(factory, dim):
        raise PlaceRecognitionError(
            f"on-disk inverted lists need an inverted-file index mode (IVF...), not "
            f"{index_mode}; choose one such as IVF4096,SQ8",
            remedy=Remedy.INDEX_MODE,
        )
