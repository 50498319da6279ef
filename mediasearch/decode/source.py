"""Read each file once: its content hash, its kind and its decoding come from one buffer.

The indexing pipeline reads a new or changed file with :func:`read_source` (one open:
the whole file for files up to :data:`~mediasearch.hashing.WHOLE_FILE_LIMIT`, hashed
from that buffer) and *holds* the bytes with :func:`hold` until the file is decoded.
Every decoder in :mod:`mediasearch.decode` opens files through :func:`open_binary`
(Python readers: Pillow, the magic-number sniffer) or :func:`av_input` (PyAV,
libsndfile), which hand out an in-memory view of a held file instead of opening the
path again, so the kind check, the hash and the decode of a file share one read.

Files larger than the limit are never held (a 4 GB video must not sit in memory): they
are hashed from three 4 MiB samples (12 MiB read, whatever the length) and streamed from
disk by the decoder, so they cost one streaming pass plus at most 12 MiB.

The registry is process-wide and thread-safe; held bytes are immutable (``bytes``),
each opener gets its own ``BytesIO`` (own position), so decode workers may share them.
Holds are counted: the check holds a file while its chunk is handed on, the decode
queue :func:`retain`\ s it until its decode is over, and the bytes go with the last
:func:`release`.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mediasearch.hashing import WHOLE_FILE_LIMIT, hash_bytes, hash_samples

__all__ = ["Source", "read_source", "hold", "retain", "release", "held", "held_bytes", "open_binary", "av_input"]

_lock = threading.Lock()
_held: dict[str, bytes] = {}
_holds: dict[str, int] = {}  # path -> holders of _held[path]


@dataclass(frozen=True)
class Source:
    """What one read of a file gave: ``size`` (bytes), ``digest`` (see
    :func:`mediasearch.hashing.content_hash`) and ``data`` (the whole file, or None for a
    file above the whole-file limit)."""

    path: Path
    size: int
    digest: str
    data: bytes | None


def read_source(path: Path | str, *, limit: int = WHOLE_FILE_LIMIT) -> Source:
    """Open ``path`` once: read it whole and hash the buffer (size <= ``limit`` bytes), or
    hash its size and three samples (larger files; ``data`` is None then).

    Raises OSError when the file cannot be read.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size <= limit:
            data = _read_all(fh, size)
            return Source(path, len(data), hash_bytes(data), data)
        return Source(path, size, hash_samples(fh, size), None)


def _read_all(fh: BinaryIO, size: int) -> bytes:
    """The rest of ``fh`` (``size`` is a hint: a file that grows or shrinks is read as it is)."""
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = fh.readinto(view[got:])
        if not n:
            break
        got += n
    data = bytes(view[:got])
    if got == size:
        more = fh.read()
        if more:
            data += more
    return data


def hold(path: Path | str, data: bytes) -> None:
    """Serve ``data`` to every decoder that opens ``path`` until :func:`release`
    (one hold; holding a path again replaces its bytes and adds a holder)."""
    key = os.fspath(path)
    with _lock:
        _held[key] = data
        _holds[key] = _holds.get(key, 0) + 1


def retain(path: Path | str) -> bool:
    """One more holder of ``path``'s held bytes, if it is held (then True): they stay
    until this holder's :func:`release` too."""
    key = os.fspath(path)
    with _lock:
        if key not in _held:
            return False
        _holds[key] = _holds.get(key, 0) + 1
        return True


def release(path: Path | str) -> None:
    """One holder lets go of ``path``; with the last, decoders read it from disk again."""
    key = os.fspath(path)
    with _lock:
        left = _holds.get(key, 0) - 1
        if left > 0:
            _holds[key] = left
            return
        _holds.pop(key, None)
        _held.pop(key, None)


def held(path: Path | str) -> bytes | None:
    """The held bytes of ``path``, or None."""
    with _lock:
        return _held.get(os.fspath(path))


def held_bytes() -> int:
    """Bytes held right now (all files)."""
    with _lock:
        return sum(len(b) for b in _held.values())


def open_binary(path: Path | str) -> BinaryIO:
    """A binary file object for ``path``: an in-memory view of a held file, else ``open(path, "rb")``."""
    data = held(path)
    if data is not None:
        return io.BytesIO(data)
    return open(path, "rb")


def av_input(path: Path | str) -> "str | BinaryIO":
    """What to pass to ``av.open`` / ``soundfile``: a ``BytesIO`` of a held file, else the path string."""
    data = held(path)
    if data is not None:
        return io.BytesIO(data)
    return os.fspath(path)

