"""The results: a grid of thumbnail cards for pictures and video frames, full-width rows
for audio and speech hits (spectrogram, play button, transcript snippet), each with its
score and its grade.

Grading: the buttons of the tagging bar, the small 0/1/2 chips on each result, or the
keys 2 (highly relevant), 1 (relevant), 0 (not relevant), Backspace (clear); arrows
move, Enter opens (video at the hit's time), Space plays a sound. The view only asks
(``judge_requested``, ``open_requested``, ``play_requested``); the search page saves.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QSlider,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from mediasearch.media import MediaKind
from ui.actions import ResultItem, fmt_time
from ui.models import GRADE_COLOURS, ResultRole, ResultsModel, describe_time, grade_label, pixmap_or_none
from ui.resources import icon
from ui.text import secondary_text

log = logging.getLogger(__name__)

#: keys that grade the current result
GRADE_KEYS = {Qt.Key.Key_2: 2, Qt.Key.Key_1: 1, Qt.Key.Key_0: 0}
SOUND_ROW_H = 96
SOUND_THUMB = QSize(220, 64)
CHIP = QSize(22, 18)
PAD = 6
#: the score-threshold divider (dashed), readable on light and dark palettes
THRESHOLD_COLOUR = QColor("#d9480f")


def _rounded(painter: QPainter, rect: QRectF, radius: float, fill: QColor, pen: QPen | None = None) -> None:
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    painter.fillPath(path, fill)
    if pen is not None:
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)


def _pill(painter: QPainter, at: QPoint, text: str, fill: QColor, fg: QColor, font: QFont, *, right: bool = False) -> QRect:
    fm = QFontMetrics(font)
    w = fm.horizontalAdvance(text) + 10
    h = fm.height() + 2
    x = at.x() - w if right else at.x()
    rect = QRect(x, at.y(), w, h)
    _rounded(painter, QRectF(rect), h / 2, fill)
    painter.setPen(fg)
    painter.setFont(font)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    return rect


class ResultDelegate(QStyledItemDelegate):
    """Draws cards and sound rows; reports clicks on grade chips and play buttons."""

    grade_clicked = Signal(int, int)  # row, grade
    play_clicked = Signal(int)  # row

    def __init__(self, view: "ResultsList") -> None:
        super().__init__(view)
        self.view = view
        self.thumb_px = 176
        #: the first row scoring below the encoder's threshold (a divider is drawn before it); -1: none
        self.threshold_row = -1

    # -- geometry ---------------------------------------------------------------------
    def card_size(self) -> QSize:
        fh = self.view.fontMetrics().height()
        thumb_h = int(self.thumb_px * 0.75)
        return QSize(self.thumb_px + 2 * PAD, PAD + thumb_h + PAD + 2 * (fh + 4) + PAD)

    def row_width(self) -> int:
        return max(self.view.viewport().width() - 2 * self.view.spacing() - 4, 420)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802 - Qt API
        if index.data(ResultRole.IS_SOUND):
            return QSize(self.row_width(), SOUND_ROW_H)
        return self.card_size()

    def chip_rects(self, rect: QRect, sound: bool) -> list[tuple[int, QRect]]:
        """Where the 0/1/2 chips are, right-aligned on the last line (card) or the right edge (row)."""
        y = rect.bottom() - PAD - CHIP.height() + 1 if not sound else rect.center().y() + 4
        x = rect.right() - PAD - CHIP.width() + 1
        out = []
        for grade in (0, 1, 2):
            out.append((grade, QRect(QPoint(x, y), CHIP)))
            x -= CHIP.width() + 3
        return out

    def play_rect(self, rect: QRect) -> QRect:
        return QRect(rect.left() + 40, rect.center().y() - 18, 36, 36)

    # -- painting -----------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        item: ResultItem | None = index.data(ResultRole.ITEM)
        if item is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        rect = option.rect.adjusted(1, 1, -1, -1)
        base = pal.color(QPalette.ColorRole.Base)
        if hover and not selected:
            base = base.darker(104) if base.lightness() > 128 else base.lighter(125)
        border = pal.color(QPalette.ColorRole.Highlight) if selected else pal.color(QPalette.ColorRole.Mid)
        _rounded(painter, QRectF(rect), 8, base, QPen(border, 2.5 if selected else 1))
        sound = bool(index.data(ResultRole.IS_SOUND))
        if sound:
            self._paint_row(painter, rect, pal, item, index)
        else:
            self._paint_card(painter, rect, pal, item, index)
        if index.row() == self.threshold_row:
            self._threshold_divider(painter, rect, sound)
        painter.restore()

    def _threshold_divider(self, painter: QPainter, rect: QRect, sound: bool) -> None:
        """A dashed line on the leading edge of the first result below the threshold
        (left of a card in the grid, above a sound row)."""
        pen = QPen(THRESHOLD_COLOUR, 3, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        if sound:
            painter.drawLine(rect.left() + 2, rect.top() + 1, rect.right() - 2, rect.top() + 1)
        else:
            painter.drawLine(rect.left() + 1, rect.top() + 2, rect.left() + 1, rect.bottom() - 2)

    def _thumb(self, painter: QPainter, area: QRect, index: QModelIndex, pal: QPalette, *, fill: bool = False) -> None:
        pixmap = pixmap_or_none(index.data(ResultRole.THUMB))
        _rounded(painter, QRectF(area), 4, QColor(0, 0, 0, 40))
        if pixmap is None:
            error = index.data(ResultRole.THUMB_ERROR)
            painter.setPen(pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            painter.drawText(area.adjusted(4, 4, -4, -4), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.tr("no preview") if error else "…")
            return
        mode = Qt.AspectRatioMode.IgnoreAspectRatio if fill else Qt.AspectRatioMode.KeepAspectRatio
        size = pixmap.size().scaled(area.size(), mode)
        target = QRect(QPoint(0, 0), size)
        target.moveCenter(area.center())
        painter.drawPixmap(target, pixmap)

    def _grade_badge(self, painter: QPainter, at: QPoint, grade: int | None, font: QFont) -> None:
        if grade is None:
            return
        text = {2: self.tr("✔✔ highly"), 1: self.tr("✔ relevant"), 0: self.tr("✘ not")}[grade]
        _pill(painter, at, text, GRADE_COLOURS[grade], QColor("white"), font, right=True)

    def _chips(self, painter: QPainter, rect: QRect, sound: bool, grade: int | None, pal: QPalette, font: QFont) -> None:
        painter.setFont(font)
        for g, chip in self.chip_rects(rect, sound):
            active = grade == g
            fill = GRADE_COLOURS[g] if active else pal.color(QPalette.ColorRole.Button)
            _rounded(painter, QRectF(chip), 4, fill, QPen(pal.color(QPalette.ColorRole.Mid), 1))
            painter.setPen(QColor("white") if active else pal.color(QPalette.ColorRole.ButtonText))
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, str(g))

    def _paint_card(self, painter: QPainter, rect: QRect, pal: QPalette, item: ResultItem, index: QModelIndex) -> None:
        hit = item.hit
        fm = self.view.fontMetrics()
        fh = fm.height()
        thumb_h = int(self.thumb_px * 0.75)
        area = QRect(rect.left() + PAD, rect.top() + PAD, rect.width() - 2 * PAD, thumb_h)
        self._thumb(painter, area, index, pal)
        small = QFont(self.view.font())
        small.setPointSizeF(max(small.pointSizeF() * 0.85, 7.0))
        _pill(painter, area.topLeft() + QPoint(4, 4), f"#{hit.rank}", QColor(0, 0, 0, 150), QColor("white"), small)
        self._grade_badge(painter, area.topRight() + QPoint(-4, 4), item.grade, small)
        if hit.kind is MediaKind.VIDEO:
            when = f"▶ {fmt_time(hit.start_s)}" if hit.start_s is not None else "▶ " + self.tr("video")
            if hit.frames:
                when += f"  +{len(hit.frames)}"
            _pill(painter, QPoint(area.left() + 4, area.bottom() - QFontMetrics(small).height() - 5), when,
                  QColor(0, 0, 0, 160), QColor("white"), small)
        y = area.bottom() + PAD
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        bold = QFont(self.view.font())
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        name = QFontMetrics(bold).elidedText(Path(hit.path).name, Qt.TextElideMode.ElideMiddle, area.width())
        painter.drawText(QRect(area.left(), y, area.width(), fh + 2), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        y += fh + 4
        painter.setFont(small)
        painter.setPen(secondary_text(pal))
        if item.pool_ranks:
            n = len(item.pool_ranks)
            label = f"{hit.score:.3f} · " + (self.tr("1 encoder") if n == 1 else self.tr("{n} encoders").format(n=n))
        elif self.view.mixed_encoders:
            label = f"{hit.score:.3f} · {hit.encoder}"
        else:
            label = self.tr("score {score}").format(score=f"{hit.score:.3f}")
        chips_w = 3 * (CHIP.width() + 3)
        text = QFontMetrics(small).elidedText(label, Qt.TextElideMode.ElideRight, area.width() - chips_w)
        painter.drawText(QRect(area.left(), y, area.width() - chips_w, CHIP.height() + 2),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        self._chips(painter, rect, False, item.grade, pal, small)

    def _paint_row(self, painter: QPainter, rect: QRect, pal: QPalette, item: ResultItem, index: QModelIndex) -> None:
        hit = item.hit
        fm = self.view.fontMetrics()
        fh = fm.height()
        small = QFont(self.view.font())
        small.setPointSizeF(max(small.pointSizeF() * 0.85, 7.0))
        painter.setPen(secondary_text(pal))
        painter.setFont(small)
        painter.drawText(QRect(rect.left() + 4, rect.top(), 34, rect.height()), Qt.AlignmentFlag.AlignCenter, f"#{hit.rank}")
        play = self.play_rect(rect)
        playing = bool(index.data(ResultRole.PLAYING))
        _rounded(painter, QRectF(play), play.width() / 2, pal.color(QPalette.ColorRole.Highlight))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(pal.color(QPalette.ColorRole.HighlightedText))
        c = play.center()
        if playing:
            painter.drawRect(QRect(c.x() - 6, c.y() - 6, 12, 12))
        else:
            path = QPainterPath()
            path.moveTo(c.x() - 5, c.y() - 8)
            path.lineTo(c.x() + 9, c.y())
            path.lineTo(c.x() - 5, c.y() + 8)
            path.closeSubpath()
            painter.drawPath(path)
        thumb = QRect(QPoint(play.right() + 12, rect.center().y() - SOUND_THUMB.height() // 2), SOUND_THUMB)
        self._thumb(painter, thumb, index, pal, fill=True)
        x = thumb.right() + 14
        chips_w = 3 * (CHIP.width() + 3) + 2 * PAD
        width = rect.right() - x - chips_w
        bold = QFont(self.view.font())
        bold.setWeight(QFont.Weight.DemiBold)
        y = rect.top() + 10
        painter.setFont(bold)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        when = describe_time(item)
        title = Path(hit.path).name + (f"   {when}" if when else "")
        painter.drawText(QRect(x, y, width, fh + 2), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(bold).elidedText(title, Qt.TextElideMode.ElideMiddle, width))
        y += fh + 6
        detail = ""
        italic = QFont(self.view.font())
        if hit.text:
            detail = f"“{hit.text.strip()}”"
            italic.setItalic(True)
        elif hit.labels:
            detail = ", ".join(f"{name} {score:.2f}" for name, score in hit.labels[:4])
        elif hit.kind is MediaKind.VIDEO:
            detail = self.tr("soundtrack of a video")
        painter.setFont(italic)
        painter.drawText(QRect(x, y, width, fh + 2), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(italic).elidedText(detail, Qt.TextElideMode.ElideRight, width))
        y += fh + 6
        painter.setFont(small)
        painter.setPen(secondary_text(pal))
        who = ", ".join(f"{n} #{r}" for n, r in sorted(item.pool_ranks.items(), key=lambda kv: kv[1])) if item.pool_ranks else hit.encoder
        painter.drawText(QRect(x, y, width, fh + 2), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(small).elidedText(self.tr("score {score}").format(score=f"{hit.score:.3f}") + f" · {who}",
                                                        Qt.TextElideMode.ElideRight, width))
        self._grade_badge(painter, QPoint(rect.right() - PAD, rect.top() + 10), item.grade, small)
        self._chips(painter, rect, True, item.grade, pal, small)

    # -- clicks -------------------------------------------------------------------------------
    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:  # noqa: N802, ANN001
        if event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
            if event.button() != Qt.MouseButton.LeftButton:
                return False
            pos = event.position().toPoint()
            sound = bool(index.data(ResultRole.IS_SOUND))
            for grade, chip in self.chip_rects(option.rect.adjusted(1, 1, -1, -1), sound):
                if chip.adjusted(-2, -2, 2, 2).contains(pos):
                    self.grade_clicked.emit(index.row(), grade)
                    return True
            if sound and self.play_rect(option.rect.adjusted(1, 1, -1, -1)).contains(pos):
                self.play_clicked.emit(index.row())
                return True
        return False

    def helpEvent(self, event, view, option, index) -> bool:  # noqa: N802, ANN001 - Qt API
        if event.type() == QEvent.Type.ToolTip:
            pos = event.pos()
            sound = bool(index.data(ResultRole.IS_SOUND))
            for grade, chip in self.chip_rects(option.rect.adjusted(1, 1, -1, -1), sound):
                if chip.contains(pos):
                    tip = self.tr("Mark {grade} (key {key})").format(grade=grade_label(grade, long=True), key=grade)
                    QToolTip.showText(event.globalPos(), tip, view)
                    return True
            if sound and self.play_rect(option.rect.adjusted(1, 1, -1, -1)).contains(pos):
                QToolTip.showText(event.globalPos(), self.tr("Play from the hit's start (Space)"), view)
                return True
        return super().helpEvent(event, view, option, index)


class ResultsList(QListView):
    """The grid/list of results, with the grading keys."""

    key_grade = Signal(int, object)  # row, grade or None (clear)
    activated_row = Signal(int)
    play_row = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsList")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(False)
        self.setSpacing(6)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setToolTip("")
        #: whether the results come from several encoders (cards then name theirs)
        self.mixed_encoders = False
        self.doubleClicked.connect(lambda index: self.activated_row.emit(index.row()))

    def current_row(self) -> int:
        index = self.currentIndex()
        return index.row() if index.isValid() else -1

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        row = self.current_row()
        key = Qt.Key(event.key())
        if row >= 0 and key in GRADE_KEYS and not (event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.key_grade.emit(row, GRADE_KEYS[key])
            return
        if row >= 0 and key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self.key_grade.emit(row, None)
            return
        if row >= 0 and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated_row.emit(row)
            return
        if row >= 0 and key == Qt.Key.Key_Space:
            self.play_row.emit(row)
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        # full-width sound rows follow the viewport's width
        self.scheduleDelayedItemsLayout()


class ResultsView(QWidget):
    """Tagging bar + results list; emits what the user asks for."""

    judge_requested = Signal(int, object)  # row, grade or None
    open_requested = Signal(int)
    play_requested = Signal(int)

    def __init__(self, model: ResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 0, 12, 6)
        layout.setSpacing(4)
        self.summary = QLabel(self.tr("Search by example or text to see results here."))
        self.summary.setObjectName("resultsSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        bar = QHBoxLayout()
        bar.setSpacing(4)
        bar.addWidget(QLabel(self.tr("Grade:")))
        self.grade_buttons: dict[int | None, QToolButton] = {}
        for grade, glyph, tip in (
            (2, "check2", self.tr("Mark the selected result highly relevant (key 2)")),
            (1, "check", self.tr("Mark the selected result relevant (key 1)")),
            (0, "cross", self.tr("Mark the selected result not relevant (key 0)")),
            (None, "remove", self.tr("Forget the selected result's grade (Backspace)")),
        ):
            button = QToolButton()
            button.setIcon(icon(glyph, GRADE_COLOURS[grade].name() if grade is not None else None))
            button.setText(grade_label(grade) if grade is not None else self.tr("Clear"))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setToolTip(tip)
            button.setObjectName(f"grade{grade if grade is not None else 'Clear'}")
            button.clicked.connect(lambda _=False, g=grade: self._grade_current(g))
            bar.addWidget(button)
            self.grade_buttons[grade] = button
        bar.addStretch(1)
        self.advance = QCheckBox(self.tr("Next after grading"))
        self.advance.setChecked(True)
        self.advance.setToolTip(self.tr("Move to the next result after grading one"))
        bar.addWidget(self.advance)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(112, 320)
        self.size_slider.setValue(176)
        self.size_slider.setFixedWidth(100)
        self.size_slider.setToolTip(self.tr("Thumbnail size"))
        self.size_slider.valueChanged.connect(self._resize_thumbs)
        bar.addSpacing(12)
        bar.addWidget(QLabel(self.tr("Size")))
        bar.addWidget(self.size_slider)
        layout.addLayout(bar)

        self.list = ResultsList()
        self.list.setModel(model)
        self.delegate = ResultDelegate(self.list)
        self.list.setItemDelegate(self.delegate)
        layout.addWidget(self.list, 1)
        self.threshold_label = QLabel("")
        self.threshold_label.setObjectName("thresholdLabel")
        self.threshold_label.setWordWrap(True)
        self.threshold_label.setVisible(False)
        layout.addWidget(self.threshold_label)
        # judging.Threshold of the shown results' encoder over this query's judged results, or None
        self.threshold = None
        self.list.key_grade.connect(self._grade_row)
        self.list.activated_row.connect(self.open_requested)
        self.list.play_row.connect(self.play_requested)
        self.delegate.grade_clicked.connect(self._grade_row)
        self.delegate.play_clicked.connect(self.play_requested)
        self._set_buttons_enabled(False)
        self.list.selectionModel().currentChanged.connect(lambda *_: self._set_buttons_enabled(self.list.current_row() >= 0))
        model.modelReset.connect(self._model_reset)
        model.dataChanged.connect(lambda _top, _bottom, roles=(): self.update_threshold() if not roles or ResultRole.GRADE in roles else None)

    def _model_reset(self) -> None:
        self._set_buttons_enabled(False)
        self.list.mixed_encoders = len({i.hit.encoder for i in self.model.items}) > 1
        self.update_threshold()

    def update_threshold(self) -> None:
        """Find the score that best separates this query's relevant from its not relevant
        judged results (the core's max-F1 rule) and mark where the results cross it. Only for
        one encoder's ranking: scores of different encoders are not comparable, and a pool
        mixes them."""
        from mediasearch.evaluation.judging import best_threshold

        items = self.model.items
        judged = [i for i in items if i.grade is not None]
        cut = None
        if judged and len({i.hit.encoder for i in items}) == 1 and not any(i.pool_ranks for i in items):
            found = best_threshold([i.hit.score for i in judged], [i.grade >= 1 for i in judged])
            cut = None if math.isnan(found.threshold) else found
        self.threshold = cut
        row = -1
        if cut is not None:
            row = next((r for r, i in enumerate(items) if i.hit.score < cut.threshold), -1)
        changed = row != self.delegate.threshold_row
        self.delegate.threshold_row = row
        if cut is None:
            self.threshold_label.setVisible(False)
        else:
            text = self.tr("{encoder}'s threshold for this query: {score} (F1 {f1} over {n} judged results).").format(
                encoder=items[0].hit.encoder, score=f"{cut.threshold:.3f}", f1=f"{cut.f1:.2f}", n=cut.judged)
            where = (self.tr("Results after the dashed line score below it.") if row >= 0
                     else self.tr("Every result shown scores at or above it."))
            text += " " + where
            self.threshold_label.setText(text)
            self.threshold_label.setVisible(True)
        if changed:
            self.list.viewport().update()

    def _set_buttons_enabled(self, on: bool) -> None:
        for button in self.grade_buttons.values():
            button.setEnabled(on)

    def _resize_thumbs(self, px: int) -> None:
        self.delegate.thumb_px = px
        self.list.scheduleDelayedItemsLayout()
        self.list.viewport().update()

    def _grade_current(self, grade: int | None) -> None:
        row = self.list.current_row()
        if row >= 0:
            self._grade_row(row, grade)
        self.list.setFocus()

    def _grade_row(self, row: int, grade: int | None) -> None:
        self.list.setCurrentIndex(self.model.index(row))
        self.judge_requested.emit(row, grade)
        if self.advance.isChecked() and grade is not None and row + 1 < self.model.rowCount():
            self.select_row(row + 1)

    def select_row(self, row: int) -> None:
        index = self.model.index(row)
        self.list.setCurrentIndex(index)
        self.list.scrollTo(index)

    def focus_results(self) -> None:
        if self.model.rowCount() and self.list.current_row() < 0:
            self.select_row(0)
        self.list.setFocus()
