"""A resident local query service (``mediasearch serve``) and the client ``search`` uses.

The service keeps encoders loaded (``load_encoder`` caches them per process) and gives
each worker thread its own read-only :class:`~mediasearch.library.Library` (SQLite
connections belong to one thread). ``Library.index`` catches up with the catalog on
every call, so answers follow a running index job. The service never writes to the
library except its own ``serve.json``.

Protocol: HTTP/1.0 and JSON; every request carries ``Authorization: Bearer TOKEN``.

- ``GET /health`` -> ``{"ok": true, "pid", "library", "requests", "searches", "warm"}``
- ``POST /search`` with ``{"text" | "image" | "audio" (a path on this machine), "start",
  "end", "encoder", "k", "kind", "group"}`` -> exactly the list ``search --json`` prints.
  With ``"detail": true``: ``{"hits": that list, "raw": [{"score", "asset_id", "labels",
  "frames"}]}``, the unrounded values and grouped frames, so a client (the CLI, the GUI)
  rebuilds the same :class:`Hit` objects.
- ``POST /shutdown`` -> ``{"ok": true}``, then the service stops (as on SIGINT/SIGTERM).
- Errors: ``{"error": "one line"}`` with 401 (no or wrong token), 404, 400 (a bad request,
  QueryError, any MediaSearchError) or 500 (anything else; the traceback goes to the log).

Discovery: at start the service writes ``<library>/serve.json`` (mode 0600: url, port,
pid, token and the settings it answers with) and removes it on exit. The standard
library only is imported here at module level, so the client costs nothing to import.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import queue
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings
    from mediasearch.media import Hit, MediaKind
    from mediasearch.search import Query

log = logging.getLogger(__name__)

SERVICE_FILE = "serve.json"
#: how long ``search`` waits for /health before searching in-process (seconds)
HEALTH_TIMEOUT_S = 0.5
#: how long a client waits for a search answer (seconds; the first query may load a model)
SEARCH_TIMEOUT_S = 120.0
#: largest request body accepted (bytes)
MAX_BODY = 1 << 20
#: settings a search depends on besides the library: a client with other values searches in-process
_SETTINGS_KEYS = ("model_dir", "precision", "device", "allow_download")


class _RequestError(Exception):
    """A request the service refuses: HTTP ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def service_file(library_dir: Path) -> Path:
    return Path(library_dir) / SERVICE_FILE


def _settings_record(settings: "Settings") -> dict[str, Any]:
    return {key: str(getattr(settings, key, None)) for key in _SETTINGS_KEYS}


# -- the service ----------------------------------------------------------------------


class _PooledServer(ThreadingHTTPServer):
    """An HTTP server whose requests run on a fixed set of worker threads, so that each
    thread keeps its Library (and the index views it has loaded) between requests."""

    def __init__(self, address: tuple[str, int], service: "QueryService", workers: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.service = service
        self._queue: "queue.Queue[tuple[socket.socket, Any] | None]" = queue.Queue()
        super().__init__(address, _Handler)
        self._workers = [
            threading.Thread(target=self._work, name=f"serve-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._workers:
            thread.start()

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        self._queue.put((request, client_address))

    def _work(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                self.process_request_thread(*item)
        finally:
            self.service._close_thread_library()

    def server_close(self) -> None:
        super().server_close()
        for _ in self._workers:  # requests already queued are answered first
            self._queue.put(None)
        for thread in self._workers:
            thread.join(timeout=30)


class QueryService:
    """Answers searches over HTTP for one library. ``open`` binds and writes serve.json;
    ``run`` serves until :meth:`stop` (thread- and signal-safe), then cleans up."""

    def __init__(self, settings: "Settings", *, host: str = "127.0.0.1", port: int = 0, workers: int = 2) -> None:
        self.settings = settings
        self.host = host
        self.port = port
        self.workers = max(1, int(workers))
        self.token = secrets.token_urlsafe(32)
        self.requests = 0
        self.searches = 0
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self._httpd: _PooledServer | None = None
        self._stopping = threading.Event()
        #: encoders loaded by warm()
        self.warmed: list[str] = []

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    @property
    def file(self) -> Path:
        return service_file(self.settings.library_dir)

    def warm(self) -> list[str]:
        """Load the encoders a default text, image or audio query would use; their names."""
        from mediasearch.encoders.registry import load_encoder
        from mediasearch.library import Library
        from mediasearch.media import Modality
        from mediasearch.search import default_encoders

        names: list[str] = []
        with Library(self.settings) as library:
            for modality in Modality:
                for name in default_encoders(library, modality):
                    if name not in names:
                        names.append(name)
        loaded = self.warmed
        for name in names:
            try:
                load_encoder(name, self.settings)
                loaded.append(name)
            except Exception as exc:  # a query naming it gets the error then
                log.warning("could not load %s ahead of queries: %s", name, exc)
        return loaded

    def open(self) -> None:
        """Bind the socket and publish url, pid and token in serve.json (mode 0600)."""
        self._httpd = _PooledServer((self.host, self.port), self, self.workers)
        self.port = int(self._httpd.server_address[1])
        record = {
            "url": self.url,
            "host": self.host,
            "port": self.port,
            "pid": os.getpid(),
            "token": self.token,
            "library": str(self.settings.library_dir),
            "started": time.time(),
            **_settings_record(self.settings),
        }
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f".{SERVICE_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
        os.chmod(tmp, 0o600)  # in case the file existed with other bits
        os.replace(tmp, self.file)

    def run(self) -> None:
        """Serve until stop(); then close the socket, the workers' libraries and serve.json."""
        assert self._httpd is not None, "open() first"
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()
            self._remove_file()

    def stop(self) -> None:
        """Ask the service to stop; returns at once (safe from a signal handler or a request)."""
        if self._stopping.is_set() or self._httpd is None:
            return
        self._stopping.set()
        threading.Thread(target=self._httpd.shutdown, name="serve-stop", daemon=True).start()

    def _remove_file(self) -> None:
        try:
            if json.loads(self.file.read_text(encoding="utf-8")).get("pid") == os.getpid():
                self.file.unlink()
        except (OSError, ValueError):
            pass

    # -- per request -------------------------------------------------------------------
    def _library(self):  # type: ignore[no-untyped-def]
        library = getattr(self._local, "library", None)
        if library is None:
            from mediasearch.library import Library

            library = self._local.library = Library(self.settings, command="mediasearch serve")
        return library

    def _close_thread_library(self) -> None:
        library = getattr(self._local, "library", None)
        if library is not None:
            self._local.library = None
            library.close()

    def authorised(self, header: str | None) -> bool:
        scheme, _, given = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    def count(self, *, search: bool = False) -> None:
        with self._count_lock:
            self.requests += 1
            self.searches += int(search)

    def health(self) -> dict[str, Any]:
        return {
            "ok": True,
            "pid": os.getpid(),
            "library": str(self.settings.library_dir),
            "requests": self.requests,
            "searches": self.searches,
            "warm": list(self.warmed),
        }

    def search(self, request: dict[str, Any]) -> Any:
        """The answer to a /search body (see the module docstring)."""
        from mediasearch.search import search

        query, options = parse_search_request(request)
        hits = search(self._library(), query, **options)
        listed = [h.to_json() for h in hits]
        if not request.get("detail"):
            return listed
        return {"hits": listed, "raw": [_raw(h) for h in hits]}


def _raw(hit: "Hit") -> dict[str, Any]:
    """What ``to_json`` rounds or leaves out of a hit: its unrounded scores, asset id and
    grouped frames (each as ``{"hit": to_json, "raw": ...}``)."""
    return {
        "score": float(hit.score),
        "asset_id": int(hit.asset_id),
        "labels": [[name, float(score)] for name, score in hit.labels],
        "frames": [{"hit": f.to_json(), "raw": _raw(f)} for f in hit.frames],
    }


def parse_search_request(request: dict[str, Any]) -> tuple["Query", dict[str, Any]]:
    """(Query, keyword options of ``search``) from a /search body; QueryError when malformed."""
    from mediasearch.errors import QueryError
    from mediasearch.media import MediaKind, Modality
    from mediasearch.search import Query

    if not isinstance(request, dict):
        raise QueryError("the request body must be a JSON object")
    given = [key for key in ("text", "image", "audio") if request.get(key) is not None]
    if len(given) != 1:
        raise QueryError("give exactly one of text, image or audio")
    unknown = set(request) - {"text", "image", "audio", "start", "end", "encoder", "k", "kind", "group", "detail"}
    if unknown:
        raise QueryError(f"unknown request fields: {', '.join(sorted(unknown))}")
    what = given[0]
    value = request[what]
    if not isinstance(value, str):
        raise QueryError(f"{what} must be a string")

    def number(key: str) -> float | None:
        v = request.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise QueryError(f"{key} must be a number of seconds")
        return None if v is None else float(v)

    modality = Modality(what)
    query = Query(
        modality,
        text=value if modality is Modality.TEXT else None,
        path=Path(value) if modality is not Modality.TEXT else None,
        start_s=number("start"),
        end_s=number("end"),
    )
    k = request.get("k", 20)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100_000:
        raise QueryError("k must be a whole number from 1 to 100000")
    kind = request.get("kind")
    try:
        kind = MediaKind(kind) if kind is not None else None
    except ValueError:
        raise QueryError(f"unknown kind {kind!r} (one of {', '.join(k.value for k in MediaKind)})") from None
    encoder = request.get("encoder")
    if encoder is not None and not isinstance(encoder, str):
        raise QueryError("encoder must be a name")
    return query, {"encoder": encoder or None, "k": k, "kind": kind, "group": bool(request.get("group", True))}


class _Handler(BaseHTTPRequestHandler):
    server: _PooledServer
    server_version = "mediasearch-serve"
    #: seconds a connection may stay silent before it is dropped (a stuck client frees its worker)
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (http.server's name)
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802
        self._answer("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._answer("POST")

    def _answer(self, method: str) -> None:
        from mediasearch.errors import MediaSearchError

        service = self.server.service
        try:
            if not service.authorised(self.headers.get("Authorization")):
                raise _RequestError(401, "missing or wrong token (Authorization: Bearer TOKEN, from serve.json)")
            route = (method, self.path.split("?", 1)[0])
            if route == ("GET", "/health"):
                service.count()
                self._send(200, service.health())
            elif route == ("POST", "/search"):
                service.count(search=True)
                self._send(200, service.search(self._body()))
            elif route == ("POST", "/shutdown"):
                service.count()
                self._send(200, {"ok": True})
                service.stop()
            else:
                raise _RequestError(404, f"no such endpoint: {method} {self.path}")
        except _RequestError as exc:
            self._send(exc.status, {"error": exc.message})
        except MediaSearchError as exc:
            self._send(400, {"error": _one_line(exc)})
        except Exception as exc:
            log.exception("search failed")
            self._send(500, {"error": f"internal error: {_one_line(exc)}"})

    def _body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _RequestError(400, "bad Content-Length") from None
        if length <= 0 or length > MAX_BODY:
            raise _RequestError(400, f"a JSON body of 1 to {MAX_BODY} bytes is needed")
        try:
            return json.loads(self.rfile.read(length))
        except ValueError as exc:
            raise _RequestError(400, f"the body is not JSON: {exc}") from None

    def _send(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode("ascii")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up
            log.debug("client went away before the answer")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# -- the client -----------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceInfo:
    """A running service as serve.json describes it."""

    host: str
    port: int
    pid: int
    token: str
    record: dict[str, Any]

    def request(self, method: str, path: str, body: Any = None, *, timeout_s: float) -> tuple[int, Any]:
        """(HTTP status, decoded JSON) of one request; OSError/ValueError when it fails."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else "::1" if self.host == "::" else self.host
        conn = HTTPConnection(host, self.port, timeout=timeout_s)
        try:
            payload = None if body is None else json.dumps(body).encode("ascii")
            headers = {"Authorization": f"Bearer {self.token}"}
            if payload is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would terminate it; /health decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process reusing the pid: /health decides
        return True
    return True


def read_service(library_dir: Path) -> ServiceInfo | None:
    """What serve.json says, or None (no file, unreadable, or its pid is gone)."""
    try:
        record = json.loads(service_file(library_dir).read_text(encoding="utf-8"))
        info = ServiceInfo(str(record["host"]), int(record["port"]), int(record["pid"]), str(record["token"]), record)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if _pid_alive(info.pid) else None


def find_service(settings: "Settings", *, timeout_s: float = HEALTH_TIMEOUT_S) -> ServiceInfo | None:
    """The service answering for this library with these settings, if /health answers in time."""
    info = read_service(settings.library_dir)
    if info is None:
        return None
    mine = _settings_record(settings)
    if any(info.record.get(key) != value for key, value in mine.items()):
        log.debug("the running service has other settings; searching in-process")
        return None
    try:
        status, data = info.request("GET", "/health", timeout_s=timeout_s)
    except (OSError, ValueError) as exc:
        log.debug("service in serve.json does not answer (%s)", exc)
        return None
    if status != 200 or not isinstance(data, dict) or data.get("pid") != info.pid:
        return None
    return info


def search_via_service(
    settings: "Settings",
    query: "Query",
    *,
    encoder: str | None = None,
    k: int = 20,
    kind: "MediaKind | None" = None,
    group: bool = True,
) -> "list[Hit] | None":
    """The hits ``search`` would return, from a running service; None when there is none
    or it does not answer (the caller then searches in-process, which also reports any
    error the same way)."""
    info = find_service(settings)
    if info is None:
        return None
    request: dict[str, Any] = {
        query.modality.value: query.text if query.path is None else str(Path(query.path).absolute()),
        "start": query.start_s,
        "end": query.end_s,
        "encoder": encoder,
        "k": k,
        "kind": kind.value if kind is not None else None,
        "group": group,
        "detail": True,
    }
    try:
        status, data = info.request("POST", "/search", request, timeout_s=SEARCH_TIMEOUT_S)
    except (OSError, ValueError) as exc:
        log.debug("service search failed (%s); searching in-process", exc)
        return None
    if status != 200 or not isinstance(data, dict):
        log.debug("service answered %s: %s; searching in-process", status, data)
        return None
    return [_hit(listed, raw) for listed, raw in zip(data["hits"], data["raw"])]


def _hit(listed: dict[str, Any], raw: dict[str, Any]) -> "Hit":
    """The Hit a ``to_json`` dict and its :func:`_raw` detail came from."""
    from mediasearch.media import Hit, MediaKind

    return Hit(
        rank=int(listed["rank"]),
        path=Path(listed["path"]),
        kind=MediaKind(listed["kind"]),
        score=float(raw["score"]),
        encoder=listed["encoder"],
        segment_id=int(listed["segment_id"]),
        asset_id=int(raw["asset_id"]),
        start_s=listed.get("start_s"),
        end_s=listed.get("end_s"),
        text=listed.get("text"),
        labels=[(str(n), float(s)) for n, s in raw["labels"]],
        frames=[_hit(f["hit"], f["raw"]) for f in raw.get("frames", [])],
    )
