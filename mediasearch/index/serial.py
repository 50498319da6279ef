"""Serialized indexes: a header (kind, payload length, CRC-32) checked before any bytes
reach FAISS, which can abort the process on garbage."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from mediasearch.errors import IndexCorruptError

MAGIC = b"MSIDX\x01"
_HEAD = struct.Struct("<6sB16sQI")  # magic, kind length, kind, payload bytes, crc32


def pack(kind: str, *parts: bytes | np.ndarray) -> np.ndarray:
    """Header + the payload ``parts`` (concatenated) as one (n,) uint8 array.

    Each part is copied once, straight into the output: a 1M x 768 index is 3 GB, and
    joining bytes objects held four copies of it at once.
    """
    views = [memoryview(part).cast("B") for part in parts]
    size = sum(v.nbytes for v in views)
    out = np.empty(_HEAD.size + size, dtype=np.uint8)
    crc, at = 0, _HEAD.size
    for v in views:
        out[at : at + v.nbytes] = np.frombuffer(v, dtype=np.uint8)
        crc = zlib.crc32(v, crc)
        at += v.nbytes
    name = kind.encode()
    out[: _HEAD.size] = np.frombuffer(_HEAD.pack(MAGIC, len(name), name.ljust(16, b"\0"), size, crc), dtype=np.uint8)
    return out


def unpack(buf: bytes | np.ndarray, label: str = "index") -> tuple[str, np.ndarray]:
    """(kind, payload) of serialized bytes; IndexCorruptError for any damage."""
    try:  # a view, not a copy: the payload can be gigabytes
        data = np.frombuffer(memoryview(np.ascontiguousarray(buf) if isinstance(buf, np.ndarray) else buf).cast("B"), dtype=np.uint8)
    except (TypeError, ValueError) as exc:
        raise IndexCorruptError(label, f"not a byte buffer: {exc}") from exc
    if data.size < _HEAD.size:
        raise IndexCorruptError(label, f"{data.size} bytes: too short to be an index")
    magic, n, name, size, crc = _HEAD.unpack(data[: _HEAD.size].tobytes())
    if magic != MAGIC or n > 16:
        raise IndexCorruptError(label, "not a mediasearch index")
    payload = data[_HEAD.size :]
    if payload.size != size:
        raise IndexCorruptError(label, f"truncated: {payload.size} of {size} bytes")
    if zlib.crc32(memoryview(payload)) != crc:
        raise IndexCorruptError(label, "checksum mismatch (damaged bytes)")
    try:
        return name[:n].decode("ascii"), payload
    except UnicodeDecodeError as exc:
        raise IndexCorruptError(label, "damaged header (kind)") from exc
