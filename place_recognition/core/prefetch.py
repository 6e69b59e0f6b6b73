"""Running a function ahead of its consumer on a thread pool, results in input order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


R = TypeVar("R")


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
