"""Typed errors of the mediasearch core.

Every error carries the data a caller needs; only the CLI and GUI turn them into
messages (``str(err)`` gives a one-line message suitable for both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


class MediaSearchError(Exception):
    """Base class of every error the core raises on purpose."""


class CancelledError(MediaSearchError):
    """Long work was cancelled through a CancelToken."""

    def __init__(self, what: str = "operation") -> None:
        self.what = what
        super().__init__(f"{what} cancelled")


class UnsupportedMediaError(MediaSearchError):
    """A file is not media we can index (unknown format, no usable stream...)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DecodeError(MediaSearchError):
    """A file looks like supported media but could not be decoded."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: cannot decode: {reason}")


class UnknownEncoderError(MediaSearchError):
    """An encoder name is not in the registry."""

    def __init__(self, name: str, valid: Sequence[str]) -> None:
        self.name = name
        self.valid = list(valid)
        super().__init__(f"unknown encoder {name!r}; valid encoders: {', '.join(self.valid)}")


class EncoderCapabilityError(MediaSearchError):
    """An encoder was asked for a modality it does not support (e.g. text on ResNet50)."""

    def __init__(self, name: str, modality: str, supported: Sequence[str]) -> None:
        self.name = name
        self.modality = modality
        self.supported = list(supported)
        super().__init__(
            f"encoder {name!r} cannot embed {modality} queries (it supports: {', '.join(self.supported)})"
        )


class ModelUnavailableError(MediaSearchError):
    """Weights an encoder needs are not installed (or are corrupt)."""

    def __init__(self, name: str, how_to_get_it: str, *, encoder: str | None = None) -> None:
        self.name = name
        self.encoder = encoder
        self.how_to_get_it = how_to_get_it
        who = f"encoder {encoder!r} needs model {name!r}" if encoder else f"model {name!r} is not installed"
        super().__init__(f"{who}: {how_to_get_it}")


class UnknownModelError(MediaSearchError):
    """A model name is not in the weights manifest."""

    def __init__(self, name: str, valid: Sequence[str]) -> None:
        self.name = name
        self.valid = list(valid)
        super().__init__(f"unknown model {name!r}; valid models: {', '.join(self.valid)}")


class ChecksumMismatchError(MediaSearchError):
    """A file's sha256 differs from the manifest's."""

    def __init__(self, path: Path | str, expected: str, actual: str) -> None:
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        super().__init__(f"{self.path}: sha256 mismatch (expected {expected}, got {actual})")


class DownloadError(MediaSearchError):
    """A download failed (server error, refused connection, offline...)."""

    def __init__(self, url: str, reason: str, *, offline: bool = False) -> None:
        self.url = url
        self.reason = reason
        self.offline = offline
        super().__init__(f"download of {url} failed: {reason}")


class CatalogError(MediaSearchError):
    """The catalog database is unusable (newer schema, corrupt file...)."""

    def __init__(self, message: str, *, path: Path | str | None = None, cause: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.cause = cause
        super().__init__(message)


class LibraryLockedError(MediaSearchError):
    """Another process (or another task in this one) is writing to the library.

    ``holder``: what the lock file says of the writer (pid, command, since, host), or {}.
    """

    def __init__(self, library_dir: Path | str, holder: dict) -> None:
        self.library_dir = Path(library_dir)
        self.holder = dict(holder)
        who = describe_holder(self.holder)
        super().__init__(
            f"{self.library_dir} is being written by {who}; wait for it to finish, "
            "or run again with --wait to queue behind it"
        )


def describe_holder(holder: dict) -> str:
    """'pid 123 (mediasearch index ~/Pictures) since 14:02:11' from a lock file's record."""
    import time as _time

    if not holder:
        return "another process"
    parts = [f"pid {holder.get('pid', '?')}"]
    if holder.get("command"):
        parts.append(f"({holder['command']})")
    if holder.get("host"):
        parts.append(f"on {holder['host']}")
    if holder.get("since"):
        parts.append("since " + _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(float(holder["since"]))))
    return " ".join(parts)


class ReadOnlyLibraryError(MediaSearchError):
    """A write was attempted through a library opened for reading only."""


class IndexCorruptError(MediaSearchError):
    """A vector index file could not be read."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: vector index unreadable: {reason}")


class QueryError(MediaSearchError):
    """A search or saved query cannot be run as asked."""


class NotFoundError(MediaSearchError):
    """A named thing (saved query, asset, path) does not exist."""

    def __init__(self, what: str, key: object) -> None:
        self.what = what
        self.key = key
        super().__init__(f"no {what} {key!r}")


class InputPathError(MediaSearchError):
    """Paths the user named do not exist (``index /no/such/path``); nothing was done."""

    def __init__(self, paths: Sequence[Path | str]) -> None:
        self.paths = [str(p) for p in paths]  # as typed: Path("") would read "."
        shown = ", ".join(p or "''" for p in self.paths[:3]) + (f" and {len(self.paths) - 3} more" if len(self.paths) > 3 else "")
        super().__init__(f"no such file or folder: {shown}; check the path (nothing was indexed)")


class NotMediaError(UnsupportedMediaError):
    """A file that is not media at all (README.md, LICENSE, .json, a PDF): counted as "not media", not as a failure.

    A subclass of UnsupportedMediaError, so code that skips unsupported files keeps working;
    ``isinstance(err, NotMediaError)`` tells it apart from damaged or unsupported media.
    """


class UnknownTextModelError(MediaSearchError):
    """A transcript text model name is neither in the table nor ``openai:MODEL``."""

    def __init__(self, name: str, valid: Sequence[str]) -> None:
        self.name = name
        self.valid = list(valid)
        super().__init__(f"unknown text model {name!r}; choose one of {', '.join(self.valid)} (or openai:ANY-MODEL)")


class ApiOptInRequiredError(MediaSearchError):
    """An API text model was chosen without the explicit opt-in (transcripts would leave the machine)."""

    def __init__(self, model: str, endpoint: str) -> None:
        self.model = model
        self.endpoint = endpoint
        super().__init__(
            f"{model} sends every transcript to {endpoint}, off this machine; "
            "add --allow-api (or set MEDIASEARCH_ALLOW_API=1) to agree, or pick a self-hosted --text-model"
        )


class EmbeddingApiError(MediaSearchError):
    """An embeddings endpoint answered with an error (or not at all). ``status``: the HTTP
    status (None when no answer came: timeout, refused connection); ``server_message``: what
    the server said; ``attempts``: how many requests were made."""

    def __init__(self, url: str, status: int | None, server_message: str, *, attempts: int = 1) -> None:
        self.url = url
        self.status = status
        self.server_message = server_message
        self.attempts = attempts
        what = f"HTTP {status}" if status is not None else "no answer"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"embeddings endpoint {url}: {what}{tries}: {server_message}")


class EmbeddingApiAuthError(EmbeddingApiError):
    """The endpoint refused the key (HTTP 401/403), or no key was set (``status`` None)."""

    def __init__(self, url: str, status: int | None, server_message: str, *, key_env: str = "OPENAI_API_KEY") -> None:
        super().__init__(url, status, server_message)
        self.key_env = key_env
        code = f" (HTTP {status})" if status is not None else ""
        self.args = (f"embeddings endpoint {url} refused the API key{code}: {server_message}; check {key_env}",)


class ExtraNotInstalledError(MediaSearchError):
    """An optional feature needs packages that are not installed; ``extra``: the package
    extra that brings them (``pip install 'mediasearch[EXTRA]'``), ``missing``: the module."""

    def __init__(self, feature: str, extra: str, missing: str) -> None:
        self.feature = feature
        self.extra = extra
        self.missing = missing
        super().__init__(f"{feature} needs {missing}, which is not installed: pip install 'mediasearch[{extra}]'")


class ClusterError(MediaSearchError):
    """A compute cluster (Ray) could not be started or reached, or lost its workers.
    ``address``: what was asked for (None: a local cluster); ``reason``: what went wrong."""

    def __init__(self, address: str | None, reason: str) -> None:
        self.address = address
        self.reason = reason
        where = f"Ray cluster at {address}" if address else "local Ray cluster"
        super().__init__(f"{where}: {reason}")


class StoreURIError(MediaSearchError, ValueError):
    """A ``--store`` / ``--to`` value that is not a vector store address."""

    def __init__(self, uri: str, reason: str) -> None:
        self.uri = uri
        self.reason = reason
        super().__init__(
            f"not a vector store address: {uri!r} ({reason}); use local, milvus-lite:///path/to/file.db "
            "or milvus://host:19530"
        )


class VectorStoreUnavailableError(MediaSearchError):
    """The library's vector store (a Milvus server or Milvus Lite file) cannot be reached or opened."""

    def __init__(self, uri: str, reason: str, *, hint: str = "") -> None:
        self.uri = uri
        self.reason = reason
        self.hint = hint
        super().__init__(f"vector store {uri} unavailable: {reason}" + (f"; {hint}" if hint else ""))


class StoreMismatchError(MediaSearchError):
    """A command asked for one vector store, the library keeps its vectors in another."""

    def __init__(self, library_dir: Path | str, stored: str, asked: str) -> None:
        self.library_dir = Path(library_dir)
        self.stored = stored
        self.asked = asked
        super().__init__(
            f"this library keeps its vectors in {stored}, not {asked}; "
            f"to move them run `mediasearch store migrate --to {asked}`"
        )


class MigrationVerifyError(MediaSearchError):
    """A store migration copied the vectors but they do not check out; the library was not switched."""

    def __init__(self, target: str, encoder: str, reason: str) -> None:
        self.target = target
        self.encoder = encoder
        self.reason = reason
        super().__init__(
            f"migration to {target} not switched: {encoder}: {reason}; the library still uses its old store "
            "(run the migration again to retry)"
        )


class EncoderEntryError(MediaSearchError):
    """An encoders.toml entry cannot be registered. ``path``: the file; ``name``: the entry ("" for the whole file)."""

    def __init__(self, path: Path | str, name: str, reason: str) -> None:
        self.path = Path(path)
        self.name = name
        self.reason = reason
        where = f"{self.path}" + (f", entry {name!r}" if name else "")
        super().__init__(f"{where}: {reason}")
