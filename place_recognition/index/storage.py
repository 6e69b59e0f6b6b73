"""The data files of an index folder: generation-numbered names, checked opening, reading, cleanup.

Every data file is named ``<role>.<generation>.<ext>`` (``index.000042.faiss``) and never changes
once written: a save writes a new generation, the manifest is replaced (the commit point, see
index/manifest.py), then other generations are deleted. Readers open a file and check its size
and sha256 against the manifest before faiss or the JSON reader sees it, and read through the
open descriptor, so a concurrent save that deletes the file cannot pull it away mid-read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import faiss
import numpy as np

from ..core.files import atomic_write_text, atomic_write_with
from ..core.fingerprint import cached_sha256, cached_sha256_of_open
from ..errors import IndexFormatError, Remedy
from .records import GalleryRecord

# role -> extensions. A later format adds a role here (e.g. an on-disk inverted-lists file);
# only files of known roles are ever deleted.
ROLES = {
    "index": ("faiss",),
    "records": ("jsonl",),
    "vectors": ("npy",),
    "model": ("xml", "bin"),  # a query model stored with the index (see QueryModel)
}
_DATA_FILE = re.compile(r"^([a-z][a-z0-9_-]*)\.(\d+)\.([a-z0-9]+)$")
REBUILD = "rebuild the index to replace it"


@dataclass(frozen=True)
class FileEntry:
    """A data file as the manifest records it: plain name in the folder, size, sha256."""

    name: str
    size: int
    sha256: str

    def to_json(self) -> dict:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


class DataFileMissing(Exception):
    """A data file named by the manifest is not there (a concurrent save may have deleted it)."""


def data_file(directory: Path, role: str, generation: int, ext: str) -> Path:
    """The path of a data file: ``<role>.<generation, 6 digits>.<ext>``."""
    assert ext in ROLES[role], (role, ext)
    return Path(directory) / f"{role}.{generation:06d}.{ext}"


def is_data_file_name(name: str) -> bool:
    """True for ``<known role>.<digits>.<its extension>``: a manifest never points elsewhere."""
    match = _DATA_FILE.match(name)
    return match is not None and match.group(3) in ROLES.get(match.group(1), ())


def highest_generation(directory: Path, roles: tuple[str, ...] = ("index", "records", "vectors")):
    """The highest generation among the data files of ``roles`` in ``directory`` (0: none).

    A gallery-fitted query model is written under the generation its index will get, so model
    files do not count by default.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    matches = (_DATA_FILE.match(path.name) for path in directory.iterdir())
    return max(
        (int(m.group(2)) for m in matches if m and m.group(1) in roles and is_data_file_name(m[0])),
        default=0,
    )


def describe(path: Path) -> FileEntry:
    # Through the digest cache: the first load after a save then needs no second hashing pass.
    return FileEntry(path.name, path.stat().st_size, cached_sha256([path]))


def open_checked(directory: Path, entry: FileEntry) -> BinaryIO:
    """The open data file of ``entry``, its size and sha256 checked; DataFileMissing if gone."""
    path = Path(directory) / entry.name
    try:
        file = open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise DataFileMissing(path) from None
    try:
        size = os.fstat(file.fileno()).st_size
        if size != entry.size:
            raise _damaged(f"{path} has {size} bytes, the manifest says {entry.size}: the file is")
        if cached_sha256_of_open(file, path) != entry.sha256:
            raise IndexFormatError(
                f"{path} does not match its sha256 in the manifest; {REBUILD}",
                remedy=Remedy.REBUILD_INDEX,
            )
    except BaseException:
        file.close()
        raise
    return file


def _damaged(what: str) -> IndexFormatError:
    return IndexFormatError(f"{what} damaged; {REBUILD}", remedy=Remedy.REBUILD_INDEX)


def _through_descriptor(file: BinaryIO) -> Path:
    # Read through the open descriptor (Linux) so a concurrent delete cannot pull it away.
    fd_path = Path(f"/proc/self/fd/{file.fileno()}")
    return fd_path if fd_path.exists() else Path(file.name)


def read_faiss(file: BinaryIO, mmap: bool = False) -> faiss.Index:
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
    try:
        return faiss.read_index(str(_through_descriptor(file)), flags)
    except RuntimeError as exc:
        raise _damaged(f"cannot read {file.name}: the faiss index is") from exc


def write_faiss(path: Path, index: faiss.Index) -> None:
    atomic_write_with(path, lambda tmp: faiss.write_index(index, str(tmp)))


def map_vectors(file: BinaryIO, count: int, dim: int) -> np.ndarray:
    """The exact vectors of an approximate index, memory-mapped (read-only)."""
    try:
        vectors = np.load(_through_descriptor(file), mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise _damaged(f"cannot read {file.name} ({exc}): the file is") from exc
    if vectors.dtype != np.float32 or vectors.shape != (count, dim):
        raise _damaged(
            f"{file.name} holds {vectors.dtype} {vectors.shape}, not float32 ({count}, {dim}): "
            "the file is"
        )
    return vectors


def write_vectors(path: Path, vectors: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.lib.format.write_array(f, np.asarray(vectors, np.float32), allow_pickle=False)

    atomic_write_with(path, write)


def write_records(path: Path, records: list[GalleryRecord]) -> None:
    lines = (json.dumps(r.to_json(), ensure_ascii=False) for r in records)
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def read_records(file: BinaryIO) -> list[GalleryRecord]:
    lines = file.read().split(b"\n")  # bytes: a label may hold U+2028, which str splits on
    if lines and not lines[-1]:
        lines.pop()
    try:
        # One parse of all lines as a JSON array: several times faster than one per line,
        # which matters for the start-up time on 100k-image galleries.
        items = json.loads(b"[" + b",".join(lines) + b"]")
        return [GalleryRecord.from_json(item) for item in items]
    except (ValueError, TypeError):
        pass
    for line_number, line in enumerate(lines, start=1):  # find the damaged line for the message
        try:
            GalleryRecord.from_json(json.loads(line))
        except (ValueError, TypeError) as exc:
            raise _damaged(f"{file.name}, line {line_number}: the record is") from exc
    raise _damaged(f"{file.name}: the records file is")


def write_generation(
    directory: Path,
    generation: int,
    index: faiss.Index,
    records: list[GalleryRecord],
    vectors: np.ndarray | None,
) -> dict[str, FileEntry]:
    """Write one generation's data files (vectors: approximate modes only); role -> entry."""
    written = {
        "index": (data_file(directory, "index", generation, "faiss"), write_faiss, index),
        "records": (data_file(directory, "records", generation, "jsonl"), write_records, records),
    }
    if vectors is not None:
        path = data_file(directory, "vectors", generation, "npy")
        written["vectors"] = (path, write_vectors, vectors)
    for path, write, data in written.values():
        write(path, data)
    return {role: describe(path) for role, (path, _, _) in written.items()}


def read_generation(
    directory: Path, files: dict[str, FileEntry], count: int, dim: int, mmap: bool
) -> tuple[faiss.Index, list[GalleryRecord], np.ndarray | None]:
    """The faiss index, records and (approximate modes) exact vectors of one generation.

    ``mmap`` maps an exact index's vectors instead of reading them. DataFileMissing when a
    file is gone. Data files never change once written and are deleted only after a newer
    manifest is committed: once all are open, they are one consistent generation.
    """
    with contextlib.ExitStack() as stack:
        opened = {
            role: stack.enter_context(open_checked(directory, e)) for role, e in files.items()
        }
        index = read_faiss(opened["index"], mmap and "vectors" not in opened)
        records = read_records(opened["records"])
        vectors = map_vectors(opened["vectors"], count, dim) if "vectors" in opened else None
    return index, records, vectors


def delete_temporaries(directory: Path) -> None:
    """Delete what a killed save left (writers hold the folder's lock, so none is in use)."""
    for path in Path(directory).glob(".*.tmp"):
        path.unlink(missing_ok=True)


def delete_other_generations(directory: Path, generation: int, keep: set[str]) -> None:
    """Delete the data files of every generation but ``generation``, except those in ``keep``."""
    for path in Path(directory).iterdir():
        match = _DATA_FILE.match(path.name)
        if (
            match
            and is_data_file_name(path.name)
            and int(match.group(2)) != generation
            and path.name not in keep
        ):
            path.unlink(missing_ok=True)
