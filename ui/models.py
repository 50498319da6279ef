"""Qt item models over the core's plain data: search results and simple tables.

:class:`ResultsModel` holds the ranked :class:`~ui.actions.ResultItem` list of the
current query, serves thumbnails from the :class:`~ui.thumbnails.ThumbnailCache` (asking
for them lazily, when a row is first drawn) and carries each result's grade.
:class:`TableModel` is a read-only table of strings with optional per-cell tooltips,
emphasis and sort keys (skipped files, evaluation tables, model status).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QAbstractListModel, QAbstractTableModel, QCoreApplication, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPixmap

from mediasearch.media import MediaKind
from ui.actions import ResultItem, fmt_time, hit_is_sound
from ui.thumbnails import ThumbnailCache, ThumbSpec

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex

translate = QCoreApplication.translate


def grade_label(grade: int | None, *, long: bool = False) -> str:
    """'Highly relevant' (short) or 'highly relevant (2)' (long); None: not judged."""
    if grade is None:
        return translate("grades", "not judged")
    if long:
        return {
            2: translate("grades", "highly relevant (2)"),
            1: translate("grades", "relevant (1)"),
            0: translate("grades", "not relevant (0)"),
        }[grade]
    return {2: translate("grades", "Highly relevant"), 1: translate("grades", "Relevant"), 0: translate("grades", "Not relevant")}[grade]


#: grade -> badge colour (white text on it reads: contrast >= 4.5)
GRADE_COLOURS = {2: QColor("#15803d"), 1: QColor("#2563eb"), 0: QColor("#6b7280")}


class ResultRole:
    """Custom data roles of :class:`ResultsModel`."""

    ITEM = Qt.ItemDataRole.UserRole + 1
    THUMB = Qt.ItemDataRole.UserRole + 2
    GRADE = Qt.ItemDataRole.UserRole + 3
    IS_SOUND = Qt.ItemDataRole.UserRole + 4
    THUMB_ERROR = Qt.ItemDataRole.UserRole + 5
    PLAYING = Qt.ItemDataRole.UserRole + 6


def thumb_spec(item: ResultItem) -> ThumbSpec:
    """What thumbnail a result shows: a still, the video frame at the hit, or the sound."""
    hit = item.hit
    if hit_is_sound(hit):
        return ThumbSpec(str(hit.path), "sound", hit.start_s, hit.end_s)
    if hit.kind is MediaKind.VIDEO:
        return ThumbSpec(str(hit.path), "frame", hit.start_s or 0.0)
    return ThumbSpec(str(hit.path), "image")


def kind_name(kind: str) -> str:
    """A media kind (image, video, audio, text) in the interface language."""
    names = {
        "image": translate("kinds", "image"),
        "video": translate("kinds", "video"),
        "audio": translate("kinds", "audio"),
        "text": translate("kinds", "text"),
    }
    return names.get(kind, kind)


def describe_time(item: ResultItem) -> str:
    hit = item.hit
    if hit.start_s is None:
        return ""
    if hit.end_s is not None and hit.end_s - hit.start_s > 1e-3:
        return f"{fmt_time(hit.start_s)}–{fmt_time(hit.end_s)}"
    return fmt_time(hit.start_s)


class ResultsModel(QAbstractListModel):
    """The ranked results of one search."""

    grade_changed = Signal(int, object)  # row, grade (int or None)

    def __init__(self, thumbnails: ThumbnailCache, parent: Any = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.items: list[ResultItem] = []
        self._rows_by_key: dict[str, list[int]] = {}
        self.playing: tuple[str, float | None] | None = None
        thumbnails.ready.connect(self._thumb_ready)

    # -- content ------------------------------------------------------------------
    def set_items(self, items: Sequence[ResultItem]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self._rows_by_key = {}
        for row, item in enumerate(self.items):
            self._rows_by_key.setdefault(thumb_spec(item).key, []).append(row)
        self.endResetModel()

    def clear(self) -> None:
        self.set_items([])

    def item(self, row: int) -> ResultItem | None:
        return self.items[row] if 0 <= row < len(self.items) else None

    def set_grade(self, row: int, grade: int | None) -> None:
        """Show ``grade`` on the row and on every other row of the same file (same content)."""
        item = self.item(row)
        if item is None:
            return
        for other_row, other in enumerate(self.items):
            if other is item or (item.content_hash and other.content_hash == item.content_hash):
                other.grade = grade
                idx = self.index(other_row)
                self.dataChanged.emit(idx, idx, [ResultRole.GRADE])
        self.grade_changed.emit(row, grade)

    def set_playing(self, playing: tuple[str, float | None] | None) -> None:
        self.playing = playing
        if self.items:
            self.dataChanged.emit(self.index(0), self.index(len(self.items) - 1), [ResultRole.PLAYING])

    def judged_count(self) -> int:
        return sum(1 for i in self.items if i.grade is not None)

    # -- Qt model API ---------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self.items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.item(index.row()) if index.isValid() else None
        if item is None:
            return None
        hit = item.hit
        if role == Qt.ItemDataRole.DisplayRole:
            return Path(hit.path).name
        if role == ResultRole.ITEM:
            return item
        if role == ResultRole.GRADE:
            return item.grade
        if role == ResultRole.IS_SOUND:
            return hit_is_sound(hit)
        if role == ResultRole.THUMB:
            return self.thumbnails.get(thumb_spec(item))
        if role == ResultRole.THUMB_ERROR:
            return self.thumbnails.failure(thumb_spec(item))
        if role == ResultRole.PLAYING:
            return self.playing == (str(hit.path), hit.start_s)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return translate("results", "Result {rank}: {name}, score {score}, {grade}").format(
                rank=hit.rank, name=Path(hit.path).name, score=f"{hit.score:.3f}", grade=grade_label(item.grade, long=True)
            )
        return None

    def _tooltip(self, item: ResultItem) -> str:
        hit = item.hit
        lines = [f"<b>{Path(hit.path).name}</b>", str(Path(hit.path).parent)]
        lines.append(
            translate("results", "{kind} · rank {rank} · score {score} · {encoder}").format(
                kind=kind_name(hit.kind.value), rank=hit.rank, score=f"{hit.score:.4f}", encoder=hit.encoder
            )
        )
        when = describe_time(item)
        if when:
            lines.append(translate("results", "at {time}").format(time=when))
        if hit.frames:
            times = ", ".join(fmt_time(f.start_s) for f in hit.frames if f.start_s is not None)
            lines.append(translate("results", "also at {times}").format(times=times))
        if hit.text:
            lines.append(f"“{hit.text.strip()}”")
        if hit.labels:
            lines.append(", ".join(f"{name} {score:.2f}" for name, score in hit.labels[:5]))
        if item.pool_ranks:
            who = ", ".join(f"{n} #{r}" for n, r in sorted(item.pool_ranks.items(), key=lambda x: x[1]))
            lines.append(translate("results", "found by {encoders}").format(encoders=who))
        grade = grade_label(item.grade, long=True) if item.grade is not None else translate("results", "not judged yet")
        lines.append(translate("results", "<i>{grade}</i> — keys 2 / 1 / 0 to grade").format(grade=grade))
        return "<br>".join(lines)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def _thumb_ready(self, key: str) -> None:
        for row in self._rows_by_key.get(key, []):
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [ResultRole.THUMB])


@dataclass
class Cell:
    """One table cell: text plus optional tooltip, bold, colour, sort key and alignment."""

    text: str
    tooltip: str = ""
    bold: bool = False
    colour: QColor | None = None
    sort: Any = None
    align_right: bool = False
    icon: Any = None


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    header_tooltips: list[str] = field(default_factory=list)


def cell(value: Any, **kw: Any) -> Cell:
    """A Cell from a value: floats get 3 decimals and align right (sortable by value)."""
    if isinstance(value, Cell):
        return value
    if isinstance(value, float):
        return Cell(f"{value:.3f}", sort=value, align_right=True, **kw)
    if isinstance(value, int) and not isinstance(value, bool):
        return Cell(str(value), sort=value, align_right=True, **kw)
    return Cell("" if value is None else str(value), **kw)


class TableModel(QAbstractTableModel):
    """A read-only table of :class:`Cell` rows."""

    SORT_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, table: Table | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.table = table or Table([])

    def set_table(self, table: Table) -> None:
        self.beginResetModel()
        self.table = table
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.table.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.table.headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        c = self.table.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return c.text
        if role == Qt.ItemDataRole.ToolTipRole:
            return c.tooltip or (c.text if len(c.text) > 40 else None)
        if role == Qt.ItemDataRole.FontRole and c.bold:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and c.colour is not None:
            return QBrush(c.colour)
        if role == Qt.ItemDataRole.TextAlignmentRole and c.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DecorationRole and c.icon is not None:
            return c.icon
        if role == self.SORT_ROLE:
            return c.sort if c.sort is not None else c.text.lower()
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole and section < len(self.table.headers):
            return self.table.headers[section]
        if role == Qt.ItemDataRole.ToolTipRole and section < len(self.table.header_tooltips):
            return self.table.header_tooltips[section] or None
        return None

    def text(self, row: int, column: int) -> str:
        return self.table.rows[row][column].text


def pixmap_or_none(value: Any) -> QPixmap | None:
    return value if isinstance(value, QPixmap) and not value.isNull() else None
