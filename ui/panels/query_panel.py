"""The query bar: an example file (dropped or chosen) or text, the encoder, k, pool mode,
and for audio and video examples the time range to use.

The encoder list holds the library's indexed encoders that answer the query's modality
(``search.applicable_encoders``); its first entry, "Best available", searches with the
core's defaults (``search.default_encoders``: for text, the best image-text encoder and
the best speech encoder together).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mediasearch.errors import MediaSearchError, QueryError
from mediasearch.media import MediaKind, Modality
from mediasearch.search import applicable_encoders, default_encoders
from ui.actions import QuerySpec, fmt_time, media_kind_of
from ui.context import AppContext
from ui.models import pixmap_or_none
from ui.resources import icon
from ui.text import secondary_text
from ui.thumbnails import ThumbSpec
from ui.widgets import fit_combo

log = logging.getLogger(__name__)

MEDIA_PATTERNS = (
    "*.jpg *.jpeg *.png *.gif *.webp *.bmp *.tif *.tiff *.heic *.avif "
    "*.mp4 *.mkv *.mov *.webm *.avi *.m4v *.wav *.flac *.mp3 *.ogg *.opus *.m4a *.aac"
)


def file_filter() -> str:
    media = QCoreApplication.translate("QueryPanel", "Media")
    every = QCoreApplication.translate("QueryPanel", "All files")
    return f"{media} ({MEDIA_PATTERNS});;{every} (*)"


def describe_saved(query) -> str:  # query: mediasearch.evaluation.groundtruth saved query
    """A saved query's text or example file (and time range), as the user sees it."""
    if query.modality is Modality.TEXT:
        return f"“{query.text or ''}”"
    name = query.file.name if query.file else "?"
    if query.start_s is not None or query.end_s is not None:
        end = QCoreApplication.translate("text", "end") if query.end_s is None else fmt_time(query.end_s)
        name += f" [{fmt_time(query.start_s or 0.0)}–{end}]"
    return name


class DropZone(QFrame):
    """Shows the example file (thumbnail and name); accepts dropped files; click to choose."""

    file_chosen = Signal(Path)
    cleared = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("dropZone")
        self.setAcceptDrops(True)
        self.setMinimumSize(QSize(168, 112))
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(self.tr("Drop an image, audio or video file here, or click to choose one (Ctrl+O)"))
        self.path: Path | None = None
        self.thumb: ThumbSpec | None = None
        self._hover = False
        self.clear_button = QToolButton(self)
        self.clear_button.setIcon(icon("cross"))
        self.clear_button.setAutoRaise(True)
        self.clear_button.setToolTip(self.tr("Clear the example file"))
        self.clear_button.clicked.connect(self.clear)
        self.clear_button.hide()
        ctx.thumbnails.ready.connect(self._thumb_ready)

    def set_file(self, path: Path | None, kind: MediaKind | None = None, start_s: float | None = None) -> None:
        """Show ``path``; a video shows its frame at ``start_s`` (the time the query uses)."""
        self.path = path
        start = max(start_s or 0.0, 0.0)
        if path is None:
            self.thumb = None
        elif kind is MediaKind.AUDIO:
            self.thumb = ThumbSpec(str(path), "sound", start, start + 10.0)
        elif kind is MediaKind.VIDEO:
            self.thumb = ThumbSpec(str(path), "frame", start)
        else:
            self.thumb = ThumbSpec(str(path), "image")
        self.clear_button.setVisible(path is not None)
        self.update()

    def clear(self) -> None:
        self.set_file(None)
        self.cleared.emit()

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        self.clear_button.move(self.width() - self.clear_button.sizeHint().width() - 2, 2)
        super().resizeEvent(event)

    def _thumb_ready(self, key: str) -> None:
        if self.thumb is not None and self.thumb.key == key:
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        rect = self.rect().adjusted(2, 2, -2, -2)
        border = pal.color(QPalette.ColorRole.Highlight) if self._hover else pal.color(QPalette.ColorRole.Mid)
        painter.setPen(QPen(border, 1.5, Qt.PenStyle.DashLine if self.path is None else Qt.PenStyle.SolidLine))
        painter.setBrush(pal.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(rect, 8, 8)
        if self.path is None:
            painter.setPen(secondary_text(pal))
            painter.drawText(rect.adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.tr("Drop an image, audio or video file here\n\nor click to choose"))
            return
        pixmap = pixmap_or_none(self.ctx.thumbnails.get(self.thumb)) if self.thumb else None
        text_h = self.fontMetrics().height() + 6
        area = rect.adjusted(6, 6, -6, -6 - text_h)
        if pixmap is not None:
            scaled = pixmap.scaled(area.size() * self.devicePixelRatioF(), Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
            scaled.setDevicePixelRatio(self.devicePixelRatioF())
            w = scaled.width() / self.devicePixelRatioF()
            h = scaled.height() / self.devicePixelRatioF()
            painter.drawPixmap(int(area.x() + (area.width() - w) / 2), int(area.y() + (area.height() - h) / 2), scaled)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        name = self.fontMetrics().elidedText(self.path.name, Qt.TextElideMode.ElideMiddle, rect.width() - 12)
        painter.drawText(rect.adjusted(6, 0, -6, -4), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, name)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton:
            self.choose()

    def choose(self) -> None:
        start = str(self.path.parent) if self.path else str(Path.home())
        name, _ = QFileDialog.getOpenFileName(self, self.tr("Search by example"), start, file_filter())
        if name:
            self.file_chosen.emit(Path(name))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls()
        if len(urls) >= 1 and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).is_file():
            self._hover = True
            self.update()
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        self._hover = False
        self.update()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        self._hover = False
        self.update()
        url = event.mimeData().urls()[0]
        event.acceptProposedAction()
        self.file_chosen.emit(Path(url.toLocalFile()))


class QueryPanel(QWidget):
    """Builds a :class:`QuerySpec` and asks for a search."""

    search_requested = Signal(object, object, int, bool)  # QuerySpec, encoder or None, k, pool
    modality_changed = Signal(object)  # Modality or None
    example_changed = Signal()  # another example file, or none (the old results no longer answer it)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.file: Path | None = None
        self.file_kind: MediaKind | None = None
        self.duration_s: float | None = None
        self.setAcceptDrops(True)
        self._build()
        ctx.library_opened.connect(self.refresh_encoders)
        ctx.library_updated.connect(self.refresh_encoders)
        ctx.library_opened.connect(self.refresh_saved_queries)
        ctx.queries_changed.connect(self.refresh_saved_queries)
        self.refresh_encoders()
        self.refresh_saved_queries()

    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 6)
        outer.setSpacing(12)
        self.drop = DropZone(self.ctx)
        self.drop.file_chosen.connect(self.set_file)
        self.drop.cleared.connect(self._file_cleared)
        outer.addWidget(self.drop)

        middle = QVBoxLayout()
        middle.setSpacing(6)
        top = QHBoxLayout()
        self.text = QLineEdit()
        self.text.setObjectName("queryText")
        self.text.setClearButtonEnabled(True)
        self.text.setPlaceholderText(self.tr("Describe what you are looking for, or words that are spoken…   (or drop a file on the left)"))
        self.text.setToolTip(self.tr("A text query (Ctrl+F). Press Enter to search."))
        self.text.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.text.textEdited.connect(self._text_edited)
        self.text.returnPressed.connect(self.request_search)
        top.addWidget(self.text, 1)
        self.saved = QComboBox()
        self.saved.setObjectName("savedQueries")
        self.saved.setToolTip(self.tr("Open a saved evaluation query to search and judge it again"))
        self.saved.setMinimumContentsLength(16)
        self.saved.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.saved.activated.connect(self._saved_chosen)
        top.addWidget(self.saved)
        middle.addLayout(top)

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        self.mode_label = QLabel(self.tr("Text query"))
        self.mode_label.setObjectName("modeLabel")
        font = self.mode_label.font()
        font.setBold(True)
        self.mode_label.setFont(font)
        grid.addWidget(self.mode_label, 0, 0)

        self.use_box = QComboBox()
        # item data are plain strings: Qt hands a str-based enum back as a bare str
        self.use_box.addItem(icon("file"), self.tr("the picture at the start time"), Modality.IMAGE.value)
        self.use_box.addItem(icon("play"), self.tr("the soundtrack"), Modality.AUDIO.value)
        self.use_box.setToolTip(self.tr("For a video example: search with one of its frames, or with its sound"))
        self.use_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.use_box.currentIndexChanged.connect(self._modality_maybe_changed)
        self.use_label = QLabel(self.tr("Use"))
        grid.addWidget(self.use_label, 0, 1)
        grid.addWidget(self.use_box, 0, 2)

        self.range_label = QLabel(self.tr("From"))
        self.start = QDoubleSpinBox()
        self.start.setObjectName("startTime")
        self.start.setDecimals(1)
        self.start.setSuffix(" s")
        self.start.setRange(0, 1e6)
        self.start.setToolTip(self.tr("Start of the part of the example to use, in seconds"))
        self.start.valueChanged.connect(self._start_changed)
        self.end = QDoubleSpinBox()
        self.end.setObjectName("endTime")
        self.end.setDecimals(1)
        self.end.setSuffix(" s")
        self.end.setRange(0, 1e6)
        self.end.setSpecialValueText(self.tr("end"))
        self.end.setToolTip(self.tr("End of the part of the example to use, in seconds (“end”: to the end of the file)"))
        grid.addWidget(self.range_label, 0, 3)
        grid.addWidget(self.start, 0, 4)
        self.to_label = QLabel(self.tr("to"))
        grid.addWidget(self.to_label, 0, 5)
        grid.addWidget(self.end, 0, 6)
        grid.setColumnStretch(7, 1)
        middle.addLayout(grid)

        opts = QHBoxLayout()
        opts.addWidget(QLabel(self.tr("Encoder")))
        self.encoder = QComboBox()
        self.encoder.setObjectName("encoderCombo")
        self.encoder.setToolTip(self.tr("The encoder to search with; “Best available” uses the best indexed one per media family"))
        # as wide as its longest entry ("Best available (efficientnet-lite0, whisper-tiny.en)"), never clipped
        self.encoder.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.encoder.setMinimumContentsLength(12)
        opts.addWidget(self.encoder)
        opts.addSpacing(8)
        opts.addWidget(QLabel(self.tr("Results")))
        self.k = QSpinBox()
        self.k.setObjectName("kSpin")
        self.k.setRange(1, 500)
        self.k.setValue(int(self.ctx.prefs.get("search/k", 24, int)))
        self.k.setToolTip(self.tr("How many results to show (k)"))
        self.k.valueChanged.connect(lambda v: self.ctx.prefs.set("search/k", v))
        opts.addWidget(self.k)
        opts.addSpacing(8)
        self.pool = QCheckBox(self.tr("Pool all encoders"))
        self.pool.setObjectName("poolBox")
        self.pool.setIcon(icon("pool"))
        self.pool.setToolTip(
            self.tr(
                "For judging: merge the top results of every applicable encoder, unjudged first, so every encoder's "
                "results get the same chance to be judged (fair evaluation)"
            )
        )
        opts.addWidget(self.pool)
        opts.addStretch(1)
        middle.addLayout(opts)
        outer.addLayout(middle, 1)

        self.search_button = QPushButton(icon("search", "#ffffff"), self.tr("Search"))
        self.search_button.setObjectName("searchButton")
        self.search_button.setDefault(True)
        self.search_button.setMinimumSize(QSize(112, 44))
        self.search_button.setToolTip(self.tr("Search (Ctrl+Enter)"))
        self.search_button.clicked.connect(self.request_search)
        self.search_button.setStyleSheet(
            "QPushButton#searchButton { background: #2563eb; color: white; border-radius: 6px; font-weight: 600;"
            " padding: 6px 14px; } QPushButton#searchButton:hover { background: #1d4ed8; }"
            " QPushButton#searchButton:disabled { background: #93a3c4; }"
        )
        outer.addWidget(self.search_button, 0, Qt.AlignmentFlag.AlignVCenter)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.request_search, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._update_controls()

    # -- inputs --------------------------------------------------------------------------
    def set_file(self, path: Path, *, start_s: float | None = None, end_s: float | None = None) -> bool:
        """Use ``path`` as the example; False (and the core's reason) when it is not media."""
        path = Path(path)
        kind = media_kind_of(path) if path.is_file() else None
        if kind is None:
            self.ctx.error(self.tr("{path}: not an image, audio or video file mediasearch can read").format(path=path))
            return False
        self.file, self.file_kind = path, kind
        self.duration_s = self._duration(path, kind)
        self.text.clear()
        self.start.blockSignals(True)
        self.start.setMaximum(self.duration_s or 1e6)
        self.end.setMaximum(self.duration_s or 1e6)
        self.start.setValue(start_s or 0.0)
        self.end.setValue(end_s or 0.0)
        self.start.blockSignals(False)
        self.drop.set_file(path, kind, self.start.value())
        self._update_controls()
        self.example_changed.emit()
        return True

    def _start_changed(self, value: float) -> None:
        if self.file is not None and self.file_kind in (MediaKind.VIDEO, MediaKind.AUDIO):
            self.drop.set_file(self.file, self.file_kind, value)

    @staticmethod
    def _duration(path: Path, kind: MediaKind) -> float | None:
        try:
            if kind is MediaKind.VIDEO:
                from mediasearch.decode.video import probe_video

                return probe_video(path).duration_s or None
            if kind is MediaKind.AUDIO:
                from mediasearch.decode.audio import probe_audio

                return probe_audio(path).duration_s
        except MediaSearchError:
            return None
        return None

    def set_text(self, text: str) -> None:
        self.text.setText(text)
        self._text_edited(text)

    def _text_edited(self, text: str) -> None:
        if text.strip() and self.file is not None:
            self.drop.set_file(None)
            self.file = self.file_kind = None
            self._update_controls()
            self.example_changed.emit()

    def _file_cleared(self) -> None:
        self.file = self.file_kind = None
        self._update_controls()
        self.example_changed.emit()

    def modality(self) -> Modality | None:
        if self.file is None:
            return Modality.TEXT if self.text.text().strip() else None
        if self.file_kind is MediaKind.AUDIO:
            return Modality.AUDIO
        if self.file_kind is MediaKind.VIDEO:
            return Modality(self.use_box.currentData() or Modality.IMAGE.value)
        return Modality.IMAGE

    def _update_controls(self) -> None:
        is_video = self.file_kind is MediaKind.VIDEO
        timed = self.file_kind in (MediaKind.AUDIO, MediaKind.VIDEO)
        for w in (self.use_label, self.use_box):
            w.setVisible(is_video)
        for w in (self.range_label, self.start, self.to_label, self.end):
            w.setVisible(timed)
        frame_only = is_video and self.modality() is Modality.IMAGE
        self.to_label.setVisible(timed and not frame_only)
        self.end.setVisible(timed and not frame_only)
        self.range_label.setText(self.tr("At") if frame_only else self.tr("From"))
        if self.file is None:
            self.mode_label.setText(self.tr("Text query"))
        else:
            what = {
                MediaKind.IMAGE: self.tr("Image example"),
                MediaKind.AUDIO: self.tr("Audio example"),
                MediaKind.VIDEO: self.tr("Video example"),
            }[self.file_kind]
            extra = f" · {fmt_time(self.duration_s)}" if self.duration_s else ""
            if self.file_kind is MediaKind.IMAGE:
                try:
                    from mediasearch.decode.image import image_size

                    extra = " · {} × {} px".format(*image_size(self.file))
                except MediaSearchError:
                    extra = ""
            self.mode_label.setText(f"{what}{extra}")
        self._modality_maybe_changed()

    def _modality_maybe_changed(self, *_: object) -> None:
        if self.file_kind is MediaKind.VIDEO:
            frame_only = self.modality() is Modality.IMAGE
            self.end.setVisible(not frame_only)
            self.to_label.setVisible(not frame_only)
            self.range_label.setText(self.tr("At") if frame_only else self.tr("From"))
        self.refresh_encoders()
        self.modality_changed.emit(self.modality())

    # -- encoders and saved queries -------------------------------------------------------------
    def refresh_encoders(self) -> None:
        modality = self.modality() or Modality.TEXT
        previous = self.encoder.currentData()
        try:
            library = self.ctx.library
            names = applicable_encoders(library, modality)
            defaults = default_encoders(library, modality)
        except MediaSearchError as exc:
            log.warning("cannot list encoders: %s", exc)
            names, defaults = [], []
        self.encoder.blockSignals(True)
        self.encoder.clear()
        best = ", ".join(defaults) if defaults else self.tr("none indexed")
        self.encoder.addItem(self.tr("Best available ({encoders})").format(encoders=best), None)
        self.encoder.setItemData(0, self.tr("The core's default: the best indexed encoder per media family"), Qt.ItemDataRole.ToolTipRole)
        for name in names:
            self.encoder.addItem(name, name)
        index = self.encoder.findData(previous) if previous else 0
        self.encoder.setCurrentIndex(max(index, 0))
        self.encoder.blockSignals(False)
        fit_combo(self.encoder)

    def set_encoder(self, name: str | None) -> None:
        index = self.encoder.findData(name) if name else 0
        if index < 0:
            raise ValueError(f"encoder {name} is not offered for this query")  # a programming error, not shown
        self.encoder.setCurrentIndex(index)

    def refresh_saved_queries(self) -> None:
        from mediasearch.evaluation.groundtruth import list_queries

        self.saved.blockSignals(True)
        self.saved.clear()
        self.saved.addItem(self.tr("Saved queries…"), None)
        try:
            queries = list_queries(self.ctx.library.catalog, self.ctx.settings)
        except MediaSearchError:
            queries = []
        for q in queries:
            glyph = {"text": "search", "image": "file", "audio": "play"}[q.modality.value]
            self.saved.addItem(icon(glyph), f"{q.name} — {describe_saved(q)}", q.id)
        self.saved.setEnabled(bool(queries))
        self.saved.blockSignals(False)

    def _saved_chosen(self, index: int) -> None:
        from mediasearch.evaluation.groundtruth import get_query

        query_id = self.saved.itemData(index)
        self.saved.setCurrentIndex(0)
        if query_id is None:
            return
        try:
            q = get_query(self.ctx.library.catalog, self.ctx.settings, query_id)
        except MediaSearchError as exc:
            self.ctx.error(exc)
            return
        if q.modality is Modality.TEXT:
            self.set_text(q.text or "")
        else:
            if q.file is None or not q.file.is_file():
                self.ctx.error(QueryError(self.tr("saved query {name}: its kept file {file} is missing").format(name=repr(q.name), file=q.file)))
                return
            if not self.set_file(q.file, start_s=q.start_s, end_s=q.end_s):
                return
            if self.file_kind is MediaKind.VIDEO:
                self.use_box.setCurrentIndex(self.use_box.findData(q.modality.value))
        self.request_search()

    # -- searching -------------------------------------------------------------------------------
    def current_spec(self) -> QuerySpec:
        """The query as asked; raises QueryError (the core's message) when incomplete."""
        modality = self.modality()
        if modality is None:
            raise QueryError(self.tr("type some text, or drop or choose an example file, to search"))
        if modality is Modality.TEXT:
            return QuerySpec(Modality.TEXT, text=self.text.text().strip())
        start = end = None
        if self.file_kind in (MediaKind.AUDIO, MediaKind.VIDEO):
            start = self.start.value() or None
            if modality is Modality.AUDIO:
                end = self.end.value() or None
        spec = QuerySpec(modality, path=self.file, start_s=start, end_s=end)
        spec.to_query()  # validates with the core's rules and messages
        return spec

    def request_search(self) -> None:
        try:
            spec = self.current_spec()
        except MediaSearchError as exc:
            self.ctx.error(exc)
            return
        self.search_requested.emit(spec, self.encoder.currentData(), self.k.value(), self.pool.isChecked())

    # -- drops anywhere on the bar ---------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        self.drop.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        self.drop.dropEvent(event)
