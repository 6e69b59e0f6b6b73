"""Reading a TensorFlow (V2 format) checkpoint without TensorFlow.

A checkpoint ``PREFIX`` is ``PREFIX.index`` (a LevelDB-style sorted table mapping each variable
name to its dtype, shape, shard, offset and size) plus ``PREFIX.data-0000i-of-0000N`` shards with
the raw little-endian tensor bytes. This module reads the table with a small protobuf wire
decoder, so the converter can check that a checkpoint is complete before converting it and can
load its variables when the ``.meta`` graph is missing. Only what netvlad-tf needs is supported:
unsliced, little-endian float32/float64/int32/int64 tensors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PlaceRecognitionError

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48
_BLOCK_TRAILER = 5  # compression type byte + masked crc32c
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}  # TF DataType enum


class CheckpointError(PlaceRecognitionError):
    """The checkpoint files are missing, truncated or not in a supported format."""


@dataclass(frozen=True)
class TensorEntry:
    """Where one variable's bytes live in the data shards."""

    name: str
    dtype: type
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int


def data_shard_path(prefix: Path, shard: int, num_shards: int) -> Path:
    return Path(f"{prefix}.data-{shard:05d}-of-{num_shards:05d}")


class Checkpoint:
    """The variables of the checkpoint at ``prefix`` (the path without ``.index``)."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = Path(prefix)
        index = Path(f"{self.prefix}.index")
        if not index.is_file():
            raise CheckpointError(f"checkpoint index {index} not found")
        records = dict(_table_records(index.read_bytes(), index))
        if b"" not in records:
            raise CheckpointError(f"{index} has no checkpoint header: not a TF2-format checkpoint")
        self.num_shards = _header_shards(records.pop(b""), index)
        self.entries = {
            key.decode(): _entry(key.decode(), value, index) for key, value in records.items()
        }

    @property
    def shard_paths(self) -> list[Path]:
        return [data_shard_path(self.prefix, i, self.num_shards) for i in range(self.num_shards)]

    def verify(self) -> None:
        """Check every data shard exists and holds every tensor's bytes (not the crc32c)."""
        needed = [0] * self.num_shards
        for entry in self.entries.values():
            if entry.shard >= self.num_shards:
                raise CheckpointError(f"{self.prefix}.index: {entry.name} is in a missing shard")
            needed[entry.shard] = max(needed[entry.shard], entry.offset + entry.size)
        for path, size in zip(self.shard_paths, needed, strict=True):
            if not path.is_file():
                raise CheckpointError(f"checkpoint data file {path} is missing")
            if path.stat().st_size < size:
                raise CheckpointError(
                    f"checkpoint data file {path} has {path.stat().st_size:,} bytes, the index "
                    f"needs {size:,}: the file is truncated; unpack or download it again"
                )

    def read(self, name: str) -> np.ndarray:
        entry = self.entries[name]
        with open(self.shard_paths[entry.shard], "rb") as f:
            f.seek(entry.offset)
            data = f.read(entry.size)
        if len(data) != entry.size:
            raise CheckpointError(f"{self.shard_paths[entry.shard]}: {name} is truncated")
        return np.frombuffer(data, np.dtype(entry.dtype).newbyteorder("<")).reshape(entry.shape)

    def read_all(self) -> dict[str, np.ndarray]:
        self.verify()
        return {name: self.read(name) for name in self.entries}


def _table_records(data: bytes, path: Path) -> list[tuple[bytes, bytes]]:
    """All (key, value) pairs of a LevelDB-format table, in key order."""
    if len(data) < _FOOTER_SIZE:
        raise CheckpointError(f"{path} is too short to be a checkpoint index")
    footer = data[-_FOOTER_SIZE:]
    (magic,) = struct.unpack("<Q", footer[-8:])
    if magic != _TABLE_MAGIC:
        raise CheckpointError(f"{path} is not a TensorFlow checkpoint index (bad magic number)")
    _, pos = _handle(footer, 0)  # metaindex block, unused
    index_handle, _ = _handle(footer, pos)
    records = []
    for _, handle_bytes in _block_records(data, index_handle, path):
        records.extend(_block_records(data, _handle(handle_bytes, 0)[0], path))
    return records


def _handle(buf: bytes, pos: int) -> tuple[tuple[int, int], int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return (offset, size), pos


def _block_records(data: bytes, handle: tuple[int, int], path: Path) -> list[tuple[bytes, bytes]]:
    offset, size = handle
    if offset + size + _BLOCK_TRAILER > len(data):
        raise CheckpointError(f"{path} is truncated")
    if data[offset + size] != 0:
        raise CheckpointError(f"{path} uses a compressed block, which is not supported")
    block = data[offset : offset + size]
    (num_restarts,) = struct.unpack("<I", block[-4:])
    end = len(block) - 4 - 4 * num_restarts
    records, key, pos = [], b"", 0
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        records.append((key, block[pos : pos + value_len]))
        pos += value_len
    return records


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint in checkpoint index")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """Protobuf wire format: (field number, value) with varints as int, the rest as bytes."""
    fields, pos = [], 0
    while pos < len(message):
        tag, pos = _varint(message, pos)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, pos = _varint(message, pos)
        elif wire_type == 2:
            length, pos = _varint(message, pos)
            value, pos = message[pos : pos + length], pos + length
        elif wire_type in (1, 5):
            width = 8 if wire_type == 1 else 4
            value, pos = message[pos : pos + width], pos + width
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire_type}")
        fields.append((number, value))
    return fields


def _header_shards(message: bytes, path: Path) -> int:
    """BundleHeaderProto: num_shards = 1, endianness = 2 (0 = little)."""
    header = dict(_fields(message))
    if header.get(2, 0) != 0:
        raise CheckpointError(f"{path}: big-endian checkpoints are not supported")
    return int(header.get(1, 1))


def _entry(name: str, message: bytes, path: Path) -> TensorEntry:
    """BundleEntryProto: dtype 1, shape 2, shard_id 3, offset 4, size 5, crc32c 6, slices 7."""
    fields = _fields(message)
    values = dict(fields)
    if 7 in values:
        raise CheckpointError(f"{path}: {name} is a sliced (partitioned) variable, not supported")
    dtype = _DTYPES.get(int(values.get(1, 0)))
    if dtype is None:
        raise CheckpointError(f"{path}: {name} has unsupported TF dtype {values.get(1)}")
    shape = tuple(_dim_size(dim) for number, dim in _fields(values.get(2, b"")) if number == 2)
    return TensorEntry(
        name, dtype, shape, int(values.get(3, 0)), int(values.get(4, 0)), int(values.get(5, 0))
    )


def _dim_size(dim: bytes) -> int:
    size = dict(_fields(dim)).get(1, 0)
    return size - (1 << 64) if size >= 1 << 63 else size  # int64 two's complement
