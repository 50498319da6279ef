"""The details of the selected result: a larger preview, where the file is, its score and
grade, the other matching moments of a video or sound (each opens at its time), the
transcript or labels, and actions (open, show in folder, play, search with it).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.actions import ResultItem, fmt_time, hit_is_sound
from ui.models import GRADE_COLOURS, describe_time, grade_label, kind_name, thumb_spec
from ui.resources import icon
from ui.thumbnails import ThumbnailCache
from ui.widgets import ScaledPixmap, hint

log = logging.getLogger(__name__)


class DetailsPane(QFrame):
    """Shows one :class:`ResultItem`; asks the page to open, play or search with it."""

    open_at = Signal(object, object)  # path, start_s
    play = Signal()
    search_with = Signal(object, object)  # path, start_s

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailsPane")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(240)
        self.thumbnails = thumbnails
        self.item: ResultItem | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        self.preview = ScaledPixmap()
        self.preview.setMinimumWidth(200)
        self.preview.setFixedHeight(210)
        # a fixed vertical policy: with "Ignored" the layout would not reserve the height
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.preview)
        self.name = QLabel()
        self.name.setWordWrap(True)
        font = self.name.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.name.setFont(font)
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.name)
        self.folder = hint("")
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.folder)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.facts)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text)
        self.moments_label = QLabel(self.tr("Other matching moments"))
        layout.addWidget(self.moments_label)
        self.moments = QListWidget()
        self.moments.setObjectName("momentsList")
        self.moments.setToolTip(self.tr("Double-click to open the file at that moment"))
        self.moments.itemActivated.connect(self._moment_activated)
        layout.addWidget(self.moments, 1)
        self.spacer = QWidget()
        layout.addWidget(self.spacer, 1)
        row = QHBoxLayout()
        self.open_button = QPushButton(icon("open"), self.tr("Open"))
        self.open_button.setToolTip(self.tr("Open in the system player or viewer (videos at the hit's time)"))
        self.open_button.clicked.connect(lambda: self.item and self.open_at.emit(self.item.hit.path, self.item.hit.start_s))
        self.play_button = QPushButton(icon("play"), self.tr("Play"))
        self.play_button.setToolTip(self.tr("Play the matching stretch (Space)"))
        self.play_button.clicked.connect(self.play)
        self.folder_button = QPushButton(icon("library"), self.tr("Folder"))
        self.folder_button.setToolTip(self.tr("Show the file's folder"))
        self.folder_button.clicked.connect(self._show_folder)
        row.addWidget(self.open_button)
        row.addWidget(self.play_button)
        row.addWidget(self.folder_button)
        layout.addLayout(row)
        self.similar_button = QPushButton(icon("search"), self.tr("Search with this"))
        self.similar_button.setToolTip(self.tr("Use this result (at its time) as the next query"))
        self.similar_button.clicked.connect(
            lambda: self.item and self.search_with.emit(self.item.hit.path, self.item.hit.start_s)
        )
        layout.addWidget(self.similar_button)
        thumbnails.ready.connect(self._thumb_ready)
        self.show_item(None)

    def show_item(self, item: ResultItem | None) -> None:
        self.item = item
        has = item is not None
        for w in (self.open_button, self.play_button, self.folder_button, self.similar_button):
            w.setEnabled(has)
        if item is None:
            self.preview.clear()
            self.name.setText(self.tr("No result selected"))
            self.folder.setText(self.tr("Select a result to see its details."))
            self.facts.setText("")
            self.text.setText("")
            self.moments.clear()
            self.moments.hide()
            self.moments_label.hide()
            self.spacer.show()
            return
        hit = item.hit
        self._refresh_preview()
        self.name.setText(Path(hit.path).name)
        self.folder.setText(str(Path(hit.path).parent))
        facts = [
            self.tr("{kind} · rank {rank} · score {score}").format(kind=kind_name(hit.kind.value), rank=hit.rank, score=f"{hit.score:.4f}"),
            self.tr("encoder {encoder}").format(encoder=hit.encoder),
        ]
        when = describe_time(item)
        if when:
            facts.append(self.tr("at {time}").format(time=when))
        if item.pool_ranks:
            who = ", ".join(f"{n} #{r}" for n, r in sorted(item.pool_ranks.items(), key=lambda kv: kv[1]))
            facts.append(self.tr("found by {encoders}").format(encoders=who))
        if item.grade is not None:
            colour = GRADE_COLOURS[item.grade].name()
            facts.append(f"<span style='color:{colour}'><b>{grade_label(item.grade)}</b></span>")
        else:
            facts.append(self.tr("<i>not judged yet</i> — 2 / 1 / 0"))
        self.facts.setText("<br>".join(facts))
        if hit.text:
            self.text.setText(f"“{hit.text.strip()}”")
        elif hit.labels:
            self.text.setText(", ".join(f"{name} {score:.2f}" for name, score in hit.labels[:6]))
        else:
            self.text.setText("")
        self.text.setVisible(bool(self.text.text()))
        self.moments.clear()
        for other in hit.frames:
            if other.start_s is None:
                continue
            span = fmt_time(other.start_s)
            if other.end_s is not None and other.end_s - other.start_s > 1e-3:
                span += f"–{fmt_time(other.end_s)}"
            entry = QListWidgetItem(icon("play"), f"{span}   " + self.tr("score {score}").format(score=f"{other.score:.3f}"))
            entry.setData(Qt.ItemDataRole.UserRole, other.start_s)
            self.moments.addItem(entry)
        self.moments.setVisible(self.moments.count() > 0)
        self.moments_label.setVisible(self.moments.count() > 0)
        self.spacer.setVisible(self.moments.count() == 0)
        self.play_button.setEnabled(hit_is_sound(hit) or hit.kind.value == "video")

    def _refresh_preview(self) -> None:
        if self.item is None:
            return
        pixmap = self.thumbnails.get(thumb_spec(self.item))
        self.preview.set_pixmap(pixmap)

    def _thumb_ready(self, key: str) -> None:
        if self.item is not None and thumb_spec(self.item).key == key:
            self._refresh_preview()

    def _moment_activated(self, entry: QListWidgetItem) -> None:
        if self.item is not None:
            self.open_at.emit(self.item.hit.path, entry.data(Qt.ItemDataRole.UserRole))

    def _show_folder(self) -> None:
        if self.item is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.item.hit.path).parent)))
