"""The Library page: folders, encoders per media type, indexing with progress and cancel,
and the files that were skipped (with reasons).

Indexing runs :func:`mediasearch.indexing.index_paths` in an :class:`IndexWorker`; the
window stays responsive, Cancel stops at the next file and keeps what was done, and
pressing Index again resumes (the core's mark-and-sweep skips what is already indexed).
With "Watch folders" on, changes on disk trigger a re-index after a short quiet spell.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mediasearch.encoders.registry import REGISTRY, weights_present
from mediasearch.errors import MediaSearchError
from mediasearch.media import Stream
from mediasearch.progress import Progress
from ui import actions
from ui.context import AppContext
from ui.i18n.core_strings import core_text
from ui.models import Cell, Table, kind_name
from ui.resources import icon
from ui.text import describe_summary, time_left
from ui.widgets import Table as TableView
from ui.widgets import header, hint
from ui.workers import IndexOutcome, IndexWorker, RemoveFoldersWorker

log = logging.getLogger(__name__)

translate = QCoreApplication.translate


def encoder_groups() -> list[tuple[str, set, str]]:
    """Media-type groups of the encoder picker: (title, streams an encoder must index, tooltip)."""
    return [
        (translate("LibraryPanel", "Images and video frames"), {Stream.IMAGE, Stream.FRAME},
         translate("LibraryPanel", "Encoders that embed still images and sampled video frames")),
        (translate("LibraryPanel", "Audio and soundtracks"), {Stream.AUDIO},
         translate("LibraryPanel", "Encoders that embed windows of audio files and of videos' soundtracks")),
        (translate("LibraryPanel", "Speech (transcripts)"), {Stream.SPEECH},
         translate("LibraryPanel", "Speech recognisers: transcripts of audio and video, searchable by text")),
    ]
#: encoders ticked the first time a library is opened (weight-free, like the CLI's default)
DEFAULT_ENCODERS = ["baseline-image", "baseline-audio"]
#: seconds of quiet after a change on disk before the watcher re-indexes
WATCH_DEBOUNCE_MS = 3000
#: directories watched at most (QFileSystemWatcher uses one inotify watch each)
WATCH_MAX_DIRS = 2000


def encoder_available(name: str) -> bool:
    """Whether the encoder's code is installed (its module importable), without importing it."""
    module = REGISTRY[name].factory.partition(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def describe_progress(p: Progress) -> str:
    """One line: stage, done/total, rate and time left."""
    plural = p.unit + "s" if p.unit and (p.total or p.done) != 1 else p.unit
    unit = core_text(plural) if plural in ("file", "files") else core_text(p.unit)
    text = f"{core_text(p.stage)}: {p.done}" + (f" / {p.total}" if p.total is not None else "") + f" {unit}"
    if p.rate:
        text += f" · {p.rate:.1f} {core_text(p.unit)}/s"
    if p.eta_s is not None and p.total and p.done < p.total:
        text += " · " + time_left(p.eta_s)
    return text


class LibraryPanel(QWidget):
    """Folders, encoder choice, indexing and its report."""

    indexing_started = Signal()
    indexing_finished = Signal(object)  # IndexOutcome (also when cancelled)
    indexing_failed = Signal(object)
    folders_changed = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.worker: IndexWorker | None = None
        self.remover: RemoveFoldersWorker | None = None
        self._reindex_after = False
        self.last_outcome: IndexOutcome | None = None
        self.setAcceptDrops(True)
        self._build()
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._on_disk_change)
        self._debounce = QTimer(self, singleShot=True, interval=WATCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._watch_fired)
        ctx.library_opened.connect(self.reload)
        ctx.models_changed.connect(self._fill_encoders)
        self.reload()

    # -- layout ----------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        self.title = header(self.tr("Library"), "…")
        outer.addWidget(self.title)
        self.summary = self.title.findChild(QLabel, "pageSubtitle") or hint("")

        top = QSplitter(Qt.Orientation.Horizontal)
        top.setChildrenCollapsible(False)

        folders_box = QGroupBox(self.tr("Folders"))
        fl = QVBoxLayout(folders_box)
        self.folder_list = QListWidget()
        self.folder_list.setObjectName("folderList")
        self.folder_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.folder_list.setToolTip(self.tr("The folders this library indexes. Drop folders here to add them."))
        self.folder_list.setAlternatingRowColors(True)
        fl.addWidget(self.folder_list, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton(icon("folder-add"), self.tr("Add folder…"))
        self.add_button.setToolTip(self.tr("Add a folder to index (Ctrl+Shift+O); you can also drop folders on this page"))
        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button = QPushButton(icon("remove"), self.tr("Remove"))
        self.remove_button.setToolTip(self.tr("Take the selected folders out of the library (their files leave the index)"))
        self.remove_button.clicked.connect(self._remove_selected)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        fl.addLayout(row)
        self.watch_box = QCheckBox(self.tr("Watch folders and re-index on changes"))
        self.watch_box.setToolTip(self.tr("Re-index automatically a few seconds after files are added, changed or deleted"))
        self.watch_box.toggled.connect(self._watch_toggled)
        fl.addWidget(self.watch_box)
        fl.addWidget(hint(self.tr("Drop folders here. Only new and changed files are processed on each run.")))
        top.addWidget(folders_box)

        enc_box = QGroupBox(self.tr("Encoders per media type"))
        el = QVBoxLayout(enc_box)
        self.encoder_tree = QTreeWidget()
        self.encoder_tree.setObjectName("encoderTree")
        self.encoder_tree.setHeaderLabels([self.tr("Encoder"), self.tr("Weights"), self.tr("About")])
        self.encoder_tree.setRootIsDecorated(False)
        self.encoder_tree.setUniformRowHeights(True)
        self.encoder_tree.itemChanged.connect(self._encoders_edited)
        el.addWidget(self.encoder_tree, 1)
        el.addWidget(hint(self.tr("Encoders whose weights are missing can be installed on the Models page.")))
        top.addWidget(enc_box)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 1)

        run_box = QGroupBox(self.tr("Indexing"))
        rl = QGridLayout(run_box)
        self.index_button = QPushButton(icon("index"), self.tr("Index now"))
        self.index_button.setObjectName("indexButton")
        self.index_button.setToolTip(self.tr("Index new and changed files in every folder (F5)"))
        self.index_button.clicked.connect(self.start_indexing)
        self.cancel_button = QPushButton(icon("stop"), self.tr("Cancel"))
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip(self.tr("Stop after the current file; what is done is kept and the next run resumes (Esc)"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_indexing)
        self.progress = QProgressBar()
        self.progress.setObjectName("indexProgress")
        self.progress.setTextVisible(True)
        self.progress.setFormat(self.tr("idle"))
        self.progress.setValue(0)
        self.stage_label = QLabel(self.tr("Ready."))
        self.current_label = hint("")
        self.current_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report_label = QLabel("")
        self.report_label.setWordWrap(True)
        rl.addWidget(self.index_button, 0, 0)
        rl.addWidget(self.cancel_button, 0, 1)
        rl.addWidget(self.progress, 0, 2)
        rl.addWidget(self.stage_label, 1, 0, 1, 3)
        rl.addWidget(self.current_label, 2, 0, 1, 3)
        rl.addWidget(self.report_label, 3, 0, 1, 3)
        rl.setColumnStretch(2, 1)

        self.skipped_box = QGroupBox(self.tr("Skipped files"))
        sl = QVBoxLayout(self.skipped_box)
        self.skipped_table = TableView(stretch_column=2)
        self.skipped_table.setObjectName("skippedTable")
        self.skipped_table.setToolTip(self.tr("Files that could not be indexed, and why"))
        sl.addWidget(self.skipped_table)

        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.setChildrenCollapsible(False)
        vsplit.addWidget(top)
        vsplit.addWidget(run_box)
        vsplit.addWidget(self.skipped_box)
        vsplit.setStretchFactor(0, 3)
        vsplit.setStretchFactor(2, 2)
        self.splitter = vsplit
        outer.addWidget(vsplit, 1)

    # -- state ----------------------------------------------------------------------------
    def reload(self) -> None:
        """Show the open library: its folders, encoder choice, counts and skipped files."""
        settings = self.ctx.settings
        self.folder_list.clear()
        # the library's own record of its roots (the CLI adds to it too), then this app's list
        roots = [Path(r) for r in self.ctx.library.catalog.roots()]
        for folder in dict.fromkeys([*roots, *self.ctx.prefs.folders(settings.library_dir)]):
            self._add_folder_item(folder)
        self._fill_encoders()
        self.refresh_summary()
        self.watch_box.blockSignals(True)
        self.watch_box.setChecked(bool(self.ctx.prefs.get("library/watch", False, bool)))
        self.watch_box.blockSignals(False)
        self._rewatch()

    def folders(self) -> list[Path]:
        return [Path(self.folder_list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.folder_list.count())]

    def _add_folder_item(self, folder: Path) -> None:
        item = QListWidgetItem(icon("library"), str(folder))
        item.setData(Qt.ItemDataRole.UserRole, str(folder))
        if not folder.is_dir():
            item.setToolTip(self.tr("This folder does not exist (any more); its files leave the index on the next run"))
            item.setForeground(Qt.GlobalColor.darkRed)
        else:
            item.setToolTip(str(folder))
        self.folder_list.addItem(item)

    def _save_folders(self) -> None:
        self.ctx.prefs.set_folders(self.ctx.settings.library_dir, self.folders())
        try:  # the library records its roots, so the CLI sees them too
            with self.ctx.library.catalog.transaction():
                for folder in self.folders():
                    self.ctx.library.catalog.add_root(folder)
        except MediaSearchError as exc:  # another program is writing: the next index run records them
            log.info("roots not recorded now: %s", exc)
        self._rewatch()
        self.folders_changed.emit()

    def add_folders(self, paths: list[Path]) -> list[Path]:
        """Add folders (files and duplicates are ignored); returns those added."""
        known = {p.resolve() for p in self.folders()}
        added = []
        for path in paths:
            path = Path(path).expanduser()
            if not path.is_dir():
                continue
            path = path.resolve()
            if path in known or any(path.is_relative_to(k) for k in known):
                self.ctx.say(self.tr("{path} is already in the library").format(path=path))
                continue
            known.add(path)
            added.append(path)
            self._add_folder_item(path)
        if added:
            self._save_folders()
            self.ctx.say(self.tr("Added {names}; press Index now (F5) to index").format(names=", ".join(p.name for p in added)))
        return added

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Add a folder to the library"), str(Path.home()))
        if folder:
            self.add_folders([Path(folder)])

    def _remove_selected(self) -> None:
        selected = [Path(i.data(Qt.ItemDataRole.UserRole)) for i in self.folder_list.selectedItems()]
        if not selected:
            self.ctx.say(self.tr("Select the folders to remove first"))
            return
        names = "\n".join(str(p) for p in selected)
        answer = QMessageBox.question(
            self,
            self.tr("Remove folders"),
            self.tr("Take these folders out of the library?\n\n{folders}\n\nTheir files leave the index "
                    "(the files themselves are not touched; judgements are kept).").format(folders=names),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_folders(selected)

    def remove_folders(self, folders: list[Path]) -> RemoveFoldersWorker | None:
        """Take folders out of the library and forget their files (in a worker)."""
        if self.worker is not None:
            self.ctx.error(self.tr("Wait for indexing to finish (or cancel it) before removing folders."))
            return None
        wanted = {Path(f).resolve() for f in folders}
        for i in reversed(range(self.folder_list.count())):
            if Path(self.folder_list.item(i).data(Qt.ItemDataRole.UserRole)).resolve() in wanted:
                self.folder_list.takeItem(i)
        self._save_folders()
        self.remover = RemoveFoldersWorker(self.ctx.settings, sorted(wanted))
        self.remover.finished.connect(self._removed)
        self.remover.failed.connect(self._failed)
        self.ctx.start(self.remover)
        return self.remover

    def _removed(self, result: tuple[int, actions.LibrarySummary]) -> None:
        removed, summary = result
        self.remover = None
        self.ctx.say(self.tr("Removed {n} files from the index").format(n=removed))
        self._show_summary(summary)
        self.ctx.library_updated.emit()

    # -- encoders ---------------------------------------------------------------------------
    def _fill_encoders(self) -> None:
        settings = self.ctx.settings
        chosen = self.ctx.prefs.encoders(settings.library_dir)
        if chosen is None:
            chosen = DEFAULT_ENCODERS + list(self.ctx.library.indexed_encoders())
        tree = self.encoder_tree
        tree.blockSignals(True)
        tree.clear()
        for title, streams, tip in encoder_groups():
            group = QTreeWidgetItem([title])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setToolTip(0, tip)
            group.setFirstColumnSpanned(True)
            tree.addTopLevelItem(group)
            for spec in REGISTRY.values():
                if not spec.streams & streams:
                    continue
                installed = encoder_available(spec.name)
                present = weights_present(spec, settings) if installed else False
                status = self.tr("built in") if not spec.models else (self.tr("present") if present else self.tr("missing"))
                if not installed:
                    status = self.tr("not installed")
                description = core_text(spec.description)
                item = QTreeWidgetItem(["    " + spec.name, status, description])
                item.setData(0, Qt.ItemDataRole.UserRole, spec.name)
                usable = installed and present
                flags = Qt.ItemFlag.ItemIsUserCheckable | (Qt.ItemFlag.ItemIsEnabled if usable else Qt.ItemFlag.NoItemFlags)
                item.setFlags(flags)
                item.setCheckState(0, Qt.CheckState.Checked if usable and spec.name in chosen else Qt.CheckState.Unchecked)
                queries = ", ".join(kind_name(m.value) for m in sorted(spec.query_modalities, key=lambda m: m.value))
                facts = self.tr("queries: {kinds} · {dim}-d · {licence}").format(kinds=queries, dim=spec.dim, licence=core_text(spec.licence))
                tooltip = f"<b>{spec.name}</b><br>{description}<br>{facts}"
                if not installed:
                    tooltip += "<br><i>" + self.tr("its code is not part of this install") + "</i>"
                elif not present:
                    tooltip += "<br><i>" + self.tr("weights missing: pull or import {models} on the Models page").format(
                        models=", ".join(spec.models)) + "</i>"
                for col in range(3):
                    item.setToolTip(col, tooltip)
                group.addChild(item)
            group.setExpanded(True)
            if group.childCount() == 0:
                tree.takeTopLevelItem(tree.indexOfTopLevelItem(group))
        tree.blockSignals(False)
        tree.resizeColumnToContents(0)
        tree.resizeColumnToContents(1)

    def selected_encoders(self) -> list[str]:
        names = []
        for g in range(self.encoder_tree.topLevelItemCount()):
            group = self.encoder_tree.topLevelItem(g)
            for c in range(group.childCount()):
                item = group.child(c)
                if item.checkState(0) == Qt.CheckState.Checked:
                    names.append(item.data(0, Qt.ItemDataRole.UserRole))
        return names

    def set_encoders(self, names: list[str]) -> None:
        """Tick exactly these encoders (those usable here)."""
        self.ctx.prefs.set_encoders(self.ctx.settings.library_dir, list(names))
        self._fill_encoders()

    def _encoders_edited(self, *_: object) -> None:
        self.ctx.prefs.set_encoders(self.ctx.settings.library_dir, self.selected_encoders())

    # -- indexing ----------------------------------------------------------------------------
    @property
    def indexing(self) -> bool:
        return self.worker is not None

    def start_indexing(self) -> IndexWorker | None:
        """Index every folder with the ticked encoders, in a worker; returns it."""
        if self.worker is not None:
            return self.worker
        folders = self.folders()
        if not folders:
            self.ctx.error(self.tr("Add a folder to the library first (Add folder…, or drop one on the Library page)."))
            return None
        encoders = self.selected_encoders()
        if not encoders:
            self.ctx.error(self.tr("Tick at least one encoder to index with."))
            return None
        self.worker = IndexWorker(self.ctx.settings, folders, encoders)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._failed)
        self.index_button.setEnabled(False)
        self.remove_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat(self.tr("starting…"))
        self.stage_label.setText(self.tr("Loading {encoders}…").format(encoders=", ".join(encoders)))
        self.current_label.setText("")
        self.report_label.setText("")
        self.ctx.start(self.worker)
        self.indexing_started.emit()
        return self.worker

    def cancel_indexing(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.stage_label.setText(self.tr("Cancelling after the current file…"))

    def _on_progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(min(p.done, p.total))
            self.progress.setFormat(f"{p.done} / {p.total}")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{p.done}")
        self.stage_label.setText(describe_progress(p))
        if p.current:
            self.current_label.setText(p.current)
        self.ctx.status.emit(self.tr("Indexing · {progress}").format(progress=describe_progress(p)), 0)

    def _on_finished(self, outcome: IndexOutcome) -> None:
        self.worker = None
        self.last_outcome = outcome
        report = outcome.report
        self._idle()
        if report.cancelled:
            self.stage_label.setText(self.tr("Cancelled. What was indexed is kept; press Index now to resume."))
            self.progress.setFormat(self.tr("cancelled"))
        else:
            self.stage_label.setText(self.tr("Done in {seconds} s.").format(seconds=f"{report.wall_s:.1f}"))
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.progress.setFormat(self.tr("done"))
        lines = [
            self.tr("{scanned} files scanned: {new} new, {changed} changed, {moved} moved, "
                    "{removed} removed, {unchanged} unchanged, {skipped} skipped.").format(
                scanned=report.scanned, new=report.new, changed=report.changed, moved=report.moved,
                removed=report.removed, unchanged=report.unchanged, skipped=report.skipped)
        ]
        for name, stats in report.encoders.items():
            rate = ", " + self.tr("{rate} files/s").format(rate=f"{stats.items / stats.wall_s:.1f}") if stats.wall_s > 0 and stats.items else ""
            lines.append(self.tr("{encoder}: {files} files, {segments} segments").format(
                encoder=name, files=stats.items, segments=stats.segments) + rate)
        self.report_label.setText("\n".join(lines))
        self.current_label.setText("")
        self._show_summary(outcome.summary)
        self.ctx.say(self.tr("Indexing cancelled") if report.cancelled else
                     self.tr("Indexed · {summary}").format(summary=describe_summary(outcome.summary)), 8000)
        self.ctx.library_updated.emit()
        self.indexing_finished.emit(outcome)
        if self._reindex_after and not report.cancelled:
            self._reindex_after = False
            QTimer.singleShot(0, self.start_indexing)

    def _failed(self, exc: BaseException) -> None:
        if self.remover is not None and self.remover.error is exc:
            self.remover = None
        else:
            self.worker = None
            self._idle()
            self.stage_label.setText(self.tr("Indexing failed."))
            self.progress.setFormat(self.tr("failed"))
            self.indexing_failed.emit(exc)
        self.ctx.error(exc)

    def _idle(self) -> None:
        self.index_button.setEnabled(True)
        self.remove_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        self.ctx.status.emit("", 1)

    # -- summary -------------------------------------------------------------------------------
    def refresh_summary(self) -> None:
        try:
            self._show_summary(actions.summarise(self.ctx.library.catalog))
        except MediaSearchError as exc:
            self.ctx.error(exc)

    def _show_summary(self, summary: actions.LibrarySummary) -> None:
        self.summary.setText(f"{self.ctx.settings.library_dir} — {describe_summary(summary)}")
        rows = [
            [Cell(Path(p).name, tooltip=p), Cell(enc or "—"), Cell(reason, tooltip=f"{p}\n{reason}")]
            for p, enc, reason in summary.skipped
        ]
        self.skipped_table.set_table(Table([self.tr("File"), self.tr("Encoder"), self.tr("Reason")], rows))
        self.skipped_box.setTitle(self.tr("Skipped files ({n})").format(n=len(rows)) if rows else self.tr("Skipped files (none)"))

    # -- drag and drop -----------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls()
        if urls and any(u.isLocalFile() and os.path.isdir(u.toLocalFile()) for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if self.add_folders([p for p in paths if p.is_dir()]):
            event.acceptProposedAction()

    # -- watching ----------------------------------------------------------------------------------
    def _watch_toggled(self, on: bool) -> None:
        self.ctx.prefs.set("library/watch", on)
        self._rewatch()

    def _rewatch(self) -> None:
        watched = self.watcher.directories()
        if watched:
            self.watcher.removePaths(watched)
        if not self.watch_box.isChecked():
            return
        dirs: list[str] = []
        for root in self.folders():
            for current, subdirs, _files in os.walk(root):
                subdirs[:] = [d for d in subdirs if not d.startswith(".")]
                dirs.append(current)
                if len(dirs) >= WATCH_MAX_DIRS:
                    break
        if dirs:
            self.watcher.addPaths(dirs)
        log.debug("watching %d folders", len(dirs))

    def _on_disk_change(self, path: str) -> None:
        log.debug("change under %s", path)
        self._debounce.start()

    def _watch_fired(self) -> None:
        if self.worker is not None:
            self._reindex_after = True
            return
        self.ctx.say(self.tr("Files changed on disk: re-indexing"))
        self.start_indexing()
        self._rewatch()
