"""Model fingerprints: what an index was built with, so that another model is never mixed in.

A fingerprint is the model's name, the sha256 of its files (IR .xml + .bin, or the ONNX file), its
input size and its output dimension. Hashing a 600 MB IR takes a second or two, so digests are
cached per file path and re-computed only when the file's size or mtime changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from .files import atomic_write_text, sha256_files
from .home import cache_dir

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFingerprint:
    """Identity of an embedding model as far as its vectors are concerned."""

    name: str
    sha256: str
    input_size: tuple[int, int]  # (height, width) the image is resized to
    dim: int

    @property
    def key(self) -> str:
        """Short, file-name-safe identity, e.g. ``netvlad-tf-3f9a1c2b7d4e-200x300-4096d``."""
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name) or "model"
        height, width = self.input_size
        return f"{name}-{self.sha256[:12]}-{height}x{width}-{self.dim}d"

    def to_dict(self) -> dict:
        return {**asdict(self), "input_size": list(self.input_size), "key": self.key}

    @classmethod
    def from_dict(cls, data: dict) -> ModelFingerprint:
        return cls(
            name=str(data["name"]),
            sha256=str(data["sha256"]),
            input_size=(int(data["input_size"][0]), int(data["input_size"][1])),
            dim=int(data["dim"]),
        )


def model_files(model_path: Path) -> list[Path]:
    """The files whose bytes define a model: the IR's .xml and .bin, or the single ONNX file."""
    model_path = Path(model_path)
    weights = model_path.with_suffix(".bin")
    if model_path.suffix.lower() == ".xml" and weights.exists():
        return [model_path, weights]
    return [model_path]


def model_digest(model_path: Path) -> str:
    """sha256 of the model's files, cached by (path, size, mtime) of each file."""
    return cached_sha256(model_files(model_path))


def cached_sha256(paths: list[Path]) -> str:
    """sha256 over the files' contents, cached by each file's path, inode, size and mtime.

    A file rewritten in place gets a new mtime (a replaced one also a new inode), so the cache
    never answers for other bytes than those hashed; damage that keeps size and mtime (a bad
    disk sector) goes unnoticed until the file changes: the price of a one-second warm start.
    """
    files = [Path(p).resolve() for p in paths]
    stamp = [_stamp(p, p.stat()) for p in files]
    return _cached(str(files[0]), stamp, lambda: sha256_files(files))


def cached_sha256_of_open(file: BinaryIO, path: Path) -> str:
    """:func:`cached_sha256` of one open file (still right if ``path`` is unlinked meanwhile)."""
    path = Path(path).resolve()
    stamp = [_stamp(path, os.fstat(file.fileno()))]

    def compute() -> str:
        file.seek(0)
        digest = hashlib.sha256()
        while chunk := file.read(1 << 20):
            digest.update(chunk)
        file.seek(0)
        return digest.hexdigest()

    return _cached(str(path), stamp, compute)


def _stamp(path: Path, stat: os.stat_result) -> list:
    return [str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns]


def _cached(key: str, stamp: list, compute) -> str:
    cache_file = cache_dir() / "digests.json"
    cache = _read_cache(cache_file)
    entry = cache.get(key)
    if entry and entry.get("stamp") == stamp:
        return entry["sha256"]
    digest = compute()
    # Index generations come and go: forget files that are gone so the cache stays small.
    cache = {k: v for k, v in cache.items() if Path(k).exists()}
    cache[key] = {"stamp": stamp, "sha256": digest}
    _write_cache(cache_file, cache)
    return digest


def _read_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, cache: dict) -> None:
    # The cache only saves time: failing to write it (read-only home, full disk) is not an error.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(cache, indent=1))
    except OSError as exc:
        logger.debug("could not write the digest cache %s: %s", path, exc)
