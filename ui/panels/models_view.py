"""The Models page: which weights are present, missing, partial or corrupt in the model
store; pull them (with progress and cancel), import them from a local file or folder,
and verify checksums. Every job runs the :class:`~mediasearch.modelstore.ModelStore`
API in a worker.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mediasearch.errors import MediaSearchError
from mediasearch.progress import Progress
from ui.context import AppContext
from ui.i18n.core_strings import core_text
from ui.models import Cell, Table
from ui.resources import icon
from ui.text import format_bytes, time_left
from ui.widgets import Table as TableView
from ui.widgets import header, hint
from ui.workers import CallWorker

log = logging.getLogger(__name__)

STATUS_COLOURS = {
    "present": QColor("#15803d"),
    "missing": QColor("#6b7280"),
    "partial": QColor("#b45309"),
    "corrupt": QColor("#dc2626"),
}

#: sizes are shown as the CLI prints them (decimal units)
_size = format_bytes


def file_state(state: str) -> str:
    """A model file's state (ok, unverified, missing, part, size-mismatch, hash-mismatch) in words."""
    names = {
        "ok": QCoreApplication.translate("ModelsView", "ok"),
        "unverified": QCoreApplication.translate("ModelsView", "unverified"),
        "missing": QCoreApplication.translate("ModelsView", "missing"),
        "part": QCoreApplication.translate("ModelsView", "partly downloaded"),
        "size-mismatch": QCoreApplication.translate("ModelsView", "wrong size"),
        "hash-mismatch": QCoreApplication.translate("ModelsView", "checksum differs"),
    }
    return names.get(state, state)


class ModelsView(QWidget):
    """Model store status and actions."""

    job_finished = Signal(object)
    job_failed = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.worker: CallWorker | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        self.title = header(self.tr("Models"), "…")
        self.subtitle = self.title.findChild(QLabel, "pageSubtitle")
        outer.addWidget(self.title)
        self.table = TableView(stretch_column=5)
        self.table.setObjectName("modelsTable")
        self.table.setSelectionMode(TableView.SelectionMode.SingleSelection)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        outer.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.pull_button = QPushButton(icon("download"), self.tr("Pull"))
        self.pull_button.setToolTip(self.tr("Download the selected model from its official source (or the mirror) and verify it"))
        self.pull_button.clicked.connect(lambda: self.pull(self.selected()))
        self.import_button = QPushButton(icon("import"), self.tr("Import from file…"))
        self.import_button.setToolTip(self.tr("Install the selected model from a local file or folder (offline); checked against the manifest"))
        self.import_button.clicked.connect(self._import_dialog)
        self.verify_button = QPushButton(icon("verify"), self.tr("Verify"))
        self.verify_button.setToolTip(self.tr("Re-hash the installed files of the selected model (or all) against the manifest"))
        self.verify_button.clicked.connect(lambda: self.verify(self.selected()))
        self.refresh_button = QPushButton(icon("index"), self.tr("Refresh"))
        self.refresh_button.setToolTip(self.tr("Read the model folder again"))
        self.refresh_button.clicked.connect(self.refresh)
        self.cancel_button = QPushButton(icon("stop"), self.tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        for b in (self.pull_button, self.import_button, self.verify_button, self.refresh_button, self.cancel_button):
            row.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setFormat(self.tr("idle"))
        self.progress.setValue(0)
        row.addWidget(self.progress, 1)
        outer.addLayout(row)
        self.message = hint("")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.message)
        self.details = QLabel("")
        self.details.setObjectName("modelDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.insertWidget(2, self.details)
        self._details = {}
        ctx.models_changed.connect(self.refresh)
        self.refresh()

    def store(self):  # -> ModelStore
        from mediasearch.modelstore import ModelStore

        return ModelStore(self.ctx.settings.model_dir)

    def refresh(self) -> None:
        """Re-read every model's status (sizes and install records; no hashing)."""
        from mediasearch.modelstore.store import needed_by

        try:
            store = self.store()
            statuses = store.statuses()
            rows = []
            self._details: dict[str, str] = {}
            for st in statuses:
                entry = store.entry(st.name)
                status = st.status.value
                tip = "; ".join(f"{f.path}: {file_state(f.state)}" for f in st.files)
                users = needed_by(st.name)
                shown = ", ".join(users) if len(users) <= 3 else self.tr("{first} and {n} more").format(
                    first=", ".join(users[:2]), n=len(users) - 2)
                on_disk = st.size_on_disk
                if on_disk:
                    disk = Cell(_size(on_disk), sort=on_disk, align_right=True,
                                tooltip=self.tr("{n} bytes on disk").format(n=f"{on_disk:,}"))
                else:
                    disk = Cell("—", sort=0, align_right=True, tooltip=self.tr("nothing installed"))
                if entry.size:
                    published = Cell(_size(entry.size), sort=entry.size, align_right=True,
                                     tooltip=self.tr("{n} bytes in the manifest").format(n=f"{entry.size:,}"))
                else:
                    published = Cell("—", sort=0, align_right=True,
                                     tooltip=self.tr("the manifest publishes no size (checked by checksum on first use)"))
                about = core_text(entry.description) + ("; " + "; ".join(st.notes) if st.notes else "")
                state = core_text(status) + (self.tr(" (forced)") if st.forced else "")
                rows.append(
                    [
                        Cell(st.name, bold=True, tooltip=about),
                        Cell(state, colour=STATUS_COLOURS.get(status), tooltip=tip, bold=True),
                        disk,
                        published,
                        Cell(entry.licence),
                        Cell(shown or "—", tooltip=", ".join(users)),
                    ]
                )
                facts = self.tr("licence {licence} · loaded by {library} · files: {files}").format(
                    licence=entry.licence, library=entry.library, files=tip)
                where = self.tr("installs to {path}").format(path=store.path(st.name))
                self._details[st.name] = f"<b>{st.name}</b> — {about}<br>{facts}<br>{where}"
        except MediaSearchError as exc:
            self.ctx.error(exc)
            return
        headers = [self.tr("Model"), self.tr("Status"), self.tr("On disk"), self.tr("Published size"), self.tr("Licence"),
                   self.tr("Used by encoders")]
        tips = ["", "", self.tr("Bytes of the installed files (as `mediasearch models list` shows)"),
                self.tr("Bytes of the official files, from the manifest"), "", ""]
        self.table.set_table(Table(headers, rows, tips))
        present = sum(1 for s in statuses if s.status.value == "present")
        self.subtitle.setText(self.tr("Model folder {path} · {present} of {total} installed").format(
            path=self.ctx.settings.model_dir, present=present, total=len(statuses)))
        self._selection_changed()

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.cell_text(rows[0].row(), 0) if rows else None

    def select(self, name: str) -> None:
        for row in range(self.table.proxy.rowCount()):
            if self.table.cell_text(row, 0) == name:
                self.table.selectRow(row)
                return

    def _selection_changed(self, *_: object) -> None:
        busy = self.worker is not None
        chosen = self.selected() is not None
        self.pull_button.setEnabled(chosen and not busy)
        self.import_button.setEnabled(chosen and not busy)
        self.verify_button.setEnabled(not busy)
        self.verify_button.setText(self.tr("Verify") if chosen else self.tr("Verify all"))
        name = self.selected()
        self.details.setText(self._details.get(name, self.tr("Select a model to see its files and where it installs.")) if name else
                             self.tr("Select a model to pull, import or verify it."))

    # -- jobs ---------------------------------------------------------------------------
    def _start(self, fn, title: str) -> CallWorker:  # noqa: ANN001
        self.worker = CallWorker(self.ctx.settings, fn, title=title, needs_library=False)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat(f"{title}…")
        self.message.setText("")
        self._selection_changed()
        self.ctx.start(self.worker)
        return self.worker

    def pull(self, name: str | None) -> CallWorker | None:
        if not name or self.worker is not None:
            return None
        store = self.store()

        def run(_lib, report, cancel):  # noqa: ANN001, ANN202
            status = store.pull(name, progress=report, cancel=cancel)
            return f"{name}: {core_text(status.status.value)}"

        return self._start(run, self.tr("Pulling {name}").format(name=name))

    def _import_dialog(self) -> None:
        name = self.selected()
        if not name:
            return
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import {name} from a file").format(name=name), str(Path.home()),
                                              self.tr("All files") + " (*)")
        if not path:
            path = QFileDialog.getExistingDirectory(self, self.tr("…or import {name} from a folder").format(name=name), str(Path.home()))
        if path:
            self.import_file(name, Path(path))

    def import_file(self, name: str, path: Path, *, force: bool = False) -> CallWorker | None:
        if self.worker is not None:
            return None
        store = self.store()

        def run(_lib, report, _cancel):  # noqa: ANN001, ANN202
            status = store.import_(name, path, force=force, progress=report)
            return self.tr("{name}: {status} (imported from {path})").format(name=name, status=core_text(status.status.value), path=path)

        return self._start(run, self.tr("Importing {name}").format(name=name))

    def verify(self, name: str | None = None) -> CallWorker | None:
        if self.worker is not None:
            return None
        store = self.store()

        def run(_lib, report, _cancel):  # noqa: ANN001, ANN202
            checks = store.verify([name] if name else None, progress=report)
            bad = [c for c in checks if not c.ok]
            if not checks:
                return self.tr("Nothing installed to verify.")
            if not bad:
                return self.tr("{n} files verified: all match the manifest.").format(n=len(checks))
            return self.tr("Problems: {problems}").format(problems="; ".join(f"{c.name}/{c.path}: {c.result}" for c in bad))

        return self._start(run, self.tr("Verifying"))

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, max(p.total, 1))
            self.progress.setValue(min(p.done, p.total))
            if p.unit in ("B", "byte", "bytes"):
                self.progress.setFormat(f"{_size(p.done)} / {_size(p.total)}")
            else:
                self.progress.setFormat(f"{p.done} / {p.total}")
        rate = ""
        if p.rate and p.unit in ("B", "byte", "bytes"):
            rate = f" · {_size(int(p.rate))}/s"
        eta = " · " + time_left(p.eta_s) if p.eta_s is not None else ""
        self.message.setText(f"{core_text(p.stage)}: {p.current}{rate}{eta}")

    def _finish(self) -> None:
        self.worker = None
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self._selection_changed()

    def _on_finished(self, message: str) -> None:
        self._finish()
        self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(self.tr("done"))
        self.message.setText(message)
        self.ctx.say(message, 8000)
        self.ctx.models_changed.emit()
        self.job_finished.emit(message)

    def _on_failed(self, exc: BaseException) -> None:
        self._finish()
        self.progress.setFormat(self.tr("failed"))
        self.message.setText(str(exc))
        self.refresh()
        self.job_failed.emit(exc)
        self.ctx.error(exc)
