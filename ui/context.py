"""What every panel shares: the settings, the open library (read side), the worker
launcher, the thumbnail cache, the judgement writer, and app-wide signals.

The UI thread keeps one :class:`Library` for quick reads (which encoders are indexed,
counts, saved queries); everything that writes or takes time runs in a worker that
opens its own.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from mediasearch.config import Settings
from mediasearch.library import Library
from ui import errors
from ui.prefs import Prefs
from ui.thumbnails import ThumbnailCache
from ui.workers import JudgeClient, Launcher, Worker

log = logging.getLogger(__name__)


class AppContext(QObject):
    """Shared state and signals; panels hold a reference and never reach into each other."""

    library_opened = Signal()  # another library folder is open
    library_updated = Signal()  # its content changed (indexing, folders removed)
    models_changed = Signal()  # weights pulled, imported or removed
    queries_changed = Signal()  # saved evaluation queries or judgements changed
    status = Signal(str, int)  # a status-bar message and its timeout in ms (0: until replaced)

    def __init__(self, settings: Settings, prefs: Prefs, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.prefs = prefs
        rater = str(prefs.get("rater", "") or "").strip()
        self._settings = settings.with_(rater=rater) if rater and settings.rater is None else settings
        self.window: QWidget | None = None
        self.launcher = Launcher(self)
        self.thumbnails = ThumbnailCache(settings.thumbs_dir, parent=self)
        self.judge = JudgeClient(self)
        self._library: Library | None = None

    # -- the library --------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def library(self) -> Library:
        """The UI thread's Library (reads only)."""
        if self._library is None:
            self._library = Library(self._settings)
        return self._library

    def open_library(self, library_dir: Path) -> None:
        """Switch to another library folder (refused while work is running)."""
        library_dir = Path(library_dir).expanduser().resolve()
        if self.launcher.running():
            raise RuntimeError(self.tr("wait for the running work to finish (or cancel it) before switching libraries"))
        self.close_library()
        self._settings = self._settings.with_(library_dir=library_dir)
        self.thumbnails.set_cache_dir(self._settings.thumbs_dir)
        self.prefs.last_library = library_dir
        self.library_opened.emit()

    @property
    def rater(self) -> str:
        """Who is judging in this app (judgements carry it): the name set in the app,
        else MEDIASEARCH_RATER or the OS user name."""
        from mediasearch.evaluation.groundtruth import default_rater

        return self._settings.rater or default_rater()

    def set_rater(self, name: str) -> None:
        """Judge as ``name`` from now on (remembered); '' goes back to the default."""
        name = name.strip()
        self._settings = self._settings.with_(rater=name or None)
        self.prefs.set("rater", name)
        self.queries_changed.emit()  # grades shown are this rater's own

    def set_model_dir(self, model_dir: Path) -> None:
        self._settings = self._settings.with_(model_dir=Path(model_dir))
        self.models_changed.emit()

    def close_library(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None

    # -- helpers -------------------------------------------------------------------------
    def start(self, worker: Worker) -> Worker:
        return self.launcher.start(worker)

    def error(self, exc: BaseException | str) -> None:
        """Show an error in the app's one dialog."""
        errors.show_error(self.window, exc, catalog_path=self._settings.catalog_path)

    def say(self, message: str, timeout_ms: int = 5000) -> None:
        self.status.emit(message, timeout_ms)

    def shutdown(self) -> None:
        self.launcher.shutdown()
        self.thumbnails.pool.clear()
        self.thumbnails.wait_idle(5000)
        self.judge.stop()
        self.close_library()
