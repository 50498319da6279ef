"""Small widgets shared by the pages: a page header, a hint label, a table view, a scaled picture."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont, QPalette, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QSizePolicy, QTableView, QVBoxLayout, QWidget

from ui.models import TableModel

log = logging.getLogger(__name__)


def header(title: str, subtitle: str = "") -> QWidget:
    """A page title in a larger font with an optional grey subtitle."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 4)
    layout.setSpacing(0)
    label = QLabel(title)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.45)
    font.setWeight(QFont.Weight.DemiBold)
    label.setFont(font)
    layout.addWidget(label)
    if subtitle:
        sub = hint(subtitle)
        sub.setObjectName("pageSubtitle")
        layout.addWidget(sub)
    return box


def hint(text: str) -> QLabel:
    """A secondary (muted but readable, word-wrapped) label; it follows palette switches."""
    return HintLabel(text)


class HintLabel(QLabel):
    """A word-wrapped label in the palette's secondary text colour (contrast >= 4.5)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.recolour()

    def recolour(self) -> None:
        """Take the secondary colour from the application palette (again, after a switch)."""
        from PySide6.QtWidgets import QApplication

        from ui.text import secondary_text

        pal = QPalette(QApplication.palette())
        pal.setColor(QPalette.ColorRole.WindowText, secondary_text(pal, QPalette.ColorRole.WindowText))
        self.setPalette(pal)

    def changeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self.recolour()
        super().changeEvent(event)


def fit_combo(combo) -> None:  # noqa: ANN001 - QComboBox
    """Make ``combo`` wide enough for its longest entry. Qt's own size hint falls short for
    text drawn with a fallback font (Chinese in a Latin UI font), which clipped the encoder box."""
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    if combo.count() == 0:
        return
    fm = combo.fontMetrics()
    icon_w = combo.iconSize().width() + 4 if any(not combo.itemIcon(i).isNull() for i in range(combo.count())) else 0
    text_w = max(max(fm.horizontalAdvance(t), fm.boundingRect(t).width()) for t in map(combo.itemText, range(combo.count()))) + icon_w
    opt = QStyleOptionComboBox()
    combo.initStyleOption(opt)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, combo)
    overhead = max(combo.width() - field.width(), 0) if combo.width() > field.width() else 32
    combo.setMinimumWidth(text_w + overhead + 6)


class Table(QTableView):
    """A sortable, read-only table over a :class:`TableModel`."""

    def __init__(self, parent: QWidget | None = None, *, stretch_column: int | None = None) -> None:
        super().__init__(parent)
        self.source = TableModel(parent=self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.source)
        self.proxy.setSortRole(TableModel.SORT_ROLE)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.horizontalHeader().setHighlightSections(False)
        self.stretch_column = stretch_column
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)

    def set_table(self, table) -> None:  # table: ui.models.Table
        self.source.set_table(table)
        head = self.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        if self.stretch_column is not None and self.stretch_column < len(table.headers):
            head.setSectionResizeMode(self.stretch_column, QHeaderView.ResizeMode.Stretch)
        else:
            head.setStretchLastSection(True)

    def cell_text(self, row: int, column: int) -> str:
        """Text of the cell as shown (after sorting)."""
        return self.proxy.index(row, column).data() or ""


class ScaledPixmap(QLabel):
    """Shows a pixmap scaled down (never up) to the label's size, keeping its aspect ratio."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(120, 80)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        self._pixmap = pixmap if pixmap is not None and not pixmap.isNull() else None
        self._rescale()

    def clear(self) -> None:
        self._pixmap = None
        super().clear()

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is None:
            super().clear()
            return
        dpr = self.devicePixelRatioF()
        target = self.size() * dpr
        pm = self._pixmap
        if pm.width() > target.width() or pm.height() > target.height():
            pm = pm.scaled(target, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            pm.setDevicePixelRatio(dpr)
        self.setPixmap(pm)
