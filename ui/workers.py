"""Long work off the UI thread: QObject workers moved onto QThreads.

Every worker emits ``progress(Progress)``, then exactly one of ``finished(result)`` or
``failed(exception)``. A worker that needs the library opens its own
:class:`~mediasearch.library.Library` in its thread (SQLite connections are per thread)
and closes it when done. :class:`Launcher` owns the threads, keeps the Python objects
alive until the thread ends, and can cancel and join everything on exit.

:class:`CatalogWriter` is the one long-lived worker: judgements are written through it,
in order, off the UI thread, so a keypress never waits on an indexing transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from mediasearch.config import Settings
from mediasearch.errors import CancelledError
from mediasearch.library import Library
from mediasearch.progress import CancelToken, Progress
from ui import actions

log = logging.getLogger(__name__)

#: progress signals are sent at most this often (seconds), except stage changes and the end
PROGRESS_INTERVAL_S = 0.05


class Worker(QObject):
    """Base worker: override :meth:`work`. Signals cross threads as queued connections."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # the result of work()
    failed = Signal(object)  # the exception

    #: whether run() opens a Library for work(); workers that only need settings say False
    needs_library = True
    #: shown in the status bar while the worker runs
    title = "Working"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.cancel_token = CancelToken()
        self._last_emit = 0.0
        self._last_stage = ""
        self.result: Any = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        """Ask the work to stop at its next checkpoint (thread-safe)."""
        self.cancel_token.cancel()

    def report(self, p: Progress) -> None:
        """A ProgressCallback for the core: forwards, throttled, as ``progress``."""
        now = time.monotonic()
        final = p.total is not None and p.done >= p.total
        if p.stage != self._last_stage or final or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_stage = p.stage
            self._last_emit = now
            self.progress.emit(p)

    def work(self, library: Library | None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @Slot()
    def run(self) -> None:
        try:
            if self.needs_library:
                with Library(self.settings) as library:
                    self.result = self.work(library)
            else:
                self.result = self.work(None)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the UI as a signal
            if not isinstance(exc, (CancelledError,)) and not hasattr(exc, "how_to_get_it"):
                log.debug("%s failed", type(self).__name__, exc_info=True)
            self.error = exc
            self.failed.emit(exc)
        else:
            self.finished.emit(self.result)


class Launcher(QObject):
    """Starts workers on their own QThreads and keeps them alive until they end."""

    started = Signal(object)  # the worker
    ended = Signal(object)  # the worker

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[Worker, QThread] = {}

    def start(self, worker: Worker) -> Worker:
        thread = QThread()
        thread.setObjectName(type(worker).__name__)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # quit() is thread-safe: call it directly from the worker's thread, so the thread
        # ends even if the UI thread is not spinning its event loop (shutdown, tests)
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.failed.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        # a bound slot of this (UI-thread) object, so the clean-up runs queued on the UI thread
        thread.finished.connect(self._thread_finished)
        self._running[worker] = thread
        thread.start()
        self.started.emit(worker)
        return worker

    @Slot()
    def _thread_finished(self) -> None:
        thread = self.sender()
        for worker, t in list(self._running.items()):
            if t is thread:
                del self._running[worker]
                t.deleteLater()
                self.ended.emit(worker)

    def running(self, kind: type | None = None) -> list[Worker]:
        return [w for w in self._running if kind is None or isinstance(w, kind)]

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel every worker and wait for the threads (on quit)."""
        for worker in list(self._running):
            worker.cancel()
        for worker, thread in list(self._running.items()):
            if worker.result is not None or worker.error is not None:
                thread.quit()
            if not thread.wait(timeout_ms):
                log.warning("%s did not stop within %d ms", type(worker).__name__, timeout_ms)


# -- indexing -------------------------------------------------------------------------


@dataclass
class IndexOutcome:
    """An indexing run's report and the library's state after it."""

    report: Any  # mediasearch.indexing.IndexReport
    summary: actions.LibrarySummary


class IndexWorker(Worker):
    """index_paths over the library's folders, cancellable (what was done is kept)."""

    title = "Indexing"

    def __init__(self, settings: Settings, roots: list[Path], encoders: list[str]) -> None:
        super().__init__(settings)
        self.roots = list(roots)
        self.encoders = list(encoders)

    def work(self, library: Library | None) -> IndexOutcome:
        from mediasearch.indexing import index_paths

        assert library is not None
        report = index_paths(library, self.roots, encoders=self.encoders, progress=self.report, cancel=self.cancel_token)
        return IndexOutcome(report, actions.summarise(library.catalog))


class RemoveFoldersWorker(Worker):
    """Forget the files under folders taken out of the library."""

    title = "Removing folders"

    def __init__(self, settings: Settings, roots: list[Path]) -> None:
        super().__init__(settings)
        self.roots = list(roots)

    def work(self, library: Library | None) -> tuple[int, actions.LibrarySummary]:
        assert library is not None
        removed = actions.remove_folders(library, self.roots)
        return removed, actions.summarise(library.catalog)


# -- search ---------------------------------------------------------------------------


class SearchWorker(Worker):
    """One search (or a pooled search over every applicable encoder).

    A plain search goes to a running ``mediasearch serve`` of the same library and
    settings when there is one (warm models: no model load in the GUI process), as the
    CLI does, and is run here when there is none or it does not answer;
    ``SearchOutcome.answered_by`` says which ("service" or "in-process"). Pooled
    searches (judging) and spoken queries to a named encoder stay in-process, like the
    CLI's. ``use_service=False`` never asks a service.
    """

    title = "Searching"

    def __init__(
        self, settings: Settings, spec: actions.QuerySpec, *, encoder: str | None, k: int, pool: bool,
        use_service: bool = True,
    ) -> None:
        super().__init__(settings)
        self.spec = spec
        self.encoder = encoder
        self.k = k
        self.pool = pool
        self.use_service = use_service
        self.answered_by = "in-process"

    def _hits(self, library: Library, query, *, encoder: str | None, k: int):  # noqa: ANN001 - Query -> list[Hit]
        """The hits from the service, else (None from it) from this process."""
        from mediasearch.search import search
        from mediasearch.serve import search_via_service

        hits = search_via_service(self.settings, query, encoder=encoder, k=k)
        if hits is not None:
            self.answered_by = "service"
            return hits
        self.answered_by = "in-process"
        return search(library, query, encoder=encoder, k=k)

    def work(self, library: Library | None) -> actions.SearchOutcome:
        assert library is not None
        spoken_to_one = self.spec.modality.value == "audio" and self.encoder is not None
        via_service = self.use_service and not self.pool and not spoken_to_one
        outcome = actions.run_search(
            library, self.spec, encoder=self.encoder, k=self.k, pool=self.pool,
            hits_fn=self._hits if via_service else None,
        )
        outcome.answered_by = self.answered_by
        return outcome


# -- any function -----------------------------------------------------------------------


class CallWorker(Worker):
    """Runs ``fn(library_or_None, report, cancel_token)`` (evaluation, model store jobs)."""

    def __init__(
        self,
        settings: Settings,
        fn: Callable[[Library | None, Callable[[Progress], None], CancelToken], Any],
        *,
        title: str = "Working",
        needs_library: bool = True,
    ) -> None:
        super().__init__(settings)
        self.fn = fn
        self.title = title
        self.needs_library = needs_library

    def work(self, library: Library | None) -> Any:
        return self.fn(library, self.report, self.cancel_token)


# -- judgements -------------------------------------------------------------------------


@dataclass
class JudgeOutcome:
    request: actions.JudgeRequest
    saved_query: Any  # SavedQuery
    token: int = 0
    extra: dict = field(default_factory=dict)


class CatalogWriter(QObject):
    """Writes judgements in order on its own thread (opening the catalog per request)."""

    judged = Signal(object)  # JudgeOutcome
    failed = Signal(object)  # exception

    @Slot(object, object, int)
    def judge(self, settings: Settings, request: actions.JudgeRequest, token: int) -> None:
        from mediasearch.catalog import Catalog

        try:
            with Catalog(settings.catalog_path) as catalog:
                saved = actions.judge(catalog, settings, request)
        except BaseException as exc:  # noqa: BLE001
            self.failed.emit(exc)
        else:
            self.judged.emit(JudgeOutcome(request, saved, token))


class JudgeClient(QObject):
    """The UI side of the CatalogWriter: ``submit`` queues a request on the writer thread."""

    _submit = Signal(object, object, int)
    judged = Signal(object)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("CatalogWriter")
        self.writer = CatalogWriter()
        self.writer.moveToThread(self._thread)
        self._submit.connect(self.writer.judge)
        self.writer.judged.connect(self.judged)
        self.writer.failed.connect(self.failed)
        self._thread.start()
        self._token = 0

    def submit(self, settings: Settings, request: actions.JudgeRequest) -> int:
        """Queue a judgement for the library of ``settings``; returns its token (echoed in the JudgeOutcome)."""
        self._token += 1
        self._submit.emit(settings, request, self._token)
        return self._token

    def stop(self) -> None:
        self._thread.quit()
        self._thread.wait(5000)
