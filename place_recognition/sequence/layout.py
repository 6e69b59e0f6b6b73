"""The gallery's routes laid end to end: the matcher's coordinate system.

The matcher works on "route space": every gallery record that lies on a route gets a slot,
routes one after another, each in travel order. ``RouteLayout`` maps records to slots and back
and knows where each route starts, so that no trajectory runs from one route into the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RouteLayout:
    """Routes laid end to end.

    ``records``: (M,) int64, the record id (faiss id) in each slot, routes in name order, each
    in position order. ``starts``: (R,) int64, the first slot of each route. ``names``: the
    route names, in the same order.
    """

    records: np.ndarray
    starts: np.ndarray
    names: tuple[str, ...]

    @classmethod
    def from_spots(cls, spots: Sequence[tuple[str, int] | None]) -> RouteLayout:
        """The layout of records whose ``(route, position)`` are ``spots`` (None: no route)."""
        routed = [(spot[0], spot[1], i) for i, spot in enumerate(spots) if spot is not None]
        routed.sort()
        records = np.array([i for _, _, i in routed], np.int64)
        names, starts = [], []
        for slot, (route, _, _) in enumerate(routed):
            if not names or names[-1] != route:
                names.append(route)
                starts.append(slot)
        return cls(records, np.array(starts, np.int64), tuple(names))

    @classmethod
    def from_records(cls, records: Sequence) -> RouteLayout:
        """The layout of gallery records with ``route`` and ``position`` attributes."""
        return cls.from_spots(
            [
                (r.route, r.position) if getattr(r, "route", None) is not None else None
                for r in records
            ]
        )

    def __len__(self) -> int:
        return len(self.records)

    @property
    def ends(self) -> np.ndarray:
        """(R,) one past the last slot of each route."""
        return np.append(self.starts[1:], len(self.records)).astype(np.int64)

    def route_of_slot(self, slot: int) -> int:
        return int(np.searchsorted(self.starts, slot, side="right") - 1)

    def longest_route(self) -> int:
        return int((self.ends - self.starts).max()) if len(self.starts) else 0
