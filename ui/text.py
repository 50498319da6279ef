"""Interface text the pages share, in the interface language: the library's counts, a
query's description, byte sizes, times left, and the secondary text colour.

The core describes things in English (``LibrarySummary.describe``, ``QuerySpec.describe``);
the GUI builds its own sentences from the same fields so they can be translated. Plain
functions use ``translate(context, text)`` (what pyside6-lupdate looks for); widgets use
``self.tr``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor, QPalette

from ui.actions import fmt_time

translate = QCoreApplication.translate


def describe_summary(summary) -> str:  # summary: ui.actions.LibrarySummary
    """'3 images · 2 videos · 1 skipped' in the interface language."""
    parts = []
    for kind in ("image", "video", "audio"):
        n = summary.by_kind.get(kind, 0)
        if not n:
            continue
        if kind == "image":
            parts.append(translate("text", "1 image") if n == 1 else translate("text", "{n} images").format(n=n))
        elif kind == "video":
            parts.append(translate("text", "1 video") if n == 1 else translate("text", "{n} videos").format(n=n))
        else:
            parts.append(translate("text", "1 audio file") if n == 1 else translate("text", "{n} audio files").format(n=n))
    text = " · ".join(parts) if parts else translate("text", "nothing indexed yet")
    if summary.skipped:
        text += " · " + translate("text", "{n} skipped").format(n=len(summary.skipped))
    return text


def describe_spec(spec) -> str:  # spec: ui.actions.QuerySpec
    """A query as the user sees it: “text”, or the file name with its time range."""
    if spec.modality.value == "text":
        return f"“{spec.text}”"
    name = Path(spec.path).name if spec.path else "?"
    if spec.start_s is not None or spec.end_s is not None:
        end = translate("text", "end") if spec.end_s is None else fmt_time(spec.end_s)
        name += f" [{fmt_time(spec.start_s or 0.0)}–{end}]"
    return name


def format_bytes(size: int) -> str:
    """1536 -> '1.5 KB': decimal units, as the CLI prints them (``mediasearch models list``)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def time_left(seconds: float) -> str:
    return translate("text", "{time} left").format(time=fmt_time(seconds).split(".")[0])


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours (1 to 21; body text wants at least 4.5)."""

    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def secondary_text(pal: QPalette, role: QPalette.ColorRole = QPalette.ColorRole.Text) -> QColor:
    """A muted text colour that still reads (contrast >= 4.5 on the palette's background):
    the text colour blended a third of the way towards the background."""
    fg = pal.color(role)
    bg = pal.color(QPalette.ColorRole.Base if role == QPalette.ColorRole.Text else QPalette.ColorRole.Window)
    mix = 0.35
    c = QColor(
        round(fg.red() * (1 - mix) + bg.red() * mix),
        round(fg.green() * (1 - mix) + bg.green() * mix),
        round(fg.blue() * (1 - mix) + bg.blue() * mix),
    )
    return c if contrast(c, bg) >= 4.5 else fg
