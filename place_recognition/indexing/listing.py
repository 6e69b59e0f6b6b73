"""What a gallery folder holds: its images (paths, sizes, mtimes), their default labels, and
the digest that says whether any of that changed since an index was made."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..core.images import ImageFile, walk_gallery
from .places_csv import PLACES_CSV, ancestor_folders


def default_label(relpath: str) -> str:
    """The place of an image: its subfolder path, or its file stem when it sits in the root."""
    parent = Path(relpath).parent.as_posix()
    return Path(relpath).stem if parent == "." else parent


@dataclass(frozen=True)
class GalleryListing:
    """A gallery's images (path, size, mtime) and the digest that says whether they changed."""

    files: list[ImageFile]
    digest: str


def list_gallery(gallery: Path, max_images: int | None = None) -> GalleryListing:
    """The listing ``update_index`` works from: one walk, stat calls only, no file read.

    Slow on a big gallery (100k files: about half a second of stat calls), so a caller with
    other start-up work (the demo, compiling its model) may make it ahead, in a thread.
    """
    files, side = walk_gallery(gallery, frozenset({PLACES_CSV}))
    files = files[:max_images]
    return GalleryListing(files, listing_digest(files, side))


def listing_digest(files: list[ImageFile], places_files: list[ImageFile]) -> str:
    """sha256 over the image paths, sizes and mtimes and the stats of the places.csv files that
    may name them (in their folders and the folders above, up to the root).

    Equal digests mean the files an index was made from are all still there, unchanged as far
    as ``update_index`` looks (it hashes content only when size or mtime changed).
    """
    digest = hashlib.sha256()
    digest.update("".join(f"{f.relpath}\0{f.size}\0{f.mtime_ns}\n" for f in files).encode())
    # String ops, not Path objects: this runs on every start, over up to 100k+ paths.
    folders = ancestor_folders(file.relpath for file in files)
    for csv in sorted(places_files):
        if csv.relpath.rpartition("/")[0] in folders:
            digest.update(f"{csv.relpath}\0{csv.size}\0{csv.mtime_ns}\n".encode())
    return digest.hexdigest()
