"""The main window: a sidebar of pages (Search, Library, Evaluation, Models), menus with
keyboard shortcuts, a status bar with the library's counts and indexing progress, and
remembered layout (QSettings).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QWidget,
)

from mediasearch.errors import MediaSearchError
from mediasearch.progress import Progress
from ui import actions
from ui.context import AppContext
from ui.panels.eval_view import EvalView
from ui.panels.library_panel import LibraryPanel
from ui.panels.models_view import ModelsView
from ui.panels.search_page import SearchPage
from ui import i18n
from ui.resources import app_icon, clear_icon_cache, icon
from ui.text import describe_summary

log = logging.getLogger(__name__)

translate = QCoreApplication.translate

#: (key, icon) of each page, in sidebar order; titles come from page_title()
PAGES = [("search", "search"), ("library", "library"), ("evaluate", "evaluate"), ("models", "models")]
DEFAULT_SIZE = QSize(1280, 820)


def page_title(key: str) -> str:
    return {
        "search": translate("MainWindow", "Search"),
        "library": translate("MainWindow", "Library"),
        "evaluate": translate("MainWindow", "Evaluation"),
        "models": translate("MainWindow", "Models"),
    }[key]


def shortcuts_help() -> str:
    rows = [
        ("Ctrl+F", translate("MainWindow", "type a text query")),
        ("Ctrl+O", translate("MainWindow", "choose an example file")),
        ("Ctrl+Enter", translate("MainWindow", "search")),
        ("2 / 1 / 0", translate("MainWindow", "grade the selected result highly relevant / relevant / not relevant")),
        ("Backspace", translate("MainWindow", "forget the selected result's grade")),
        ("↑ ↓ ← →", translate("MainWindow", "move between results")),
        ("Enter", translate("MainWindow", "open the result (videos at the hit's time); double-click does the same")),
        ("Space", translate("MainWindow", "play a sound result")),
        ("F5 / Esc", translate("MainWindow", "index now / cancel indexing")),
        ("Ctrl+Shift+O", translate("MainWindow", "add a folder to the library")),
        ("Ctrl+L", translate("MainWindow", "open another library")),
        ("Ctrl+R / Ctrl+E", translate("MainWindow", "run the evaluation / export its HTML report")),
        ("Ctrl+1…4", translate("MainWindow", "switch pages")),
        ("Ctrl+Shift+D", translate("MainWindow", "dark / light palette")),
        ("Ctrl+Q", translate("MainWindow", "quit")),
    ]
    body = "".join(f"<tr><td><b>{keys}</b></td><td>{what}</td></tr>" for keys, what in rows)
    return f"<table cellspacing=6>{body}</table>"


#: how long quitting waits for running work to notice its cancel token
QUIT_WAIT_S = 0.6


def shutdown_quickly(ctx: AppContext, wait_s: float = QUIT_WAIT_S) -> int:
    """Cancel every worker and the queued thumbnails, wait at most ``wait_s`` for them,
    stop the judgement writer (idle unless a grade is being written) and close the UI's
    library. Returns how many worker threads are still running (to be abandoned)."""
    import time

    deadline = time.monotonic() + wait_s
    workers = ctx.launcher.running()
    for worker in workers:
        worker.cancel()
    ctx.thumbnails.pool.clear()
    still = 0
    for worker in workers:
        thread = worker.thread()
        if thread is None or thread is QApplication.instance().thread():
            continue
        if worker.result is not None or worker.error is not None:
            thread.quit()
        left_ms = max(int((deadline - time.monotonic()) * 1000), 1)
        if not thread.wait(left_ms):
            log.warning("quitting without waiting for %s", type(worker).__name__)
            still += 1
    if not ctx.thumbnails.wait_idle(max(int((deadline - time.monotonic()) * 1000), 1)):
        still += 1  # a thumbnail still being drawn
    ctx.judge.stop()
    try:
        ctx.close_library()
    except Exception as exc:  # noqa: BLE001 - quitting regardless
        log.warning("closing the library: %s", exc)
    return still


def sidebar_style(pal) -> str:  # noqa: ANN001 - QPalette
    """The sidebar's style sheet with the palette's colours written in: a style sheet's
    palette() references are resolved once, so a palette switch needs a fresh sheet."""
    from PySide6.QtGui import QPalette

    c = {
        "bg": pal.color(QPalette.ColorRole.AlternateBase).name(),
        "fg": pal.color(QPalette.ColorRole.WindowText).name(),
        "line": pal.color(QPalette.ColorRole.Mid).name(),
        "sel": pal.color(QPalette.ColorRole.Highlight).name(),
        "selfg": pal.color(QPalette.ColorRole.HighlightedText).name(),
    }
    return (
        f"QListWidget#sidebar {{ background: {c['bg']}; color: {c['fg']}; border-right: 1px solid {c['line']}; padding-top: 8px; }}"
        " QListWidget#sidebar::item { border-radius: 8px; padding: 4px; }"
        f" QListWidget#sidebar::item:selected {{ background: {c['sel']}; color: {c['selfg']}; }}"
    )


class MainWindow(QMainWindow):
    """The application window; owns the pages and wires them to the shared context."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        ctx.window = self
        self.setWindowTitle("mediasearch")
        self._quitting = False
        #: worker threads still running when the window closed (main() then exits at once)
        self.abandoned = 0
        self.setWindowIcon(app_icon())
        self.setObjectName("mainWindow")
        self.resize(DEFAULT_SIZE)
        self.setMinimumSize(QSize(760, 540))

        self.search_page = SearchPage(ctx)
        self.library_panel = LibraryPanel(ctx)
        self.eval_view = EvalView(ctx)
        self.models_view = ModelsView(ctx)
        self.pages: dict[str, QWidget] = {
            "search": self.search_page,
            "library": self.library_panel,
            "evaluate": self.eval_view,
            "models": self.models_view,
        }
        self._build_central()
        self._build_actions()
        self._build_status_bar()
        ctx.status.connect(self._status)
        ctx.library_opened.connect(self._library_changed)
        ctx.library_updated.connect(self._library_changed)
        self.library_panel.indexing_started.connect(self._indexing_started)
        self.library_panel.indexing_finished.connect(self._indexing_ended)
        self.library_panel.indexing_failed.connect(self._indexing_ended)
        self._restore()
        self._library_changed()

    # -- layout ----------------------------------------------------------------------------
    def _build_central(self) -> None:
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(132)
        self.sidebar.setIconSize(QSize(28, 28))
        self.sidebar.setWordWrap(True)
        self.sidebar.setViewMode(QListWidget.ViewMode.IconMode)
        self.sidebar.setMovement(QListWidget.Movement.Static)
        self.sidebar.setFlow(QListWidget.Flow.TopToBottom)
        self.sidebar.setWrapping(False)
        self.sidebar.setSpacing(4)
        self.sidebar.setGridSize(QSize(120, 72))
        self.sidebar.setFrameShape(QListWidget.Shape.NoFrame)
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.sidebar.setStyleSheet(sidebar_style(QApplication.palette()))
        self.stack = QStackedWidget()
        for i, (key, glyph) in enumerate(PAGES):
            title = page_title(key)
            item = QListWidgetItem(icon(glyph), title)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
            item.setToolTip(self.tr("{page} (Ctrl+{n})").format(page=title, n=i + 1))
            item.setSizeHint(QSize(116, 68))
            self.sidebar.addItem(item)
            self.stack.addWidget(self.pages[key])
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

    def _action(self, text: str, slot, shortcut: str | QKeySequence | None = None, glyph: str | None = None, tip: str = "") -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        if glyph:
            action.setIcon(icon(glyph))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        lib = self.library_panel
        m = bar.addMenu(self.tr("&File"))
        self.act_open_library = self._action(self.tr("Open &library…"), self.choose_library, "Ctrl+L", "library", self.tr("Open or create a library folder"))
        m.addAction(self.act_open_library)
        self.recent_menu = m.addMenu(self.tr("Recent libraries"))
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        self.act_add_folder = self._action(self.tr("&Add folder…"), lib.choose_folder, "Ctrl+Shift+O", "folder-add", self.tr("Add a folder to index"))
        self.act_index = self._action(self.tr("&Index now"), lib.start_indexing, "F5", "index", self.tr("Index new and changed files (F5)"))
        self.act_cancel = self._action(self.tr("&Cancel indexing"), lib.cancel_indexing, "Esc", "stop", self.tr("Stop indexing; what is done is kept"))
        self.act_cancel.setEnabled(False)
        for a in (self.act_add_folder, self.act_index, self.act_cancel):
            m.addAction(a)
        m.addSeparator()
        self.act_quit = self._action(self.tr("&Quit"), self.close, QKeySequence.StandardKey.Quit)
        m.addAction(self.act_quit)

        m = bar.addMenu(self.tr("&Search"))
        m.addAction(self._action(self.tr("&Text query"), self._focus_text, "Ctrl+F", "search", self.tr("Type a text query")))
        m.addAction(self._action(self.tr("&Example file…"), self._choose_example, "Ctrl+O", "file", self.tr("Search by an example image, audio or video file")))
        m.addAction(self._action(self.tr("&Search"), self.search_page.query.request_search, None, "search"))
        m.addSeparator()
        for grade, label in ((2, self.tr("Mark &highly relevant")), (1, self.tr("Mark &relevant")), (0, self.tr("Mark &not relevant"))):
            m.addAction(self._action(f"{label}\t{grade}", lambda _=False, g=grade: self.search_page.results._grade_current(g)))

        m = bar.addMenu(self.tr("&View"))
        group = QActionGroup(self)
        self.page_actions = []
        for i, (key, glyph) in enumerate(PAGES):
            a = self._action(page_title(key), lambda _=False, k=key: self.show_page(k), f"Ctrl+{i + 1}", glyph)
            a.setCheckable(True)
            group.addAction(a)
            m.addAction(a)
            self.page_actions.append(a)
        m.addSeparator()
        self.act_dark = self._action(self.tr("&Dark palette"), self._toggle_dark, "Ctrl+Shift+D", "moon")
        self.act_dark.setCheckable(True)
        self.act_dark.setChecked(bool(self.ctx.prefs.get("view/dark", False, bool)))
        m.addAction(self.act_dark)
        self.act_full = self._action(self.tr("&Full screen"), self._toggle_full, QKeySequence.StandardKey.FullScreen)
        m.addAction(self.act_full)
        self.language_menu = m.addMenu(self.tr("&Language"))
        self.language_group = QActionGroup(self)
        saved = self.ctx.prefs.get(i18n.PREF_KEY, i18n.SYSTEM) or i18n.SYSTEM
        choices = [(i18n.SYSTEM, self.tr("System default"))] + list(i18n.LANGUAGES.items())
        self.language_actions: dict[str, QAction] = {}
        for code, name in choices:
            a = QAction(name, self)
            a.setCheckable(True)
            a.setChecked(code == saved)
            a.setData(code)
            a.triggered.connect(lambda _=False, c=code: self.set_language(c))
            self.language_group.addAction(a)
            self.language_menu.addAction(a)
            self.language_actions[code] = a

        m = bar.addMenu(self.tr("&Evaluate"))
        m.addAction(self._action(self.tr("&Run evaluation"), self._run_eval, "Ctrl+R", "evaluate"))
        m.addAction(self._action(self.tr("&Export HTML report…"), lambda: self.eval_view.export_dialog("html"), "Ctrl+E", "export"))
        m.addAction(self._action(self.tr("Export &CSV…"), lambda: self.eval_view.export_dialog("csv"), None, "export"))
        m.addAction(self._action(self.tr("Export &JSON…"), lambda: self.eval_view.export_dialog("json"), None, "export"))
        m.addSeparator()
        self.act_rater = self._action(self.tr("Rater &name…"), self._choose_rater, None, None,
                                      self.tr("Who is judging: judgements carry this name, so several people can grade the same results"))
        m.addAction(self.act_rater)

        m = bar.addMenu(self.tr("&Help"))
        m.addAction(self._action(self.tr("&Keyboard shortcuts"), self._show_shortcuts, QKeySequence.StandardKey.HelpContents, "info"))
        m.addAction(self._action(self.tr("&About mediasearch"), self._about))

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.library_label = QLabel()
        self.library_label.setObjectName("libraryStatus")
        self.index_bar = QProgressBar()
        self.index_bar.setMaximumWidth(180)
        self.index_bar.setMaximumHeight(16)
        self.index_bar.setTextVisible(False)
        self.index_bar.hide()
        sb.addPermanentWidget(self.index_bar)
        sb.addPermanentWidget(self.library_label)

    # -- pages ------------------------------------------------------------------------------
    def show_page(self, key: str) -> None:
        index = [k for k, _ in PAGES].index(key)
        self.sidebar.setCurrentRow(index)
        self.page_actions[index].setChecked(True)

    def current_page(self) -> str:
        return PAGES[self.stack.currentIndex()][0]

    def _focus_text(self) -> None:
        self.show_page("search")
        self.search_page.focus_text()

    def _choose_example(self) -> None:
        self.show_page("search")
        self.search_page.query.drop.choose()

    def _choose_rater(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(
            self, self.tr("Rater name"),
            self.tr("Judge as (empty: your user name). Each rater's grades are kept apart; the report says how far raters agree."),
            text=self.ctx.rater,
        )
        if ok:
            self.ctx.set_rater(name)
            self.ctx.status.emit(self.tr("Judging as {name}").format(name=self.ctx.rater), 5000)

    def _run_eval(self) -> None:
        self.show_page("evaluate")
        self.eval_view.run_evaluation()

    # -- library -------------------------------------------------------------------------------
    def choose_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open or create a library folder"), str(self.ctx.settings.library_dir.parent))
        if folder:
            self.open_library(Path(folder))

    def open_library(self, folder: Path) -> None:
        try:
            self.ctx.open_library(folder)
        except (MediaSearchError, RuntimeError, OSError) as exc:
            self.ctx.error(exc if isinstance(exc, MediaSearchError) else str(exc))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.ctx.prefs.recent_libraries:
            a = self.recent_menu.addAction(str(path))
            a.triggered.connect(lambda _=False, p=path: self.open_library(p))
        if not self.recent_menu.actions():
            self.recent_menu.addAction(self.tr("(none)")).setEnabled(False)

    def _library_changed(self) -> None:
        try:
            summary = actions.summarise(self.ctx.library.catalog)
        except MediaSearchError as exc:
            self.ctx.error(exc)
            return
        lib = self.ctx.settings.library_dir
        self.library_label.setText(f"{lib.name} · {describe_summary(summary)}")
        self.library_label.setToolTip(str(lib))
        self.setWindowTitle(f"{lib.name} — mediasearch")

    def _status(self, message: str, timeout_ms: int) -> None:
        if not message:
            self.statusBar().clearMessage()
        else:
            self.statusBar().showMessage(message, timeout_ms)

    def _indexing_started(self) -> None:
        self.act_cancel.setEnabled(True)
        self.act_index.setEnabled(False)
        self.index_bar.setRange(0, 0)
        self.index_bar.show()
        worker = self.library_panel.worker
        if worker is not None:
            worker.progress.connect(self._index_progress)

    def _index_progress(self, p: Progress) -> None:
        if p.total:
            self.index_bar.setRange(0, p.total)
            self.index_bar.setValue(p.done)

    def _indexing_ended(self, *_: object) -> None:
        self.act_cancel.setEnabled(False)
        self.act_index.setEnabled(True)
        self.index_bar.hide()

    # -- view ------------------------------------------------------------------------------------
    def _toggle_dark(self, on: bool) -> None:
        from ui.app import apply_palette

        self.ctx.prefs.set("view/dark", on)
        apply_palette(QApplication.instance(), dark=on)
        self.restyle()

    def restyle(self) -> None:
        """Follow a palette switch: the sidebar's sheet and every icon are drawn anew."""
        clear_icon_cache()
        self.sidebar.setStyleSheet(sidebar_style(QApplication.palette()))
        for i, (_key, glyph) in enumerate(PAGES):
            self.sidebar.item(i).setIcon(icon(glyph))
        from ui.widgets import HintLabel

        for label in self.findChildren(HintLabel):
            label.recolour()
        for widget in [self, *self.findChildren(QWidget)]:
            widget.update()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.ApplicationPaletteChange and hasattr(self, "sidebar"):
            self.sidebar.setStyleSheet(sidebar_style(QApplication.palette()))
        super().changeEvent(event)

    def set_language(self, code: str) -> "MainWindow":
        """Remember the language and switch to it now: the window is built again in it (the
        layout is kept; shown results are not). While work is running the switch waits for
        the next start. Returns the window that is showing afterwards."""
        self.ctx.prefs.set(i18n.PREF_KEY, code)
        self.ctx.prefs.sync()
        app = QApplication.instance()
        lang = i18n.choose_language(code, None)
        if lang == getattr(app, "_mediasearch_language", "en"):
            return self
        if self.ctx.launcher.running() or self.search_page._pending_grades:
            self.ctx.say(self.tr("The language changes the next time mediasearch starts."), 10000)
            return self
        from ui.app import install_language

        install_language(app, lang)
        return self.rebuild()

    def rebuild(self) -> "MainWindow":
        """A new main window over the same context (after a language switch); this one goes."""
        self.save_state()
        window = type(self)(self.ctx)
        window.setGeometry(self.geometry())
        if self.isVisible():
            window.show()
        self._quitting = True  # closing or deleting this one must not shut the context down
        self.hide()
        self.deleteLater()
        return window

    def _toggle_full(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _show_shortcuts(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle(self.tr("Keyboard shortcuts"))
        box.setIconPixmap(icon("info").pixmap(32))
        box.setText(shortcuts_help())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _about(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            core_version = version("mediasearch")
        except PackageNotFoundError:
            core_version = self.tr("(source tree)")
        about = self.tr("Local-first search over your own images, videos and audio, and evaluation of which encoder works best on them.")
        where = self.tr("Library: {library}<br>Models: {models}").format(
            library=self.ctx.settings.library_dir, models=self.ctx.settings.model_dir
        )
        QMessageBox.about(self, self.tr("About mediasearch"), f"<h3>mediasearch {core_version}</h3><p>{about}</p><p>{where}</p>")

    # -- state -------------------------------------------------------------------------------------
    def _restore(self) -> None:
        prefs = self.ctx.prefs
        geometry = prefs.get_bytes("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = prefs.get_bytes("window/state")
        if state is not None:
            self.restoreState(state)
        for name, splitter in self._splitters():
            saved = prefs.get_bytes(f"window/splitter/{name}")
            if saved is not None:
                splitter.restoreState(saved)
        size = prefs.get("results/thumb_px", None, int)
        if size:
            self.search_page.results.size_slider.setValue(size)
        page = prefs.get("window/page", None)
        if page not in self.pages:
            try:
                empty = actions.summarise(self.ctx.library.catalog).total == 0
            except MediaSearchError:
                empty = True
            page = "library" if empty else "search"
        self.show_page(page)

    def _splitters(self) -> list:
        return [
            ("library", self.library_panel.splitter),
            ("eval", self.eval_view.splitter),
            ("search", self.search_page.splitter),
        ]

    def save_state(self) -> None:
        prefs = self.ctx.prefs
        prefs.set("window/geometry", self.saveGeometry())
        prefs.set("window/state", self.saveState())
        for name, splitter in self._splitters():
            prefs.set(f"window/splitter/{name}", splitter.saveState())
        prefs.set("results/thumb_px", self.search_page.results.size_slider.value())
        prefs.set("window/page", self.current_page())
        prefs.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Close at once: save the layout, hide, ask running work to stop and wait only
        briefly. Work that cannot stop in time (a model still loading, a frame still
        decoding) is abandoned: :func:`ui.app.main` then ends the process without waiting
        for it (indexing commits in batches, so what was committed is kept)."""
        if self._quitting:
            event.accept()
            return
        self._quitting = True
        self.save_state()
        self.hide()
        self.abandoned = shutdown_quickly(self.ctx)
        event.accept()

