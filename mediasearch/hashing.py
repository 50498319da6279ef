"""Content hashes that identify a file across renames and moves.

``content_hash`` is an identity check, not a security check: files up to 16 MiB are
hashed whole ("b2:" + hex), larger ones by their size and three 4 MiB samples (start,
middle, end: "b2s:" + hex), so hashing a 4 GB video reads 12 MiB, not 4 GB. Two large
files that differ only outside the samples get the same hash; the indexing pipeline
also compares sizes, and an edit to a video or photo virtually always changes the size
or touches the header or the end of the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["content_hash", "hash_bytes", "hash_samples", "WHOLE_FILE_LIMIT", "SAMPLE_BYTES"]

#: files up to this size (bytes) are hashed whole
WHOLE_FILE_LIMIT = 16 * 1024 * 1024
#: bytes read at the start, middle and end of larger files
SAMPLE_BYTES = 4 * 1024 * 1024
_CHUNK = 1024 * 1024
_DIGEST_SIZE = 16


def content_hash(path: Path | str) -> str:
    """``"b2:<32 hex>"`` (blake2b-128 of the whole file, up to 16 MiB) or ``"b2s:<32 hex>"``
    (blake2b-128 of the size as 8 little-endian bytes + first, middle and last 4 MiB).

    Raises OSError when the file cannot be read.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size <= WHOLE_FILE_LIMIT:
            digest = hashlib.blake2b(digest_size=_DIGEST_SIZE)
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
            return "b2:" + digest.hexdigest()
        return hash_samples(fh, size)


def hash_bytes(data: bytes) -> str:
    """The hash :func:`content_hash` gives a file of at most ``WHOLE_FILE_LIMIT`` bytes whose
    content is ``data`` (so a caller that read the file whole hashes the same buffer)."""
    return "b2:" + hashlib.blake2b(data, digest_size=_DIGEST_SIZE).hexdigest()


def hash_samples(fh, size: int) -> str:
    """``"b2s:<32 hex>"`` of a file above ``WHOLE_FILE_LIMIT`` from its open binary handle ``fh``
    (``size`` in bytes): reads 3 x ``SAMPLE_BYTES``."""
    digest = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    digest.update(size.to_bytes(8, "little"))
    for offset in (0, (size - SAMPLE_BYTES) // 2, size - SAMPLE_BYTES):
        fh.seek(offset)
        _update(digest, fh, SAMPLE_BYTES)
    return "b2s:" + digest.hexdigest()


def _update(digest: "hashlib.blake2b", fh, length: int) -> None:
    """Feed ``length`` bytes from the current position of ``fh`` in chunks."""
    left = length
    while left > 0:
        chunk = fh.read(min(_CHUNK, left))
        if not chunk:  # the file shrank while we read it
            logger.debug("%s: short read while hashing", getattr(fh, "name", "?"))
            break
        digest.update(chunk)
        left -= len(chunk)
