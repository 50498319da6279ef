"""The main window: a sidebar of pages (Search, Library, Evaluation, Models), menus with
keyboard shortcuts, a status bar with the library's counts and indexing progress, and
remembered layout (QSettings).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt
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
from ui.resources import app_icon, icon

log = logging.getLogger(__name__)

PAGES = [("search", "Search", "search"), ("library", "Library", "library"), ("evaluate", "Evaluation", "evaluate"), ("models", "Models", "models")]
DEFAULT_SIZE = QSize(1280, 820)

SHORTCUTS_HELP = """
<table cellspacing=6>
<tr><td><b>Ctrl+F</b></td><td>type a text query</td></tr>
<tr><td><b>Ctrl+O</b></td><td>choose an example file</td></tr>
<tr><td><b>Ctrl+Enter</b></td><td>search</td></tr>
<tr><td><b>2 / 1 / 0</b></td><td>grade the selected result highly relevant / relevant / not relevant</td></tr>
<tr><td><b>Backspace</b></td><td>forget the selected result's grade</td></tr>
<tr><td><b>Arrows</b></td><td>move between results</td></tr>
<tr><td><b>Enter</b>, double-click</td><td>open the result (videos at the hit's time)</td></tr>
<tr><td><b>Space</b></td><td>play a sound result</td></tr>
<tr><td><b>F5</b> / <b>Esc</b></td><td>index now / cancel indexing</td></tr>
<tr><td><b>Ctrl+Shift+O</b></td><td>add a folder to the library</td></tr>
<tr><td><b>Ctrl+L</b></td><td>open another library</td></tr>
<tr><td><b>Ctrl+R</b> / <b>Ctrl+E</b></td><td>run the evaluation / export its HTML report</td></tr>
<tr><td><b>Ctrl+1…4</b></td><td>switch pages</td></tr>
<tr><td><b>Ctrl+Shift+D</b></td><td>dark / light palette</td></tr>
</table>
"""


class MainWindow(QMainWindow):
    """The application window; owns the pages and wires them to the shared context."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        ctx.window = self
        self.setWindowTitle("mediasearch")
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
        self.sidebar.setViewMode(QListWidget.ViewMode.IconMode)
        self.sidebar.setMovement(QListWidget.Movement.Static)
        self.sidebar.setFlow(QListWidget.Flow.TopToBottom)
        self.sidebar.setWrapping(False)
        self.sidebar.setSpacing(4)
        self.sidebar.setGridSize(QSize(120, 72))
        self.sidebar.setFrameShape(QListWidget.Shape.NoFrame)
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.sidebar.setStyleSheet(
            "QListWidget#sidebar { background: palette(alternate-base); border-right: 1px solid palette(mid); padding-top: 8px; }"
            " QListWidget#sidebar::item { border-radius: 8px; padding: 4px; }"
            " QListWidget#sidebar::item:selected { background: palette(highlight); color: palette(highlighted-text); }"
        )
        self.stack = QStackedWidget()
        for i, (key, title, glyph) in enumerate(PAGES):
            item = QListWidgetItem(icon(glyph), title)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
            item.setToolTip(f"{title} (Ctrl+{i + 1})")
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
        m = bar.addMenu("&File")
        self.act_open_library = self._action("Open &library…", self.choose_library, "Ctrl+L", "library", "Open or create a library folder")
        m.addAction(self.act_open_library)
        self.recent_menu = m.addMenu("Recent libraries")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        self.act_add_folder = self._action("&Add folder…", lib.choose_folder, "Ctrl+Shift+O", "folder-add", "Add a folder to index")
        self.act_index = self._action("&Index now", lib.start_indexing, "F5", "index", "Index new and changed files (F5)")
        self.act_cancel = self._action("&Cancel indexing", lib.cancel_indexing, "Esc", "stop", "Stop indexing; what is done is kept")
        self.act_cancel.setEnabled(False)
        for a in (self.act_add_folder, self.act_index, self.act_cancel):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        m = bar.addMenu("&Search")
        m.addAction(self._action("&Text query", self._focus_text, "Ctrl+F", "search", "Type a text query"))
        m.addAction(self._action("&Example file…", self._choose_example, "Ctrl+O", "file", "Search by an example image, audio or video file"))
        m.addAction(self._action("&Search", self.search_page.query.request_search, None, "search"))
        m.addSeparator()
        for grade, label in ((2, "Mark &highly relevant\t2"), (1, "Mark &relevant\t1"), (0, "Mark &not relevant\t0")):
            m.addAction(self._action(label, lambda _=False, g=grade: self.search_page.results._grade_current(g)))

        m = bar.addMenu("&View")
        group = QActionGroup(self)
        self.page_actions = []
        for i, (key, title, glyph) in enumerate(PAGES):
            a = self._action(title, lambda _=False, k=key: self.show_page(k), f"Ctrl+{i + 1}", glyph)
            a.setCheckable(True)
            group.addAction(a)
            m.addAction(a)
            self.page_actions.append(a)
        m.addSeparator()
        self.act_dark = self._action("&Dark palette", self._toggle_dark, "Ctrl+Shift+D", "moon")
        self.act_dark.setCheckable(True)
        self.act_dark.setChecked(bool(self.ctx.prefs.get("view/dark", False, bool)))
        m.addAction(self.act_dark)
        self.act_full = self._action("&Full screen", self._toggle_full, QKeySequence.StandardKey.FullScreen)
        m.addAction(self.act_full)

        m = bar.addMenu("&Evaluate")
        m.addAction(self._action("&Run evaluation", self._run_eval, "Ctrl+R", "evaluate"))
        m.addAction(self._action("&Export HTML report…", lambda: self.eval_view.export_dialog("html"), "Ctrl+E", "export"))
        m.addAction(self._action("Export &CSV…", lambda: self.eval_view.export_dialog("csv"), None, "export"))
        m.addAction(self._action("Export &JSON…", lambda: self.eval_view.export_dialog("json"), None, "export"))

        m = bar.addMenu("&Help")
        m.addAction(self._action("&Keyboard shortcuts", self._show_shortcuts, QKeySequence.StandardKey.HelpContents, "info"))
        m.addAction(self._action("&About mediasearch", self._about))

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
        index = [k for k, _, _ in PAGES].index(key)
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

    def _run_eval(self) -> None:
        self.show_page("evaluate")
        self.eval_view.run_evaluation()

    # -- library -------------------------------------------------------------------------------
    def choose_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open or create a library folder", str(self.ctx.settings.library_dir.parent))
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
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _library_changed(self) -> None:
        try:
            summary = actions.summarise(self.ctx.library.catalog)
        except MediaSearchError as exc:
            self.ctx.error(exc)
            return
        lib = self.ctx.settings.library_dir
        self.library_label.setText(f"{lib.name} · {summary.describe()}")
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
        self.update()

    def _toggle_full(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _show_shortcuts(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setIconPixmap(icon("info").pixmap(32))
        box.setText(SHORTCUTS_HELP)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _about(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            core_version = version("mediasearch")
        except PackageNotFoundError:
            core_version = "(source tree)"
        QMessageBox.about(
            self,
            "About mediasearch",
            f"<h3>mediasearch {core_version}</h3><p>Local-first search over your own images, videos and audio, "
            "and evaluation of which encoder works best on them.</p>"
            f"<p>Library: {self.ctx.settings.library_dir}<br>Models: {self.ctx.settings.model_dir}</p>",
        )

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
        self.save_state()
        if self.library_panel.worker is not None:
            self.statusBar().showMessage("Stopping indexing (what is done is kept)…")
        self.ctx.shutdown()
        event.accept()

