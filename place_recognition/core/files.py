"""File helpers: atomic writes and content hashes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import PlaceRecognitionError

_CHUNK = 1 << 20


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # mkstemp creates 0600 files; give them the usual mode


def atomic_write_with(path: Path, write: Callable[[Path], None]) -> None:
    """Create ``path`` so that a reader or a crash sees the old file or the new one, never a part.

    ``write`` fills a temporary file in the same folder (it gets the file's name, as writers such
    as ``faiss.write_index`` want); the file is flushed to disk and renamed over ``path``
    (``os.replace`` is atomic on POSIX and Windows).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, _FILE_MODE)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write_with`)."""
    atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` ``array`` to ``path`` atomically (see :func:`atomic_write_with`)."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # np.save on a path would append .npy to the temporary name
            np.save(f, array)

    atomic_write_with(path, write)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_files(paths: list[Path]) -> str:
    """One sha256 over the concatenated contents of ``paths`` (e.g. an IR's .xml and .bin)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def folder_lock(directory: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (creating it) so that one writer works at a time.

    A second writer fails at once with a clear error instead of waiting or interleaving. Where
    the folder cannot be created or written (read-only media) there is no writer to exclude and
    the body runs unlocked; a write it attempts then fails with its own error. POSIX only
    (``fcntl``); elsewhere the body runs unlocked.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PlaceRecognitionError(
                f"another run is updating the {what} in {directory}; wait for it to finish"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock
