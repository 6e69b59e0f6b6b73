"""Cluster addresses: ``local``, ``local:N`` (worker processes started here) or a running
scheduler's URL (``tcp://HOST:PORT``). Checked without importing Dask, so that a command can
refuse a bad address at once."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import PlaceRecognitionError

_LOCAL = re.compile(r"^local(?::(\d+))?$")
_REMOTE = re.compile(r"^(tcp|tls|ws|wss|inproc)://\S+$")


@dataclass(frozen=True)
class ClusterAddress:
    """A parsed cluster address: ``workers`` processes started here, or a scheduler's URL."""

    text: str
    workers: int | None = None  # local: worker processes to start
    scheduler: str | None = None  # remote: the scheduler's address

    @property
    def is_local(self) -> bool:
        return self.scheduler is None


def parse_address(text: str) -> ClusterAddress:
    """``local``, ``local:N`` or a scheduler URL such as ``tcp://10.0.0.5:8786``."""
    text = text.strip()
    if match := _LOCAL.match(text):
        workers = int(match.group(1)) if match.group(1) else _cores()
        if workers < 1:
            raise PlaceRecognitionError(f"cluster {text!r}: a local cluster needs 1 worker or more")
        return ClusterAddress(text, workers=workers)
    if _REMOTE.match(text):
        return ClusterAddress(text, scheduler=text)
    raise PlaceRecognitionError(
        f"cluster {text!r} is neither local, local:N nor a scheduler address like tcp://HOST:PORT"
    )


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
