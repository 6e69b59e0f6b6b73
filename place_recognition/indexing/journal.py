"""The resume journal: vectors an indexing run embedded but has not committed yet.

An indexing run appends every new vector to ``resume.journal`` in the index folder as it goes;
the index itself (manifest, faiss file, records) is only replaced at the end. When the run is
killed, the committed index stays the old one, and the next run takes the journal's vectors
instead of embedding those images again. The journal is deleted once the new index is committed.

Entry format (little-endian): 32-byte raw sha256 of the image file, ``dim`` float32, then a
crc32 of both. A run killed mid-write leaves a partial last entry; reading stops at the first
entry that is short or fails its crc, and appending starts there.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

JOURNAL = "resume.journal"
_HEADER = b"place-recognition-resume-1\n"


class ResumeJournal:
    """Append-only store of (image sha256 -> vector) for one model's index folder."""

    def __init__(self, directory: Path, model_sha256: str, dim: int) -> None:
        self.path = Path(directory) / JOURNAL
        self.dim = dim
        # The header names the model, so another model's leftover journal is never used.
        self._header = _HEADER + model_sha256.encode("ascii") + b"\n"
        self._entry_size = 32 + 4 * dim + 4
        self._file = None
        self._unwritable = False

    def read(self) -> dict[str, np.ndarray]:
        """The vectors of complete, intact entries (empty when there is no usable journal)."""
        vectors, _ = self._read()
        return vectors

    def _read(self) -> tuple[dict[str, np.ndarray], int]:
        try:
            data = self.path.read_bytes()
        except OSError:
            return {}, 0
        if not data.startswith(self._header):
            return {}, 0
        vectors: dict[str, np.ndarray] = {}
        position = len(self._header)
        while position + self._entry_size <= len(data):
            entry = data[position : position + self._entry_size]
            body, crc = entry[:-4], int.from_bytes(entry[-4:], "little")
            if zlib.crc32(body) != crc:
                logger.warning(
                    "%s: damaged entry at byte %d; ignoring the rest", self.path, position
                )
                break
            vectors[body[:32].hex()] = np.frombuffer(body[32:], "<f4").astype(np.float32)
            position += self._entry_size
        return vectors, position

    def append(self, sha256: str, vector: np.ndarray) -> None:
        """Record one embedded image (written through at once: a kill loses nothing before).

        The journal only saves work: when it cannot be written (read-only folder), indexing
        goes on without it, and the commit at the end reports the folder's problem.
        """
        if self._unwritable:
            return
        if self._file is None:
            try:
                self._file = self._open_for_append()
            except OSError as exc:
                logger.warning("no resume journal (%s): an interrupted run starts over", exc)
                self._unwritable = True
                return
        body = bytes.fromhex(sha256) + np.asarray(vector, "<f4").reshape(self.dim).tobytes()
        self._file.write(body + zlib.crc32(body).to_bytes(4, "little"))

    def _open_for_append(self):
        _, good_end = self._read()
        if good_end == 0:
            file = open(self.path, "wb", buffering=0)  # noqa: SIM115 - closed by close()
            file.write(self._header)
            return file
        file = open(self.path, "r+b", buffering=0)  # noqa: SIM115 - closed by close()
        file.truncate(good_end)  # drop a partial last entry before appending after it
        file.seek(good_end)
        return file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Delete the journal (its vectors are committed in the index, or unwanted)."""
        self.close()
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:  # harmless: entries are keyed by image content and model
            logger.warning("cannot delete %s: %s", self.path, exc)
