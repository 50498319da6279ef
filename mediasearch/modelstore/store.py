"""The installed-weights folder: where each model lives, its status, and installing it.

Layout: ``<root>/<entry.dir>/<file.path>``, the layout loaders read directly (and the
layout of a plain copy of the official files, so such a folder works as a read-only model store as is).
Installs write ``<file>.part`` first and ``os.replace`` it into place once checked;
how each file was accepted is recorded in ``<root>/.mediasearch/installed.json``.
Nothing is written anywhere else: not the code tree, not the Hugging Face cache.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable, Iterable, Mapping

from mediasearch.errors import ModelUnavailableError, UnknownModelError
from mediasearch.modelstore.errors import DownloadChecksumError, ImportChecksumError, ModelStoreError
from mediasearch.modelstore.integrity import CHUNK, Digests, Verdict, hash_file, judge
from mediasearch.modelstore.manifest import ModelEntry, ModelFile, bundled_path, load_manifest, manifest_path
from mediasearch.modelstore.records import FileRecord, Records
from mediasearch.progress import CancelToken, Progress, ProgressCallback

logger = logging.getLogger(__name__)

MIRROR_ENV = "MEDIASEARCH_MODEL_MIRROR"


class Status(str, Enum):
    """A model's state in the store (cheap to compute: sizes and records, no hashing)."""

    PRESENT = "present"
    MISSING = "missing"
    PARTIAL = "partial"
    CORRUPT = "corrupt"


@dataclass(frozen=True)
class FileState:
    """One file on disk. ``state``: ok | unverified | missing | part | size-mismatch | hash-mismatch.

    ``size``: bytes on disk (of the ``.part`` file for "part"); ``accepted``: how it was
    installed, from the record ("" when unrecorded); ``note``: the alternative's note.
    """

    path: str
    state: str
    size: int = 0
    accepted: str = ""
    note: str = ""


@dataclass(frozen=True)
class ModelStatus:
    """A model's status and the state of each of its files."""

    name: str
    status: Status
    files: tuple[FileState, ...]

    @property
    def size_on_disk(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def forced(self) -> bool:
        return any(f.accepted == "forced" for f in self.files)

    @property
    def notes(self) -> list[str]:
        return sorted({f.note for f in self.files if f.note})

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "status": self.status.value,
            "size_on_disk": self.size_on_disk,
            "forced": self.forced,
            "notes": self.notes,
            "files": [vars(f) for f in self.files],
        }


@dataclass(frozen=True)
class FileCheck:
    """``verify``'s finding for one file. ``result``: ok | unverified | missing | mismatch."""

    name: str
    path: str
    result: str
    accepted: str = ""
    expected: str = ""
    actual: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.result in ("ok", "unverified")


def how_to_get(name: str, status: Status = Status.MISSING) -> str:
    """The one-line advice a missing/partial/corrupt model's error carries."""
    commands = f"`mediasearch models pull {name}` (internet) or `mediasearch models import {name} PATH` (offline)"
    if status is Status.PARTIAL:
        return f"it is only partly installed; run {commands}"
    if status is Status.CORRUPT:
        return f"its files do not match the manifest (see `mediasearch models verify {name}`); reinstall with {commands}"
    return f"run {commands}"


def needed_by(name: str) -> list[str]:
    """Names of the registered encoders that need model ``name``."""
    from mediasearch.encoders.registry import REGISTRY  # deferred: the registry imports numpy

    return [spec.name for spec in REGISTRY.values() if name in spec.models]


@dataclass
class _Staged:
    """A file copied or downloaded next to its destination, checked, not yet in place."""

    file: ModelFile
    part: Path
    dest: Path
    record: FileRecord
    in_place: bool = field(default=False)


class ModelStore:
    """Weights under ``root`` laid out as ``root/<entry.dir>/<file.path>``, a layout loaders read directly.

    ``manifest`` defaults to models/manifest.toml; tests and tools may pass their own
    entries (``manifest_file`` then locates bundled copies).
    """

    def __init__(
        self, root: Path, *, manifest: Mapping[str, ModelEntry] | None = None, manifest_file: Path | None = None
    ) -> None:
        self.root = Path(root)
        self._manifest = dict(manifest) if manifest is not None else None
        self._manifest_file = manifest_file
        self.records = Records(self.root)

    # -- looking things up -------------------------------------------------------------

    @property
    def manifest(self) -> dict[str, ModelEntry]:
        if self._manifest is None:
            self._manifest = load_manifest(self._manifest_file)
        return self._manifest

    def names(self) -> list[str]:
        return list(self.manifest)

    def entry(self, name: str) -> ModelEntry:
        try:
            return self.manifest[name]
        except KeyError:
            raise UnknownModelError(name, sorted(self.manifest)) from None

    def path(self, name: str) -> Path:
        """Where the loader should look: the single file, or the model's folder."""
        entry = self.entry(name)
        if entry.kind == "file" and len(entry.files) == 1:
            return self.root / entry.dir / entry.files[0].path
        return self.root / entry.dir

    def file_path(self, entry: ModelEntry, file: ModelFile) -> Path:
        return self.root / entry.dir / file.path

    # -- status -------------------------------------------------------------------------

    def status(self, name: str) -> ModelStatus:
        """Present, missing, partial or corrupt, from sizes and install records (no hashing)."""
        entry = self.entry(name)
        records = self.records.model(name)
        files = tuple(self._file_state(f, self.file_path(entry, f), records.get(f.path)) for f in entry.files)
        states = {f.state for f in files}
        if states & {"size-mismatch", "hash-mismatch"}:
            status = Status.CORRUPT
        elif states <= {"ok", "unverified"}:
            status = Status.PRESENT
        elif states == {"missing"}:
            status = Status.MISSING
        else:
            status = Status.PARTIAL
        return ModelStatus(name, status, files)

    def statuses(self) -> list[ModelStatus]:
        return [self.status(name) for name in self.manifest]

    def is_present(self, name: str) -> bool:
        """Every file is there with an accepted size and record (cheap; `verify` re-hashes)."""
        return self.status(name).status is Status.PRESENT

    @staticmethod
    def _file_state(file: ModelFile, dest: Path, record: FileRecord | None) -> FileState:
        if not dest.is_file():
            part = _part(dest)
            if part.is_file():
                return FileState(file.path, "part", part.stat().st_size)
            return FileState(file.path, "missing")
        size = dest.stat().st_size
        if record is not None:
            if record.size != size:
                return FileState(file.path, "size-mismatch", size, record.accepted, record.note)
            if not (record.forced or _record_acceptable(file, record)):
                return FileState(file.path, "hash-mismatch", size, record.accepted, record.note)
            return FileState(file.path, "ok", size, record.accepted, record.note)
        if size in file.accepted_sizes():
            note = next((a.note for a in file.alternatives if a.size == size and size != file.size), "")
            return FileState(file.path, "ok", size, "", note)
        if not file.size:  # trusted on first use, installed without a record: nothing to compare
            return FileState(file.path, "unverified", size)
        return FileState(file.path, "size-mismatch", size)

    def require(
        self,
        name: str,
        *,
        encoder: str | None = None,
        allow_download: bool = False,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Path:
        """The model's path, or ModelUnavailableError naming the pull/import command.

        With ``allow_download`` a model that is not present is pulled first.
        """
        status = self.status(name).status
        if status is not Status.PRESENT and allow_download:
            status = self.pull(name, progress=progress, cancel=cancel).status
        if status is not Status.PRESENT:
            raise ModelUnavailableError(name, how_to_get(name, status), encoder=encoder)
        return self.path(name)

    # -- pull ---------------------------------------------------------------------------

    def pull(
        self,
        name: str,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        mirror: str | None = None,
        timeout_s: float = 30.0,
        attempts: int = 3,
        backoff_s: float = 1.0,
    ) -> ModelStatus:
        """Download what is missing, partial or corrupt of ``name``, verify it, install it.

        Files come from their official source, or ``<mirror>/<entry.dir>/<file.path>``
        when a mirror is given (or set in ``MEDIASEARCH_MODEL_MIRROR``): a server laid
        out like a model store. Files with a bundled copy are installed from it.
        Raises DownloadError (``offline=True`` when nothing could be reached),
        DownloadChecksumError (the partial file is deleted), CancelledError (the
        partial file is kept and the next pull resumes it).
        """
        from mediasearch.modelstore.download import fetch  # deferred: network code

        entry = self.entry(name)
        mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
        records = self.records.model(name)
        try:
            for file in entry.files:
                dest = self.file_path(entry, file)
                state = self._file_state(file, dest, records.get(file.path))
                if state.state in ("ok", "unverified") and state.accepted != "forced":
                    continue
                local = bundled_path(file, self._manifest_file or manifest_path())
                if local is not None:
                    staged = self._stage_copy(name, file, local, dest, force=False, origin=f"bundled copy {local}")
                    self._commit(name, [staged])
                    continue
                url = _join(mirror, entry.dir, file.path) if mirror else file.source_url
                part = _part(dest)
                fetch(
                    url,
                    part,
                    # alternatives may differ in size; their content is judged after the transfer
                    expected_size=0 if file.alternatives else file.size,
                    progress=progress,
                    cancel=cancel,
                    label=f"{name}/{file.path}",
                    timeout_s=timeout_s,
                    attempts=attempts,
                    backoff_s=backoff_s,
                    offline_hint=(
                        f"if this machine has no internet, copy the file from one that has and run "
                        f"`mediasearch models import {name} PATH`"
                    ),
                )
                digests = hash_file(part, on_chunk=_reporter(progress, "verify", f"{name}/{file.path}", part))
                verdict = judge(file, digests)
                if not verdict.ok:
                    part.unlink(missing_ok=True)
                    raise DownloadChecksumError(part, verdict.expected, verdict.actual, url=url)
                record = _record(verdict, digests, source=url)
                self._commit(name, [_Staged(file, part, dest, record)])
                logger.info("installed %s/%s from %s (%s)", name, file.path, url, verdict.how)
        except OSError as exc:
            raise ModelStoreError(f"cannot install {name!r} into {self.root}: {exc}") from exc
        return self.status(name)

    # -- import -------------------------------------------------------------------------

    def import_(
        self, name: str, src: Path | str, *, force: bool = False, progress: ProgressCallback | None = None
    ) -> ModelStatus:
        """Install ``name`` from a local file or folder, checking every file against the manifest.

        A folder may hold the files as the model's own folder does (``src/<file.path>``)
        or be a whole model store (``src/<entry.dir>/<file.path>``). A file whose content
        matches neither the manifest nor an accepted alternative is refused (nothing is
        installed) unless ``force``; it is then installed and recorded as forced. Files
        trusted on first use have their hash recorded.
        """
        entry = self.entry(name)
        sources = self._import_sources(entry, Path(src).expanduser())
        staged: list[_Staged] = []
        try:
            for file in entry.files:
                source = sources[file.path]
                staged.append(
                    self._stage_copy(
                        name, file, source, self.file_path(entry, file), force=force, origin=str(source), progress=progress
                    )
                )
            self._commit(name, staged)
        except OSError as exc:
            raise ModelStoreError(f"cannot install {name!r} into {self.root}: {exc}") from exc
        finally:
            for item in staged:
                if not item.in_place and item.part != item.dest:
                    item.part.unlink(missing_ok=True)
        return self.status(name)

    def _import_sources(self, entry: ModelEntry, src: Path) -> dict[str, Path]:
        if src.is_file():
            if len(entry.files) != 1:
                raise ModelStoreError(
                    f"model {entry.name!r} has {len(entry.files)} files; import the folder that holds them"
                )
            return {entry.files[0].path: src}
        if not src.is_dir():
            raise ModelStoreError(f"{src}: no such file or folder")
        found: dict[str, Path] = {}
        for file in entry.files:
            for candidate in (src / file.path, src / entry.dir / file.path):
                if candidate.is_file():
                    found[file.path] = candidate
                    break
        missing = [f.path for f in entry.files if f.path not in found]
        if missing:
            raise ModelStoreError(f"{src}: model {entry.name!r} needs {', '.join(missing)}, not found there")
        return found

    def _stage_copy(
        self,
        name: str,
        file: ModelFile,
        source: Path,
        dest: Path,
        *,
        force: bool,
        origin: str,
        progress: ProgressCallback | None = None,
    ) -> _Staged:
        """Copy ``source`` to ``dest``'s part file while hashing it, and judge it."""
        label = f"{name}/{file.path}"
        same = dest.exists() and source.resolve() == dest.resolve()
        if same:  # importing a store onto itself: check and record only
            part = dest
            digests = hash_file(dest, on_chunk=_reporter(progress, "verify", label, dest))
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            part = _part(dest)
            try:
                digests = _copy_hashing(source, part, _reporter(progress, "import", label, source))
            except BaseException:
                part.unlink(missing_ok=True)
                raise
        verdict = judge(file, digests)
        if not verdict.ok:
            if not force:
                if not same:
                    part.unlink(missing_ok=True)
                raise ImportChecksumError(source, verdict.expected, verdict.actual, name=name)
            logger.warning("installing %s from %s despite its checksum (forced)", label, source)
        record = _record(verdict, digests, source=origin, forced=not verdict.ok)
        return _Staged(file, part, dest, record)

    # -- verify -------------------------------------------------------------------------

    def verify(self, names: Iterable[str] | None = None, *, progress: ProgressCallback | None = None) -> list[FileCheck]:
        """Re-hash installed files against the manifest and install records.

        ``names`` defaults to every model with at least one file installed.
        """
        if names is None:
            names = [n for n in self.manifest if self.status(n).status is not Status.MISSING]
        checks: list[FileCheck] = []
        for name in names:
            entry = self.entry(name)
            records = self.records.model(name)
            for file in entry.files:
                dest = self.file_path(entry, file)
                if not dest.is_file():
                    checks.append(FileCheck(name, file.path, "missing", expected=file.expected))
                    continue
                digests = hash_file(dest, on_chunk=_reporter(progress, "verify", f"{name}/{file.path}", dest))
                checks.append(_check(name, file, digests, records.get(file.path)))
        return checks

    # -- installing ---------------------------------------------------------------------

    def _commit(self, name: str, staged: list[_Staged]) -> None:
        """Move checked files into place (atomic per file) and record them."""
        for item in staged:
            self.records.forget(name, item.file.path)
            if item.part != item.dest:
                os.replace(item.part, item.dest)
                _fsync_dir(item.dest.parent)
            item.in_place = True
            self.records.put(name, item.file.path, item.record)



def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _join(mirror: str, *parts: str) -> str:
    from urllib.parse import quote

    return mirror.rstrip("/") + "/" + "/".join(quote(p.strip("/")) for p in parts)


def _record(verdict: Verdict, digests: Digests, *, source: str, forced: bool = False) -> FileRecord:
    if forced:
        note = f"forced install; the manifest expects {verdict.expected or 'another file'}"
        return FileRecord(digests.sha256, digests.size, "forced", source, note)
    return FileRecord(digests.sha256, digests.size, verdict.how, source, verdict.note)


def _record_acceptable(file: ModelFile, record: FileRecord) -> bool:
    """Whether a recorded hash is still accepted by the (possibly updated) manifest entry."""
    if file.tofu:
        return True
    if file.alternative_for(record.sha256) is not None:
        return True
    if file.sha256:
        return record.sha256 == file.sha256
    if file.sha256_prefix and not record.sha256.startswith(file.sha256_prefix):
        return False
    return record.accepted == "manifest"  # md5-only entries: trust the check made at install


def _check(name: str, file: ModelFile, digests: Digests, record: FileRecord | None) -> FileCheck:
    verdict = judge(file, digests)
    actual = f"sha256:{digests.sha256}"
    if verdict.how == "first-use":
        if record is None:
            return FileCheck(name, file.path, "unverified", "", "", actual, "no published checksum and no install record")
        result = "ok" if record.sha256 == digests.sha256 else "mismatch"
        return FileCheck(name, file.path, result, record.accepted, f"sha256:{record.sha256}", actual, record.note)
    if verdict.ok:
        return FileCheck(name, file.path, "ok", verdict.how, verdict.expected, verdict.actual, verdict.note)
    if record is not None and record.forced and record.sha256 == digests.sha256:
        return FileCheck(name, file.path, "ok", "forced", f"sha256:{record.sha256}", actual, record.note)
    expected = f"sha256:{record.sha256}" if record is not None and record.forced else verdict.expected
    return FileCheck(name, file.path, "mismatch", record.accepted if record else "", expected, verdict.actual)


def _copy_hashing(source: Path, part: Path, on_chunk: Callable[[int], None] | None) -> Digests:
    digests = Digests()
    with open(source, "rb") as src, open(part, "wb") as out:
        while chunk := src.read(CHUNK):
            out.write(chunk)
            digests.update(chunk)
            if on_chunk:
                on_chunk(digests.size)
        out.flush()
        os.fsync(out.fileno())
    return digests


def _reporter(
    progress: ProgressCallback | None, stage: str, label: str, path: Path
) -> Callable[[int], None] | None:
    """An ``on_chunk(bytes_done)`` that reports byte progress at most ten times a second."""
    if progress is None:
        return None
    total = path.stat().st_size
    started = time.monotonic()
    last = [0.0]

    def on_chunk(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.1 or done >= total:
            last[0] = now
            progress(Progress(stage, done, total, label, "B", now - started))

    return on_chunk


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
