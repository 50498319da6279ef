"""The Models page: which weights are present, missing, partial or corrupt in the model
store; pull them (with progress and cancel), import them from a local file or folder,
and verify checksums. Every job runs the :class:`~mediasearch.modelstore.ModelStore`
API in a worker.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
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
from ui.models import Cell, Table
from ui.resources import icon
from ui.widgets import Table as TableView
from ui.widgets import header, hint
from ui.workers import CallWorker

log = logging.getLogger(__name__)

STATUS_COLOURS = {
    "present": QColor("#16a34a"),
    "missing": QColor("#9ca3af"),
    "partial": QColor("#d97706"),
    "corrupt": QColor("#dc2626"),
}


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


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
        self.title = header("Models", "…")
        self.subtitle = self.title.findChild(QLabel, "pageSubtitle")
        outer.addWidget(self.title)
        self.table = TableView(stretch_column=4)
        self.table.setObjectName("modelsTable")
        self.table.setSelectionMode(TableView.SelectionMode.SingleSelection)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        outer.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.pull_button = QPushButton(icon("download"), "Pull")
        self.pull_button.setToolTip("Download the selected model from its official source (or the mirror) and verify it")
        self.pull_button.clicked.connect(lambda: self.pull(self.selected()))
        self.import_button = QPushButton(icon("import"), "Import from file…")
        self.import_button.setToolTip("Install the selected model from a local file or folder (offline); checked against the manifest")
        self.import_button.clicked.connect(self._import_dialog)
        self.verify_button = QPushButton(icon("verify"), "Verify")
        self.verify_button.setToolTip("Re-hash the installed files of the selected model (or all) against the manifest")
        self.verify_button.clicked.connect(lambda: self.verify(self.selected()))
        self.refresh_button = QPushButton(icon("index"), "Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.cancel_button = QPushButton(icon("stop"), "Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        for b in (self.pull_button, self.import_button, self.verify_button, self.refresh_button, self.cancel_button):
            row.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setFormat("idle")
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
                tip = "; ".join(f"{f.path}: {f.state}" for f in st.files)
                users = needed_by(st.name)
                shown = ", ".join(users) if len(users) <= 3 else f"{', '.join(users[:2])} and {len(users) - 2} more"
                size = Cell(_size(entry.size), sort=entry.size, align_right=True, tooltip=f"{entry.size:,} bytes")
                if not entry.size:
                    size = Cell("unknown", sort=0, align_right=True, tooltip="no published size (trusted on first use)")
                about = entry.description + ("; " + "; ".join(st.notes) if st.notes else "")
                rows.append(
                    [
                        Cell(st.name, bold=True, tooltip=about),
                        Cell(status + (" (forced)" if st.forced else ""), colour=STATUS_COLOURS.get(status), tooltip=tip, bold=True),
                        size,
                        Cell(entry.licence),
                        Cell(shown or "—", tooltip=", ".join(users)),
                    ]
                )
                self._details[st.name] = (
                    f"<b>{st.name}</b> — {about}<br>licence {entry.licence} · loaded by {entry.library} · "
                    f"files: {tip}<br>installs to {store.path(st.name)}"
                )
        except MediaSearchError as exc:
            self.ctx.error(exc)
            return
        self.table.set_table(Table(["Model", "Status", "Size", "Licence", "Used by encoders"], rows))
        present = sum(1 for s in statuses if s.status.value == "present")
        self.subtitle.setText(f"Model folder {self.ctx.settings.model_dir} · {present} of {len(statuses)} installed")
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
        self.verify_button.setText("Verify" if chosen else "Verify all")
        name = self.selected()
        self.details.setText(self._details.get(name, "Select a model to see its files and where it installs.") if name else
                             "Select a model to pull, import or verify it.")

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
            return f"{name}: {status.status.value}"

        return self._start(run, f"Pulling {name}")

    def _import_dialog(self) -> None:
        name = self.selected()
        if not name:
            return
        path, _ = QFileDialog.getOpenFileName(self, f"Import {name} from a file", str(Path.home()), "All files (*)")
        if not path:
            path = QFileDialog.getExistingDirectory(self, f"…or import {name} from a folder", str(Path.home()))
        if path:
            self.import_file(name, Path(path))

    def import_file(self, name: str, path: Path, *, force: bool = False) -> CallWorker | None:
        if self.worker is not None:
            return None
        store = self.store()

        def run(_lib, report, _cancel):  # noqa: ANN001, ANN202
            status = store.import_(name, path, force=force, progress=report)
            return f"{name}: {status.status.value} (imported from {path})"

        return self._start(run, f"Importing {name}")

    def verify(self, name: str | None = None) -> CallWorker | None:
        if self.worker is not None:
            return None
        store = self.store()

        def run(_lib, report, _cancel):  # noqa: ANN001, ANN202
            checks = store.verify([name] if name else None, progress=report)
            bad = [c for c in checks if not c.ok]
            if not checks:
                return "Nothing installed to verify."
            if not bad:
                return f"{len(checks)} files verified: all match the manifest."
            return "Problems: " + "; ".join(f"{c.name}/{c.path}: {c.result}" for c in bad)

        return self._start(run, "Verifying")

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
        eta = f" · {p.eta_s:.0f} s left" if p.eta_s is not None else ""
        self.message.setText(f"{p.stage}: {p.current}{rate}{eta}")

    def _finish(self) -> None:
        self.worker = None
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self._selection_changed()

    def _on_finished(self, message: str) -> None:
        self._finish()
        self.progress.setValue(self.progress.maximum())
        self.progress.setFormat("done")
        self.message.setText(message)
        self.ctx.say(message, 8000)
        self.ctx.models_changed.emit()
        self.job_finished.emit(message)

    def _on_failed(self, exc: BaseException) -> None:
        self._finish()
        self.progress.setFormat("failed")
        self.message.setText(str(exc))
        self.refresh()
        self.job_failed.emit(exc)
        self.ctx.error(exc)
