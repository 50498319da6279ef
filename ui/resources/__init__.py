"""Icons drawn from the SVG files in this folder.

Line icons are single-colour SVGs whose stroke is the placeholder ``#COLOR``; they are
tinted with the palette's text colour each time they are drawn, so they read well on
light and dark palettes alike, also after switching palettes. Rendering goes through QSvgRenderer at several sizes, so icons stay
sharp on high-DPI screens.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QIconEngine, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
APP_ICON_PATH = HERE / "app.svg"
_SIZES = (16, 20, 24, 32, 48, 64)


def _render(svg: bytes, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg))
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return QPixmap.fromImage(image)


@lru_cache(maxsize=None)
def _svg(name: str) -> bytes | None:
    path = HERE / "icons" / f"{name}.svg"
    if not path.is_file():
        log.warning("no icon named %s", name)
        return None
    return path.read_bytes()


@lru_cache(maxsize=512)
def _tinted(name: str, colour: str, size: int) -> QPixmap:
    svg = _svg(name) or b""
    return _render(svg.replace(b"#COLOR", colour.encode()), size)


class _TintedEngine(QIconEngine):
    """Renders a line icon in the palette's current text colour, at the size asked for,
    so icons follow a switch between light and dark palettes without being rebuilt."""

    def __init__(self, name: str, colour: str | None) -> None:
        super().__init__()
        self.name = name
        self.colour = colour

    def _colour(self, mode: QIcon.Mode) -> str:
        if self.colour and mode != QIcon.Mode.Disabled:
            return self.colour
        if QGuiApplication.instance() is None:
            return self.colour or "#404040"
        pal = QGuiApplication.palette()
        group = QPalette.ColorGroup.Disabled if mode == QIcon.Mode.Disabled else QPalette.ColorGroup.Normal
        if mode == QIcon.Mode.Selected:
            return pal.color(QPalette.ColorRole.HighlightedText).name()
        return pal.color(group, QPalette.ColorRole.WindowText).name()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return _tinted(self.name, self._colour(mode), max(size.width(), size.height(), 1))

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:  # noqa: N802
        pm = QPixmap(_tinted(self.name, self._colour(mode), max(int(max(size.width(), size.height()) * scale), 1)))
        pm.setDevicePixelRatio(scale)
        return pm

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        scale = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        side = max(int(min(rect.width(), rect.height()) * scale), 1)
        painter.drawPixmap(rect, _tinted(self.name, self._colour(mode), side))

    def clone(self) -> "QIconEngine":
        return _TintedEngine(self.name, self.colour)


def icon(name: str, colour: str | None = None) -> QIcon:
    """The line icon ``name`` (a file in icons/), in ``colour`` or the palette's text colour."""
    if _svg(name) is None:
        return QIcon()
    return QIcon(_TintedEngine(name, colour))


def clear_icon_cache() -> None:
    """Forget rendered icons."""
    _tinted.cache_clear()


def app_icon() -> QIcon:
    """The application icon at every common size."""
    svg = APP_ICON_PATH.read_bytes()
    icon_ = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        icon_.addPixmap(_render(svg, size))
    return icon_
