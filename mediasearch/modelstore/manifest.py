"""Reading models/manifest.toml: every model's files, sources, sizes, checksums, licences."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mediasearch.errors import UnknownModelError


@dataclass(frozen=True)
class ModelFile:
    """One file of a model. ``path`` is relative to the model's ``dir``; size in bytes."""

    path: str
    url: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelEntry:
    """A manifest entry. ``dir`` is the folder under the model store root holding its files.

    ``kind`` is "file" (loaders get the single file's path) or "folder" (loaders get
    ``dir``, e.g. a sentence-transformers folder).
    """

    name: str
    library: str
    licence: str
    dir: str
    kind: str
    files: tuple[ModelFile, ...]
    description: str = ""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def manifest_path() -> Path:
    """models/manifest.toml of the source tree, or the copy packaged inside mediasearch."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "models" / "manifest.toml", here.parent / "manifest.toml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("models/manifest.toml not found")


@lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, ModelEntry]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, ModelEntry] = {}
    for raw in data.get("model", []):
        files = tuple(
            ModelFile(path=f["path"], url=f.get("url", ""), sha256=f.get("sha256", ""), size=int(f.get("size", 0)))
            for f in raw.get("files", [])
        )
        entry = ModelEntry(
            name=raw["name"],
            library=raw["library"],
            licence=raw["licence"],
            dir=raw["dir"],
            kind=raw.get("kind", "file"),
            files=files,
            description=raw.get("description", ""),
        )
        out[entry.name] = entry
    return out


def load_manifest(path: Path | None = None) -> dict[str, ModelEntry]:
    return _load(path or manifest_path())


def get_entry(name: str) -> ModelEntry:
    manifest = load_manifest()
    try:
        return manifest[name]
    except KeyError:
        raise UnknownModelError(name, sorted(manifest)) from None
