"""Serialized indexes: a header (kind, payload length, CRC-32) checked before any bytes
reach FAISS, which can abort the process on garbage."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from mediasearch.errors import IndexCorruptError

MAGIC = b"MSIDX\x01"
_HEAD = struct.Struct("<6sB16sQI")  # magic, kind length, kind, payload bytes, crc32


def pack(kind: str, payload: bytes | np.ndarray) -> np.ndarray:
    """Header + payload as one (n,) uint8 array."""
    raw = bytes(memoryview(payload))
    name = kind.encode()
    head = _HEAD.pack(MAGIC, len(name), name.ljust(16, b"\0"), len(raw), zlib.crc32(raw))
    return np.frombuffer(head + raw, dtype=np.uint8)


def unpack(buf: bytes | np.ndarray, label: str = "index") -> tuple[str, np.ndarray]:
    """(kind, payload) of serialized bytes; IndexCorruptError for any damage."""
    data = np.frombuffer(bytes(memoryview(buf)) if not isinstance(buf, np.ndarray) else buf, dtype=np.uint8)
    if data.size < _HEAD.size:
        raise IndexCorruptError(label, f"{data.size} bytes: too short to be an index")
    magic, n, name, size, crc = _HEAD.unpack(data[: _HEAD.size].tobytes())
    if magic != MAGIC or n > 16:
        raise IndexCorruptError(label, "not a mediasearch index")
    payload = data[_HEAD.size :]
    if payload.size != size:
        raise IndexCorruptError(label, f"truncated: {payload.size} of {size} bytes")
    if zlib.crc32(payload.tobytes()) != crc:
        raise IndexCorruptError(label, "checksum mismatch (damaged bytes)")
    return name[:n].decode(), payload
