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
        """The record of a parsed JSON object (taken over, not copied); TypeError when its
        fields are not a record's."""
        if data.keys() != _FIELDS:
            return cls(**data)  # raises TypeError naming the missing/unknown field
        lat, lon = data["lat"], data["lon"]
        if not (
            type(data["path"]) is str
            and type(data["label"]) is str
            and type(data["sha256"]) is str
            and type(data["size"]) is int
            and type(data["mtime_ns"]) is int
            and (lat is None or type(lat) in _NUMBER)
            and (lon is None or type(lon) in _NUMBER)
        ):
            raise TypeError(f"not a gallery record: {data}")  # a damaged records file
        # The frozen dataclass __init__ costs ~4 us per record (one object.__setattr__ per
        # field); adopting the parsed dict as __dict__ is ~10x faster, which is a second of
        # start-up on a 100k-image gallery. Same fields, same values: equality is unchanged.
        record = object.__new__(cls)
        object.__setattr__(record, "__dict__", data)
        return record

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


_FIELDS = frozenset(GalleryRecord.__dataclass_fields__)
_NUMBER = (int, float)


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
