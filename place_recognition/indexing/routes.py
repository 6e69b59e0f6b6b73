"""Routes in a gallery: which images are consecutive frames of one traverse, in what order.

Sequence matching follows a stream of frames along the gallery's routes, so every gallery
image may have a ``route`` (a name) and a ``position`` on it (0, 1, 2 ... in travel order):

* The images directly in the gallery root, in natural order of their file names
  (``frame2`` before ``frame10``), form one route, named ``ROOT_ROUTE``. Each is its own place,
  as it always was.
* With ``RouteMode.FOLDERS`` (``build_index --routes folders``) each subfolder is a route of
  frames, one place per frame labelled ``folder/stem``, in natural order. A subfolder whose
  images all carry one ``places.csv`` label is a place photographed several times, not a
  route, and stays a place.
* ``places.csv`` may put any image on a route with the columns ``route`` (a name) and ``index``
  (a number giving the order; ties and missing values fall back to natural order of the path).
  This works for several routes, and for routes spread over subfolders.

Positions are assigned from the full listing at every commit, so an image inserted into a route
shifts the positions after it. Images on no route have ``route`` and ``position`` None.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from enum import StrEnum

ROOT_ROUTE = "."  # the route of the images directly in the gallery root


class RouteMode(StrEnum):
    """How a gallery's folders map to routes (recorded in the index manifest)."""

    ROOT = "root"  # the root's images form one route; subfolders are places
    FOLDERS = "folders"  # every subfolder is a route of frames, too


_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``img2`` < ``img10``.

    ``re.split`` with a capturing group alternates text and digits, so two keys compare text
    with text and numbers with numbers at every position.
    """
    parts = _DIGITS.split(path.lower())
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts))


def folder_of(relpath: str) -> str:
    return relpath.rpartition("/")[0]


def frame_label(relpath: str) -> str:
    """The label of a frame of a folder route: ``folder/stem``."""
    folder, _, name = relpath.rpartition("/")
    stem = name.rpartition(".")[0] or name
    return f"{folder}/{stem}" if folder else stem


def folder_routes(relpaths: Iterable[str], labels: Mapping[str, str | None]) -> set[str]:
    """The subfolders that are routes in ``RouteMode.FOLDERS``: every folder holding images,
    except those whose images all carry one and the same ``places.csv`` label (a place)."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    for relpath in relpaths:
        folder = folder_of(relpath)
        if folder:
            by_folder[folder].append(relpath)
    routes = set()
    for folder, members in by_folder.items():
        given = {labels.get(relpath) for relpath in members}
        if not (len(given) == 1 and None not in given):
            routes.add(folder)
    return routes


def assign_routes(
    relpaths: Iterable[str],
    mode: RouteMode = RouteMode.ROOT,
    explicit: Mapping[str, tuple[str, float | None]] | None = None,
    labels: Mapping[str, str | None] | None = None,
) -> dict[str, tuple[str, int]]:
    """``relpath -> (route, position)`` for every image that lies on a route.

    Args:
        relpaths: every image of the gallery (POSIX paths relative to its root).
        mode: whether subfolders are routes too.
        explicit: ``relpath -> (route, index)`` from ``places.csv`` (index may be None); these
            override the folder rules.
        labels: ``relpath -> label`` from ``places.csv``, to tell place folders from routes.
    """
    explicit = explicit or {}
    relpaths = list(relpaths)
    routed_folders = folder_routes(relpaths, labels or {}) if mode is RouteMode.FOLDERS else set()
    members: dict[str, list[tuple[tuple, str]]] = defaultdict(list)
    for relpath in relpaths:
        if relpath in explicit:
            route, index = explicit[relpath]
            order = (0, index) if index is not None else (1, 0.0)
        else:
            folder = folder_of(relpath)
            if not folder:
                route = ROOT_ROUTE
            elif folder in routed_folders:
                route = folder
            else:
                continue
            order = (1, 0.0)
        members[route].append(((*order, natural_key(relpath)), relpath))
    spots = {}
    for route, items in members.items():
        for position, (_, relpath) in enumerate(sorted(items)):
            spots[relpath] = (route, position)
    return spots
