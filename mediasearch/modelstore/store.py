"""The installed-weights folder: where each model lives and whether it is there."""

from __future__ import annotations

from pathlib import Path

from mediasearch.errors import ModelUnavailableError
from mediasearch.modelstore.manifest import ModelEntry, get_entry


def how_to_get(name: str) -> str:
    return f"run `mediasearch models pull {name}` (internet) or `mediasearch models import {name} PATH` (offline)"


class ModelStore:
    """Weights under ``root`` laid out as ``root/<entry.dir>/<file.path>``, a layout loaders read directly."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def entry(self, name: str) -> ModelEntry:
        return get_entry(name)

    def path(self, name: str) -> Path:
        """Where the loader should look: the single file, or the model's folder."""
        entry = self.entry(name)
        if entry.kind == "file" and len(entry.files) == 1:
            return self.root / entry.dir / entry.files[0].path
        return self.root / entry.dir

    def is_present(self, name: str) -> bool:
        """Every file exists with the manifest's size (cheap; `verify` re-hashes)."""
        entry = self.entry(name)
        for f in entry.files:
            p = self.root / entry.dir / f.path
            if not p.is_file() or (f.size and p.stat().st_size != f.size):
                return False
        return True

    def require(self, name: str, *, encoder: str | None = None, allow_download: bool = False) -> Path:
        """The model's path, or ModelUnavailableError naming the pull/import command."""
        if not self.is_present(name):
            if allow_download:
                from mediasearch.modelstore.download import pull  # deferred: network code

                pull(self, name)
            else:
                raise ModelUnavailableError(name, how_to_get(name), encoder=encoder)
        return self.path(name)
