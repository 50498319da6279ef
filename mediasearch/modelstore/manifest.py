"""Reading models/manifest.toml: every model's files, sources, sizes, checksums, licences.

Each file names its official source, either ``url`` or ``hub = {repo, file, revision}``
(a Hugging Face repository pinned to a commit), and how its content is checked. The
accepted integrity forms, exactly:

- ``sha256``: the full hex digest (64 hex digits). Preferred.
- ``md5``: the digest the publisher lists (Zenodo records list md5); checked as well as
  ``sha256`` when both are given.
- ``sha256_prefix``: the leading hex digits (8 or more) of the sha256, as torchvision's
  file names carry, when no full digest is known.
- ``tofu = true`` (trust on first use): no published digest could be found; the sha256
  of the first copy installed (pulled or imported) is recorded in the store and
  ``models verify`` checks later against that record. ``size`` may then be omitted.

``alternatives`` lists other files accepted in place of the official one, each with
``sha256``, ``size`` and a ``note`` saying what it is (for example a checkpoint
converted from another official export); they are accepted by ``models import`` and
reported by ``models list``, never downloaded. ``bundled`` names a copy kept next to
the manifest (relative to its folder) that ``models pull`` installs without a network.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from mediasearch.errors import UnknownModelError
from mediasearch.modelstore.errors import ManifestError

logger = logging.getLogger(__name__)

HUB_URL = "https://huggingface.co/{repo}/resolve/{revision}/{file}"
NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
MD5_RE = re.compile(r"^[0-9a-f]{32}$")
PREFIX_RE = re.compile(r"^[0-9a-f]{8,63}$")
KINDS = ("file", "folder")
ENTRY_KEYS = {"name", "library", "licence", "dir", "kind", "description", "files"}
FILE_KEYS = {"path", "url", "hub", "bundled", "size", "sha256", "md5", "sha256_prefix", "tofu", "alternatives", "note"}


@dataclass(frozen=True)
class HubSource:
    """A file in a Hugging Face repository, pinned to ``revision`` (a commit hash or "main")."""

    repo: str
    file: str
    revision: str

    @property
    def url(self) -> str:
        return HUB_URL.format(repo=self.repo, revision=self.revision, file=self.file)


@dataclass(frozen=True)
class Alternative:
    """Another file accepted in place of the official one (e.g. a converted checkpoint)."""

    sha256: str
    size: int
    note: str


@dataclass(frozen=True)
class ModelFile:
    """One file of a model. ``path`` is relative to the model's ``dir``; ``size`` in bytes (0: unknown)."""

    path: str
    url: str = ""
    sha256: str = ""
    size: int = 0
    md5: str = ""
    sha256_prefix: str = ""
    tofu: bool = False
    hub: HubSource | None = None
    bundled: str = ""
    alternatives: tuple[Alternative, ...] = ()
    note: str = ""

    @property
    def source_url(self) -> str:
        """Where ``models pull`` fetches the official file."""
        return self.url or (self.hub.url if self.hub else "")

    @property
    def expected(self) -> str:
        """The strongest published digest, for messages ("sha256:..."), or "" when trusted on first use."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.md5:
            return f"md5:{self.md5}"
        if self.sha256_prefix:
            return f"sha256:{self.sha256_prefix}..."
        return ""

    def accepted_sizes(self) -> set[int]:
        return {s for s in [self.size, *(a.size for a in self.alternatives)] if s}

    def alternative_for(self, sha256: str) -> Alternative | None:
        return next((a for a in self.alternatives if a.sha256 == sha256), None)


@dataclass(frozen=True)
class ModelEntry:
    """A manifest entry. ``dir`` is the folder under the model store root holding its files.

    ``kind`` is "file" (loaders get the single file's path) or "folder" (loaders get
    ``dir``, e.g. a sentence-transformers folder). ``library`` is what loads it.
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
        """Bytes of the official files whose size is known."""
        return sum(f.size for f in self.files)

    def file(self, path: str) -> ModelFile:
        return next(f for f in self.files if f.path == path)


def manifest_path() -> Path:
    """models/manifest.toml of the source tree, or the copy packaged inside mediasearch."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "models" / "manifest.toml", here.parent / "manifest.toml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("models/manifest.toml not found")


def validate(data: Mapping[str, Any]) -> list[str]:
    """Schema problems of a parsed manifest (empty when valid)."""
    problems: list[str] = []
    models = data.get("model")
    if not isinstance(models, list) or not models:
        return ["no [[model]] entries"]
    seen: set[str] = set()
    for i, raw in enumerate(models):
        name = raw.get("name", f"#{i}")
        where = f"model {name!r}"
        if not isinstance(raw.get("name"), str) or not NAME_RE.match(raw["name"]):
            problems.append(f"{where}: name must be lowercase and hyphenated")
        if name in seen:
            problems.append(f"{where}: duplicate name")
        seen.add(name)
        for key in ("library", "licence", "dir"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                problems.append(f"{where}: missing {key}")
        if raw.get("kind", "file") not in KINDS:
            problems.append(f"{where}: kind must be one of {KINDS}")
        if unknown := set(raw) - ENTRY_KEYS:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        files = raw.get("files")
        if not isinstance(files, list) or not files:
            problems.append(f"{where}: no [[model.files]]")
            continue
        if raw.get("kind", "file") == "file" and len(files) != 1:
            problems.append(f"{where}: kind 'file' needs exactly one file")
        paths = [f.get("path") for f in files]
        if len(set(paths)) != len(paths):
            problems.append(f"{where}: duplicate file paths")
        for f in files:
            problems.extend(f"{where} file {f.get('path')!r}: {p}" for p in _file_problems(f))
    return problems


def _file_problems(f: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    path = f.get("path")
    if not isinstance(path, str) or not path or path.startswith("/") or ".." in Path(path).parts:
        problems.append("path must be a relative path inside the model's dir")
    if unknown := set(f) - FILE_KEYS:
        problems.append(f"unknown keys {sorted(unknown)}")
    hub = f.get("hub")
    if bool(f.get("url")) == bool(hub):
        problems.append("needs exactly one source: url or hub")
    if hub is not None and (not isinstance(hub, dict) or not all(isinstance(hub.get(k), str) and hub[k] for k in ("repo", "file", "revision"))):
        problems.append("hub needs repo, file and revision")
    url = f.get("url") or ""
    if url and not url.startswith(("https://", "http://")):
        problems.append("url must be http(s)")
    digests = [k for k in ("sha256", "md5", "sha256_prefix") if f.get(k)]
    tofu = f.get("tofu", False)
    if tofu is not True and tofu is not False:
        problems.append("tofu must be true or false")
    if tofu and digests:
        problems.append("tofu excludes published digests")
    if not tofu and not digests:
        problems.append("needs sha256, md5 or sha256_prefix (or tofu = true)")
    for key, pattern in (("sha256", SHA256_RE), ("md5", MD5_RE), ("sha256_prefix", PREFIX_RE)):
        if f.get(key) and not pattern.match(str(f[key])):
            problems.append(f"{key} is not lowercase hex of the right length")
    size = f.get("size", 0)
    if not isinstance(size, int) or size < 0 or (size == 0 and not tofu):
        problems.append("size must be a positive integer (it may be omitted only with tofu)")
    for alt in f.get("alternatives", []):
        if not SHA256_RE.match(str(alt.get("sha256", ""))) or not isinstance(alt.get("size"), int) or alt["size"] <= 0:
            problems.append("each alternative needs sha256 and size")
        if not alt.get("note"):
            problems.append("each alternative needs a note saying what it is")
    return problems


def parse(data: Mapping[str, Any], *, origin: Path | str = "<manifest>") -> dict[str, ModelEntry]:
    """Entries of a parsed manifest, validated; raises ManifestError listing every problem."""
    problems = validate(data)
    if problems:
        raise ManifestError(origin, problems)
    out: dict[str, ModelEntry] = {}
    for raw in data["model"]:
        files = tuple(_parse_file(f) for f in raw["files"])
        out[raw["name"]] = ModelEntry(
            name=raw["name"],
            library=raw["library"],
            licence=raw["licence"],
            dir=raw["dir"],
            kind=raw.get("kind", "file"),
            files=files,
            description=raw.get("description", ""),
        )
    return out


def _parse_file(f: Mapping[str, Any]) -> ModelFile:
    hub = HubSource(**f["hub"]) if f.get("hub") else None
    return ModelFile(
        path=f["path"],
        url=f.get("url", ""),
        sha256=f.get("sha256", ""),
        size=int(f.get("size", 0)),
        md5=f.get("md5", ""),
        sha256_prefix=f.get("sha256_prefix", ""),
        tofu=bool(f.get("tofu", False)),
        hub=hub,
        bundled=f.get("bundled", ""),
        alternatives=tuple(Alternative(a["sha256"], int(a["size"]), a["note"]) for a in f.get("alternatives", [])),
        note=f.get("note", ""),
    )


@lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, ModelEntry]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = parse(data, origin=path)
    logger.debug("loaded %d manifest entries from %s", len(entries), path)
    return entries


def load_manifest(path: Path | None = None) -> dict[str, ModelEntry]:
    """Every model of the weights manifest, by name (validated, cached)."""
    return _load(Path(path) if path else manifest_path())


def bundled_path(file: ModelFile, manifest: Path | None = None) -> Path | None:
    """The copy of ``file`` kept next to the manifest, if it has one and it exists."""
    if not file.bundled:
        return None
    candidate = (Path(manifest) if manifest else manifest_path()).parent / file.bundled
    return candidate if candidate.is_file() else None


def get_entry(name: str) -> ModelEntry:
    manifest = load_manifest()
    try:
        return manifest[name]
    except KeyError:
        raise UnknownModelError(name, sorted(manifest)) from None
