"""Vector store addresses: where a library keeps its vectors.

- ``local`` (the default): append-only logs in the library folder (docs/STORE.md).
- ``milvus-lite:///abs/path/file.db`` (or ``milvus-lite://relative/file.db``, resolved
  against the current folder): Milvus Lite, embedded in this process.
- ``milvus://host[:port]`` (port 19530 by default): a Milvus server; the token comes
  from ``$MEDIASEARCH_MILVUS_TOKEN`` and is never stored in the address.

Options go in the query string, e.g. ``milvus://db:19530?index=HNSW&M=32&efConstruction=200&ef=64``:
``index`` (the Milvus index type), build parameters (``M``, ``efConstruction``, ``nlist``)
and search parameters (``ef``, ``nprobe``, ``search_list``), plus ``tls=1`` for https
and ``timeout`` (connect timeout, seconds). The canonical text (:attr:`StoreURI.text`)
is what the library remembers in ``library_meta``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from mediasearch.errors import StoreURIError

LOCAL = "local"
LITE = "milvus-lite"
SERVER = "milvus"
DEFAULT_PORT = 19530
#: environment variable holding the Milvus server's token ("user:password" or an API key)
TOKEN_ENV = "MEDIASEARCH_MILVUS_TOKEN"
#: seconds to wait for a Milvus server to answer before giving up (``?timeout=`` overrides)
CONNECT_TIMEOUT_S = 5.0

#: Milvus index types by where they run. Milvus Lite 3.2 builds FLAT (brute force),
#: HNSW, HNSW_SQ, IVF_FLAT and IVF_SQ8 (the last four through faiss-cpu); DISKANN,
#: IVF_PQ and SCANN need a Milvus server.
LITE_INDEXES = ("FLAT", "HNSW", "HNSW_SQ", "IVF_FLAT", "IVF_SQ8")
SERVER_INDEXES = LITE_INDEXES + ("IVF_PQ", "DISKANN", "SCANN", "AUTOINDEX")
_BUILD_KEYS = {"M": int, "efConstruction": int, "nlist": int, "m": int, "nbits": int}
_SEARCH_KEYS = {"ef": int, "nprobe": int, "search_list": int}
_OTHER_KEYS = {"index": str, "tls": int, "timeout": float}


@dataclass(frozen=True)
class StoreURI:
    """A parsed vector store address."""

    scheme: str
    #: the Milvus Lite file (``milvus-lite``), absolute
    path: Path | None = None
    host: str | None = None
    port: int | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return self.scheme == LOCAL

    @property
    def is_lite(self) -> bool:
        return self.scheme == LITE

    @property
    def text(self) -> str:
        """The canonical address (what ``library_meta`` stores; no secrets)."""
        query = f"?{urlencode(sorted(self.options.items()))}" if self.options else ""
        if self.scheme == LOCAL:
            return LOCAL
        if self.scheme == LITE:
            return f"{LITE}://{self.path}{query}"
        return f"{SERVER}://{self.host}:{self.port}{query}"

    def __str__(self) -> str:
        return self.text

    def client_uri(self) -> str:
        """What pymilvus connects to: the ``.db`` path (Lite) or ``http(s)://host:port``."""
        if self.scheme == LITE:
            return str(self.path)
        if self.scheme == SERVER:
            return f"{'https' if self.options.get('tls') == '1' else 'http'}://{self.host}:{self.port}"
        raise ValueError("a local store has no client address")

    def token(self) -> str:
        """The server's token from the environment ("" for none, and for Milvus Lite)."""
        return os.environ.get(TOKEN_ENV, "") if self.scheme == SERVER else ""

    @property
    def connect_timeout_s(self) -> float:
        return float(self.options.get("timeout", CONNECT_TIMEOUT_S))

    @property
    def index_type(self) -> str | None:
        """The Milvus index type asked for in the address (None: the library's default)."""
        return self.options.get("index")

    def build_params(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.options.items() if k in _BUILD_KEYS}

    def search_params(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.options.items() if k in _SEARCH_KEYS}

    def same_store(self, other: "StoreURI") -> bool:
        """The same place (options such as the search effort may differ)."""
        return (self.scheme, self.path, self.host, self.port) == (other.scheme, other.path, other.host, other.port)


def parse_store_uri(text: str | None, *, base: Path | None = None) -> StoreURI:
    """``local`` / ``milvus-lite://...`` / ``milvus://...`` -> StoreURI; StoreURIError otherwise.
    ``base``: the folder relative Milvus Lite paths are resolved against (default: cwd)."""
    raw = (text or LOCAL).strip()
    if raw in (LOCAL, f"{LOCAL}:", f"{LOCAL}://"):
        return StoreURI(LOCAL)
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    try:
        options = _options(parts.query)
    except ValueError as exc:
        raise StoreURIError(raw, str(exc)) from None
    if scheme == LITE:
        path_text = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path_text:
            raise StoreURIError(raw, "no file named")
        path = Path(path_text).expanduser()
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        if path.suffix != ".db":
            raise StoreURIError(raw, "a Milvus Lite file name must end in .db")
        _check_index(raw, options.get("index"), LITE_INDEXES, "Milvus Lite")
        return StoreURI(LITE, path=Path(os.path.abspath(path)), options=options)
    if scheme == SERVER:
        if not parts.hostname:
            raise StoreURIError(raw, "no host named")
        if parts.username or parts.password:
            raise StoreURIError(raw, f"credentials do not belong in the address; set ${TOKEN_ENV}")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise StoreURIError(raw, str(exc)) from None
        _check_index(raw, options.get("index"), SERVER_INDEXES, "a Milvus server")
        return StoreURI(SERVER, host=parts.hostname, port=port, options=options)
    raise StoreURIError(raw, f"unknown scheme {parts.scheme or raw!r}")


def _options(query: str) -> dict[str, str]:
    out: dict[str, str] = {}
    kinds = {**_BUILD_KEYS, **_SEARCH_KEYS, **_OTHER_KEYS}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in kinds:
            raise ValueError(f"unknown option {key!r} (known: {', '.join(sorted(kinds))})")
        try:
            number = kinds[key](value)
        except ValueError:
            raise ValueError(f"option {key}={value!r} is not a number") from None
        if kinds[key] is not str and number <= 0:
            raise ValueError(f"option {key} must be positive")
        out[key] = value.upper() if key == "index" else value
    return out


def _check_index(raw: str, index: str | None, valid: tuple[str, ...], where: str) -> None:
    if index is not None and index not in valid:
        raise StoreURIError(raw, f"{where} has no index type {index!r} (valid: {', '.join(valid)})")
