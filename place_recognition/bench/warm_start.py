"""A big gallery for timing the demo's warm start: many small files and an index of them made
without embedding (random unit vectors of the model's size): embedding 100k images would take
hours and changes nothing about start-up, which reads no image of an unchanged gallery."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..core.images import list_images
from ..core.model import EmbeddingModel
from ..index.place_index import PlaceIndex, default_index_dir, l2_normalize
from ..index.records import GalleryRecord
from ..indexing.listing import default_label
from ..indexing.update import update_index
from ..scenes.street import render_place, render_view

PER_FOLDER = 100


def make_file_gallery(gallery: Path, count: int, progress: bool = False) -> None:
    """``count`` copies of one small JPEG under place_XXXX/ folders (content is never read)."""
    if gallery.is_dir() and len(list_images(gallery)) == count:
        return
    _, data = cv2.imencode(".jpg", render_view(render_place(7), seed=7, size=(48, 64)))
    payload = data.tobytes()
    bar = tqdm(range(count), total=count, desc="gallery files", unit="file", disable=not progress)
    for i in bar:
        folder = gallery / f"place_{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i % PER_FOLDER:03d}.jpg").write_bytes(payload)


def make_unembedded_index(model: EmbeddingModel, gallery: Path) -> Path:
    """The default index of ``gallery`` for ``model``, with random vectors; made once."""
    directory = default_index_dir(gallery, model.fingerprint)
    if (directory / "manifest.json").is_file():
        return directory
    files = list_images(gallery)
    records = [
        GalleryRecord(f.relpath, default_label(f.relpath), f"{i:064x}", f.size, f.mtime_ns)
        for i, f in enumerate(files)
    ]
    vectors = l2_normalize(np.random.default_rng(0).standard_normal((len(files), model.dim)))
    PlaceIndex.build(model.fingerprint, records, vectors).save(directory)
    # A normal update: every file is unchanged (size, mtime), so nothing is read or embedded;
    # it records the listing digest, as any demo or build_index run does.
    update = update_index(model, gallery)
    assert update.embedded == 0 and len(update.index) == len(files), "index not reused"
    return directory
