"""Gallery records and the decode -> embed pipeline that keeps vectors aligned with records."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class GalleryRecord:
    """One indexed gallery image. Its position in the index's record list is its faiss id.

    ``path`` is POSIX-style, relative to the gallery root; ``sha256`` is of the file's bytes.
    """

    path: str
    label: str
    sha256: str
    size: int
    mtime_ns: int
    lat: float | None = None
    lon: float | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> GalleryRecord:
        """The record of a parsed JSON object; TypeError when its fields are not a record's."""
        record = cls(**data)
        numbers = (int, float)
        if not (
            isinstance(record.path, str)
            and isinstance(record.label, str)
            and isinstance(record.sha256, str)
            and type(record.size) is int
            and type(record.mtime_ns) is int
            and all(
                v is None or (isinstance(v, numbers) and not isinstance(v, bool))
                for v in (record.lat, record.lon)
            )
        ):
            raise TypeError(f"not a gallery record: {data}")
        return record

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


def ordered_prefetch(
    function: Callable[[T], R], items: Iterable[T], workers: int = 2, depth: int = 16
) -> Iterator[R]:
    """``map(function, items)`` run ahead on a thread pool, results in input order.

    Used to decode images while OpenVINO infers (OpenCV releases the GIL while decoding);
    at most ``depth`` results are held at once, so memory stays bounded on huge galleries.
    """
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        iterator = iter(items)
        for item in iterator:
            pending.append(pool.submit(function, item))
            if len(pending) >= depth:
                break
        while pending:
            result = pending.popleft().result()
            next_item = next(iterator, _END)
            if next_item is not _END:
                pending.append(pool.submit(function, next_item))
            yield result


_END = object()
