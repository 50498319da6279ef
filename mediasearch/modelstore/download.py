"""Resumable HTTP downloads with the standard library (urllib), for ``models pull``.

A download writes ``<file>.part`` next to its destination and resumes from the part's
size with a ``Range`` request, so an interrupted transfer (or a Ctrl-C) loses nothing.
Connection failures (refused, unknown host, unreachable network, connect timeout) fail
at once with ``DownloadError(offline=True)``; transfers cut short and 5xx answers are
retried a few times, resuming each time. Checksums are checked by the caller.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from mediasearch.errors import DownloadError
from mediasearch.progress import CancelToken, Progress, ProgressCallback

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024
USER_AGENT = "mediasearch-modelstore/0.1 (urllib)"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_TRANSIENT_HTTP = {408, 429, 500, 502, 503, 504}


class _Retry(Exception):
    """A transient failure: try again, resuming from the part file."""


def fetch(
    url: str,
    part: Path,
    *,
    expected_size: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    label: str = "",
    timeout_s: float = 30.0,
    attempts: int = 3,
    backoff_s: float = 1.0,
    offline_hint: str = "",
) -> Path:
    """Download ``url`` into ``part``, resuming what is already there; returns ``part`` complete.

    ``expected_size`` (bytes, 0 when unknown) is checked against what the server offers
    before the transfer. Progress is reported in bytes under stage "download" with
    ``current=label``. Raises DownloadError (``offline=True`` when no connection could be
    made; its reason then ends with ``offline_hint``) or CancelledError (the part file is
    kept for a later resume).
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    last = "no attempt made"
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            _attempt(url, part, expected_size, progress, cancel, label or url, timeout_s, offline_hint)
            return part
        except _Retry as exc:
            last = str(exc)
            logger.info("download of %s interrupted (attempt %d/%d): %s", url, attempt, attempts, last)
            if attempt < attempts and backoff_s > 0:
                time.sleep(backoff_s * attempt)
    raise DownloadError(url, f"{last} (gave up after {attempts} attempts; run the pull again to resume)")


def _attempt(
    url: str,
    part: Path,
    expected_size: int,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    label: str,
    timeout_s: float,
    offline_hint: str,
) -> None:
    have = part.stat().st_size if part.exists() else 0
    if expected_size and have > expected_size:
        logger.info("%s is larger than expected; starting over", part)
        part.unlink()
        have = 0
    if expected_size and have == expected_size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    response = _open(request, url, part, have, timeout_s, offline_hint)
    if response is None:  # the part file was already complete
        return
    with response:
        start, total = _span(response, have)
        if start != have:
            logger.info("server ignored the range request for %s; starting over", url)
            have = 0
        if expected_size and total and total != expected_size:
            raise DownloadError(url, f"the server offers {total} bytes but the manifest expects {expected_size}")
        _copy_body(response, part, have, total or expected_size or None, progress, cancel, label)
    size = part.stat().st_size
    if total and size < total:
        raise _Retry(f"transfer cut short at {size} of {total} bytes")


def _open(
    request: urllib.request.Request, url: str, part: Path, have: int, timeout_s: float, offline_hint: str
) -> http.client.HTTPResponse | None:
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)  # http(s) URLs from the manifest only
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and have:
            reported = exc.headers.get("Content-Range", "")
            if reported.endswith(f"/{have}"):  # "bytes */N": the part already holds all N bytes
                return None
            logger.info("range not satisfiable for %s (%s); starting over", url, reported)
            part.unlink(missing_ok=True)
            raise _Retry("the server refused to resume; starting over") from None
        if exc.code in _TRANSIENT_HTTP:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise DownloadError(url, f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (ConnectionResetError, http.client.RemoteDisconnected)):
            raise _Retry(f"connection reset: {reason}") from None
        hint = f"; {offline_hint}" if offline_hint else ""
        raise DownloadError(url, f"cannot connect ({_describe(reason)}){hint}", offline=True) from None
    except TimeoutError as exc:
        hint = f"; {offline_hint}" if offline_hint else ""
        raise DownloadError(url, f"cannot connect (timed out: {exc}){hint}", offline=True) from None
    except (ConnectionError, http.client.HTTPException) as exc:
        raise _Retry(f"connection failed: {exc!r}") from None


def _describe(reason: object) -> str:
    if isinstance(reason, socket.gaierror):
        return f"unknown host: {reason}"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return str(reason)


def _span(response: http.client.HTTPResponse, have: int) -> tuple[int, int]:
    """(first byte offset served, total size of the file or 0 when unknown)."""
    length = int(response.headers.get("Content-Length") or 0)
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match:
            first, _, total = match.groups()
            return int(first), (int(total) if total != "*" else 0)
        return have, have + length if length else 0
    return 0, length


def _copy_body(
    response: http.client.HTTPResponse,
    part: Path,
    have: int,
    total: int | None,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    label: str,
) -> None:
    started = time.monotonic()
    last_report = 0.0
    done = have
    with open(part, "ab" if have else "wb") as out:
        try:
            while True:
                if cancel is not None:
                    cancel.raise_if_cancelled(f"download of {label}")
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Retry(f"transfer interrupted: {exc!r}") from None
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                now = time.monotonic()
                if progress is not None and now - last_report >= 0.1:
                    last_report = now
                    progress(Progress("download", done, total, label, "B", now - started))
        finally:
            out.flush()
            os.fsync(out.fileno())
    if progress is not None:
        progress(Progress("download", done, total, label, "B", time.monotonic() - started))
