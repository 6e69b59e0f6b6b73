"""Where the work runs: a Dask cluster started here (``local[:N]``) or a running scheduler
(``tcp://HOST:PORT``), reached through one client.

A local cluster runs N worker processes of one thread each on this machine (default: one per
core), listening on 127.0.0.1 only. Either way a task whose worker dies is run again elsewhere,
at most ATTEMPTS times in all (a scheduler started elsewhere reads that limit from its own
configuration, see docs/distributed.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import dask
from distributed import Client, LocalCluster

from ..errors import RuntimeFailure
from .address import parse_address

logger = logging.getLogger(__name__)

ATTEMPTS = 3  # runs of a shard before it counts as failed (its worker died or it raised)


@contextmanager
def connect(text: str, timeout: float | None = None) -> Iterator[Client]:
    """A client of the cluster at ``text`` (see parse_address); a local cluster is started
    for the duration and stopped after. One-line errors when there is no cluster to reach.

    ``timeout``: seconds to reach a scheduler (None: Dask's ``distributed.comm.timeouts.connect``,
    30 s unless configured)."""
    address = parse_address(text)
    if address.is_local:
        with _local_cluster(address.workers) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address.scheduler, **({"timeout": timeout} if timeout else {}))
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise RuntimeFailure(
            f"cannot reach the Dask scheduler at {address.scheduler}: {reason}; start it "
            "(dask scheduler) or check the address"
        ) from None
    with client:
        yield client


@contextmanager
def _local_cluster(workers: int) -> Iterator[LocalCluster]:
    # Worker logs (task errors with tracebacks, restarts) are summed up by the driver; they
    # show only when this package logs at debug level.
    verbose = logger.isEnabledFor(logging.DEBUG)
    with dask.config.set({"distributed.scheduler.allowed-failures": ATTEMPTS - 1}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.WARNING if verbose else logging.CRITICAL,
        )
    with cluster:
        logger.info("local Dask cluster: %d worker processes x 1 thread", workers)
        yield cluster


def worker_threads(client: Client) -> dict[str, int]:
    """Worker address -> threads, for the workers alive now."""
    return dict(client.nthreads())
