"""Hashing files and judging them against a manifest entry's published digests."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from mediasearch.modelstore.manifest import ModelFile

logger = logging.getLogger(__name__)

CHUNK = 1 << 20


class Digests:
    """sha256 and md5 of a byte stream, fed chunk by chunk."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()


def hash_stream(stream: BinaryIO, *, on_chunk: Callable[[int], None] | None = None) -> Digests:
    """Digests of everything left in ``stream``; ``on_chunk(bytes_so_far)`` after each chunk."""
    digests = Digests()
    while chunk := stream.read(CHUNK):
        digests.update(chunk)
        if on_chunk:
            on_chunk(digests.size)
    return digests


def hash_file(path: Path, *, on_chunk: Callable[[int], None] | None = None) -> Digests:
    with open(path, "rb") as stream:
        return hash_stream(stream, on_chunk=on_chunk)


@dataclass(frozen=True)
class Verdict:
    """How a file's content relates to its manifest entry.

    ``how`` is "manifest" (matches the published digests), "alternative" (matches an
    accepted alternative, named in ``note``), "first-use" (no published digest; nothing
    to compare with) or "mismatch".
    """

    how: str
    expected: str
    actual: str
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.how != "mismatch"


def judge(file: ModelFile, digests: Digests) -> Verdict:
    """Compare ``digests`` with every digest the manifest publishes for ``file``."""
    actual = f"sha256:{digests.sha256}"
    alternative = file.alternative_for(digests.sha256)
    if alternative is not None and digests.size == alternative.size:
        return Verdict("alternative", file.expected, actual, alternative.note)
    if file.tofu:
        return Verdict("first-use", "", actual)
    checks = []
    if file.sha256:
        checks.append(digests.sha256 == file.sha256)
    if file.sha256_prefix:
        checks.append(digests.sha256.startswith(file.sha256_prefix))
    if file.md5:
        checks.append(digests.md5 == file.md5)
        if not file.sha256:
            actual = f"md5:{digests.md5}"
    if file.size:
        checks.append(digests.size == file.size)
    if all(checks):
        return Verdict("manifest", file.expected, actual)
    return Verdict("mismatch", file.expected, actual)
