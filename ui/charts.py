"""The Evaluation page's charts, drawn in the worker with matplotlib (Agg): the report's
data, with labels in the interface language and the legend outside the plot so it never
covers a bar or a curve. (The HTML report keeps its own, English, charts.)
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator, Mapping, Sequence

from PySide6.QtCore import QCoreApplication

log = logging.getLogger(__name__)

translate = QCoreApplication.translate

#: fonts with Chinese glyphs, preferred in this order when installed (fonts-noto-cjk, fonts-wqy-*)
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "Microsoft YaHei", "PingFang SC", "SimHei")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed font of CJK_FONTS (None when there is none: Chinese shows as boxes)."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    font = cjk_font()
    families = ([font] if font else []) + ["DejaVu Sans"]
    with matplotlib.rc_context({"font.sans-serif": families, "font.family": "sans-serif", "axes.unicode_minus": False}):
        yield


def _figure(width: float = 6.0, height: float = 3.6):  # -> (Figure, Axes)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _outside_legend(ax) -> None:  # noqa: ANN001 - Axes
    """The legend to the right of the axes: it cannot overlap what is plotted."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def _png(fig) -> bytes:  # noqa: ANN001
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.1)
    return buf.getvalue()


def metric_bars_figure(table: Mapping[str, Mapping[str, float | None]], metrics: Sequence[str], title: str):  # -> Figure
    """Grouped bars: one group per metric, one bar per encoder (the report's chart)."""
    from mediasearch.evaluation.report import draw_metric_bars, metric_bars_size

    with _style():
        fig, ax = _figure(*metric_bars_size(table, metrics))
        draw_metric_bars(ax, table, metrics, title)
        _outside_legend(ax)
        fig.canvas.draw()
    return fig


def metric_bars(table: Mapping[str, Mapping[str, float | None]], metrics: Sequence[str], title: str) -> bytes:
    """PNG bytes of :func:`metric_bars_figure`."""
    with _style():
        return _png(metric_bars_figure(table, metrics, title))


def pr_curves(curves: Mapping[str, Sequence[float | None]], recall_levels: Sequence[float], title: str) -> bytes:
    """Interpolated precision-recall curves, one line per encoder; PNG bytes."""
    import numpy as np

    with _style():
        fig, ax = _figure()
        for encoder, curve in curves.items():
            values = np.array([np.nan if v is None else v for v in curve], dtype=float)
            ax.plot(recall_levels, values, marker="o", markersize=3, label=encoder)
        ax.set_xlabel(translate("charts", "recall"))
        ax.set_ylabel(translate("charts", "interpolated precision"))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        _outside_legend(ax)
        return _png(fig)


def latency(latency_ms: Mapping[str, Mapping[str, float]]) -> bytes:
    """p50 / p95 / p99 search latency per encoder (ms); PNG bytes."""
    import numpy as np

    with _style():
        fig, ax = _figure()
        encoders = [e for e, s in latency_ms.items() if s]
        x = np.arange(len(encoders))
        for i, key in enumerate(("p50_ms", "p95_ms", "p99_ms")):
            ax.bar(x + (i - 1) * 0.27, [latency_ms[e][key] for e in encoders], 0.27, label=key.replace("_ms", ""))
        ax.set_xticks(x)
        ax.set_xticklabels(encoders, fontsize=8)
        ax.set_ylabel(translate("charts", "ms per search"))
        ax.set_title(translate("charts", "search latency"), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        _outside_legend(ax)
        return _png(fig)


def pareto(points: Mapping[str, Sequence[float | None]], front: Sequence[str], title: str) -> bytes:
    """Quality (MAP, y) against indexing throughput (files/s, x, log scale), one point per
    encoder (``points``: encoder -> (MAP, files/s)), the Pareto front joined by a dashed
    line; PNG bytes."""
    with _style():
        fig, ax = _figure()
        placed = {e: (float(t), float(q)) for e, (q, t) in points.items() if q is not None and t is not None and t > 0}
        for enc, (x, y) in placed.items():
            on = enc in front
            ax.scatter([x], [y], s=46 if on else 30, marker="o" if on else "x", zorder=3, label=enc)
        line = [placed[e] for e in front if e in placed]
        if len(line) > 1:
            ax.plot([p[0] for p in line], [p[1] for p in line], linestyle="--", linewidth=1, color="#555", zorder=2,
                    label=translate("charts", "Pareto front"))
        if placed:
            ax.set_xscale("log")
            ax.margins(x=0.2, y=0.05)
            _outside_legend(ax)
        else:
            ax.text(0.5, 0.5, translate("charts", "no encoder has both MAP and indexing speed"), ha="center", va="center",
                    transform=ax.transAxes)
        ax.set_xlabel(translate("charts", "indexing speed (files/s, log scale)"))
        ax.set_ylabel("MAP")
        ax.set_ylim(0, 1.02)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        return _png(fig)


def load_curve(rows: Sequence[Mapping], title: str) -> bytes:
    """p95 latency (ms) against searches per second under load, one line per (encoder,
    mode, target), each point labelled with its number of concurrent clients; PNG bytes.
    ``rows``: the load test's result rows (encoder, mode, target, concurrency, qps, p95_ms)."""
    from mediasearch.evaluation.loadtest import draw_load_curve

    with _style():
        fig, ax = _figure()
        drawn = draw_load_curve(ax, rows)
        ax.set_xlabel(translate("charts", "searches per second"))
        ax.set_ylabel(translate("charts", "p95 latency (ms)"))
        ax.set_title(title, fontsize=10)
        if drawn:
            _outside_legend(ax)
        return _png(fig)
