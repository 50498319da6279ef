"""Errors of the model store (all MediaSearchError subclasses, one-line messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from mediasearch.errors import ChecksumMismatchError, MediaSearchError


class ManifestError(MediaSearchError):
    """models/manifest.toml breaks its schema (the problems are listed)."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        super().__init__(f"{self.path}: invalid weights manifest: {'; '.join(self.problems)}")


class ModelStoreError(MediaSearchError):
    """The model folder cannot be used as asked (read-only, wrong source layout...)."""


class DownloadChecksumError(ChecksumMismatchError):
    """A downloaded file did not match the manifest; its partial file has been deleted."""

    def __init__(self, path: Path | str, expected: str, actual: str, *, url: str) -> None:
        super().__init__(path, expected, actual)
        self.url = url
        self.args = (
            (
                f"{url}: downloaded file does not match the manifest (expected {expected}, got {actual}); "
                f"the partial file {self.path} was deleted"
            ),
        )


class ImportChecksumError(ChecksumMismatchError):
    """A file offered to `models import` does not match the manifest (and --force was not given)."""

    def __init__(self, path: Path | str, expected: str, actual: str, *, name: str) -> None:
        super().__init__(path, expected, actual)
        self.name = name
        self.args = (
            (
                f"{self.path}: does not match model {name!r} (expected {expected}, got {actual}); "
                f"nothing was installed; pass --force to install it anyway (recorded as forced)"
            ),
        )
