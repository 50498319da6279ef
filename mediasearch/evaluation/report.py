"""Reports of an evaluation: JSON with every figure, a CSV metric table, and one
self-contained HTML file (inline CSS, plots and thumbnails as base64 PNG/JPEG).

Plots use matplotlib's object API with the Agg canvas (no pyplot, no global backend
switch, so a GUI in the same process is not disturbed).
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from mediasearch.evaluation import metrics as m
from mediasearch.evaluation.formats import write_metric_table_csv
from mediasearch.evaluation.judging import encoder_thresholds
from mediasearch.evaluation.runner import NOTES, EvalResult, comparisons

logger = logging.getLogger(__name__)

#: a difference is called significant below this (Holm-adjusted randomisation) p-value
ALPHA = 0.05
THUMB_PX = 96
#: misses shown with thumbnails per (query, encoder) in the HTML report
MAX_MISSES_SHOWN = 12


def _clean(value: object) -> object:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, float) or isinstance(value, np.floating):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def best_per_metric(table: Mapping[str, Mapping[str, float]], metric_names: Iterable[str]) -> dict[str, list[str]]:
    """metric -> the encoders with the highest mean (several on a tie; none if all NaN)."""
    out: dict[str, list[str]] = {}
    for metric in metric_names:
        values = {enc: row.get(metric, math.nan) for enc, row in table.items()}
        finite = [v for v in values.values() if not math.isnan(v)]
        if not finite:
            out[metric] = []
            continue
        top = max(finite)
        out[metric] = [enc for enc, v in values.items() if not math.isnan(v) and math.isclose(v, top, abs_tol=1e-12)]
    return out


def result_to_json(result: EvalResult) -> dict:
    """Every figure of ``result`` as plain JSON data (NaN as null)."""
    k_max = max(result.options.ks)
    groups = {}
    member_of: dict[str, list[str]] = {}
    for group, g in result.groups().items():
        table = result.group_table(group)
        for name in g.query_names:
            member_of.setdefault(name, []).append(group)
        groups[group] = {
            "modality": g.modality.value if g.modality else None,
            "target": g.target,
            "encoders": g.encoders,
            "queries": g.query_names,
            "unshared_queries": g.unshared,
            "table": table,
            "intervals": result.intervals(group),
            "thresholds": {
                enc: t.to_json() for enc, t in encoder_thresholds(result, queries=g.query_names).items() if enc in g.encoders
            },
            "best": best_per_metric(table, result.quality_metrics),
            "pr_curve": {enc: result.pr_curve(enc, g.queries) for enc in table},
            "comparisons": comparisons(result, group),
        }
    queries = []
    for info in result.queries:
        queries.append(
            {
                **info.query.to_json(),
                "description": info.query.describe(),
                "group": ", ".join(member_of.get(info.query.name, [])),
                "groups": member_of.get(info.query.name, []),
                "judged": len(info.qrels),
                "relevant": info.relevant,
                "evaluable": info.evaluable,
                "encoders": info.encoders,
                "top": {
                    enc: result.rankings[enc][info.query.name].docs[:k_max]
                    for enc in info.encoders
                    if info.query.name in result.rankings.get(enc, {})
                },
                "misses": {
                    enc: result.misses(enc, info.query.name)
                    for enc in info.encoders
                    if info.evaluable and info.query.name in result.rankings.get(enc, {})
                },
            }
        )
    data = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(result.started_at)),
        "library": result.library,
        "options": {
            "ks": list(result.options.ks),
            "depth": result.options.depth,
            "significance": f"paired randomisation test (exact up to 16 queries, else "
            f"{result.options.significance_resamples} samples), Holm-adjusted over encoder pairs; paired t-test alongside",
            "alpha": ALPHA,
            "rel_level": result.options.rel_level,
            "no_relevant": "excluded from the means" if result.options.exclude_no_relevant else "scored 0",
            "rater": result.options.rater,
            "judgements": "rater " + repr(result.options.rater) + " only"
            if result.options.rater is not None
            else "raters merged: the lower median of their grades",
            "bootstrap": f"percentile bootstrap over queries, {result.options.bootstrap_resamples} resamples, "
            f"{result.options.confidence:.0%} intervals, seed {result.options.seed}",
            "confidence": result.options.confidence,
        },
        "notes": NOTES,
        "metrics": result.metric_names,
        "encoders": result.encoders,
        "failures": result.failures,
        "unanswered": result.unanswered,
        "warnings": result.warnings,
        "queries": queries,
        "groups": groups,
        "per_query": result.per_query,
        "latency": {enc: result.latency_summary(enc) for enc in result.encoders},
        "throughput": result.throughput,
        "machine": result.machine,
        "agreement": result.agreement,
        "wall_s": result.wall_s,
    }
    return _clean(data)  # type: ignore[return-value]


def metric_table_rows(data: Mapping) -> list[dict]:
    """Rows (group, encoder, queries, means) of every group's table, from :func:`result_to_json` data."""
    rows = []
    for group, g in data["groups"].items():
        for encoder, means in g["table"].items():
            rows.append(
                {
                    "group": group,
                    "encoder": encoder,
                    "queries": len(g["queries"]),
                    "means": {k: (math.nan if v is None else v) for k, v in means.items()},
                }
            )
    return rows


def write_json(data: Mapping, path: Path) -> None:
    Path(path).write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_csv(data: Mapping, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write_metric_table_csv(metric_table_rows(data), data["metrics"], fh)


# -- plots -------------------------------------------------------------------------


def _figure(width: float = 6.0, height: float = 3.6):  # -> (Figure, Axes)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig) -> str:  # noqa: ANN001
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plot_pr_curves(curves: Mapping[str, Sequence[float | None]], title: str) -> str:
    """Interpolated precision-recall curves, one line per encoder; base64 PNG."""
    fig, ax = _figure()
    for encoder, curve in curves.items():
        values = np.array([np.nan if v is None else v for v in curve], dtype=float)
        ax.plot(m.RECALL_LEVELS, values, marker="o", markersize=3, label=encoder)
    ax.set_xlabel("recall")
    ax.set_ylabel("interpolated precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def metric_bars_size(table: Mapping[str, Mapping[str, float | None]], metrics: Sequence[str]) -> tuple[float, float]:
    """(width, height) in inches of a :func:`draw_metric_bars` figure."""
    return max(6.0, 0.55 * len(metrics) * max(1, len(table)) / 2 + 2), 3.6


def draw_metric_bars(ax, table: Mapping[str, Mapping[str, float | None]], metrics: Sequence[str], title: str) -> None:  # noqa: ANN001 - Axes
    """Grouped bars on ``ax``: one group per metric, one bar per encoder (the report and
    the GUI draw the same chart; each adds its own legend)."""
    encoders = list(table)
    width = 0.8 / max(1, len(encoders))
    x = np.arange(len(metrics))
    for i, encoder in enumerate(encoders):
        values = [np.nan if table[encoder].get(mt) is None else table[encoder][mt] for mt in metrics]
        ax.bar(x + (i - (len(encoders) - 1) / 2) * width, values, width, label=encoder)
    ax.set_xticks(x)
    ax.set_xticklabels(metrics, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)


def plot_metric_bars(table: Mapping[str, Mapping[str, float | None]], metrics: Sequence[str], title: str) -> str:
    """Grouped bars: one group per metric, one bar per encoder; base64 PNG."""
    fig, ax = _figure(*metric_bars_size(table, metrics))
    draw_metric_bars(ax, table, metrics, title)
    ax.legend(fontsize=8)
    return _png(fig)


def plot_latency(latency: Mapping[str, Mapping[str, float]]) -> str:
    """p50 / p95 / p99 search latency per encoder (ms); base64 PNG."""
    fig, ax = _figure()
    encoders = [e for e, s in latency.items() if s]
    x = np.arange(len(encoders))
    for i, key in enumerate(("p50_ms", "p95_ms", "p99_ms")):
        ax.bar(x + (i - 1) * 0.27, [latency[e][key] for e in encoders], 0.27, label=key.replace("_ms", ""))
    ax.set_xticks(x)
    ax.set_xticklabels(encoders, fontsize=8)
    ax.set_ylabel("ms per search")
    ax.set_title("search latency", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


# -- thumbnails --------------------------------------------------------------------


def thumbnail(path: str | Path | None, kind: str | None, *, start_s: float | None = None) -> str | None:
    """A small JPEG of an image or a video frame, base64; None for audio, text or files
    that cannot be read (a report must not fail for want of a thumbnail)."""
    if not path or kind not in ("image", "video"):
        return None
    from mediasearch.errors import MediaSearchError

    try:
        if kind == "video":
            from mediasearch.decode.video import frame_at

            picture = frame_at(Path(path), start_s or 0.0, target_size=THUMB_PX)
        else:
            from mediasearch.decode.image import load_image

            picture = load_image(Path(path), target_size=THUMB_PX)
        picture = picture.copy()
        picture.thumbnail((THUMB_PX, THUMB_PX))
        buf = io.BytesIO()
        picture.convert("RGB").save(buf, "JPEG", quality=80)
        return base64.b64encode(buf.getvalue()).decode("ascii")
    except (ImportError, OSError, ValueError, MediaSearchError) as exc:
        logger.debug("no thumbnail for %s: %s", path, exc)
        return None


# -- HTML --------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1400px}
h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.1em}table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{background:#f4f4f4}
td.l,th.l{text-align:left}td.best{font-weight:bold;background:#e6f4ea}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em 1em;margin:.5em 0}
.thin{color:#b00020}.muted{color:#777}.sig{color:#0a7d32;font-weight:bold}
.thumbs{display:flex;flex-wrap:wrap;gap:.5em}.thumb{width:110px;font-size:.75em;word-break:break-all}
.thumb img{max-width:96px;max-height:96px;display:block;border:1px solid #ccc}
.ph{width:96px;height:64px;border:1px solid #ccc;background:#eee;display:flex;align-items:center;justify-content:center}
img.plot{max-width:100%}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _img(b64: str | None, alt: str, *, mime: str = "image/jpeg", cls: str = "") -> str:
    if b64 is None:
        return f'<div class="ph">{_e(alt)}</div>'
    klass = f' class="{cls}"' if cls else ""
    return f'<img{klass} alt="{_e(alt)}" src="data:{mime};base64,{b64}">'


def _metric_table(g: Mapping, metrics: Sequence[str], quality: set[str]) -> str:
    head = "".join(f"<th>{_e(mt)}</th>" for mt in metrics)
    rows = []
    for encoder, means in g["table"].items():
        cells = []
        for mt in metrics:
            best = mt in quality and encoder in g["best"].get(mt, [])
            value = means.get(mt)
            thin = mt.startswith("judged@") and value is not None and value < 0.5
            klass = "best" if best else ("thin" if thin else "")
            mark = " ★" if best else ""
            cells.append(f'<td class="{klass}">{_fmt(value)}{mark}</td>')
        rows.append(f'<tr><td class="l">{_e(encoder)}</td>{"".join(cells)}</tr>')
    return f'<table><tr><th class="l">encoder</th>{head}</tr>{"".join(rows)}</table>'


def _comparison_table(pairs: Sequence[Mapping], metric: str) -> str:
    rows = []
    for p in pairs:
        p_holm = p.get("p_holm")
        significant = p_holm is not None and p_holm < ALPHA
        verdict = '<span class="sig">yes</span>' if significant else "no"
        rows.append(
            f'<tr><td class="l">{_e(p["a"])} vs {_e(p["b"])}</td><td>{p["n"]}</td><td>{_fmt(p["diff"])}</td>'
            f'<td>{_fmt(p["randomization"]["p_value"], 4)}</td><td>{_fmt(p_holm, 4)}</td>'
            f'<td>{_fmt(p["t_test"]["p_value"], 4)}</td><td>{verdict}</td></tr>'
        )
    return (
        f"<table><tr><th class=l>{_e(metric)}: A vs B</th><th>queries</th><th>mean(A−B)</th>"
        f"<th>p (randomisation)</th><th>p (Holm)</th><th>p (t-test)</th><th>significant at {ALPHA}</th></tr>"
        f'{"".join(rows)}</table>'
    )


def _interval_table(g: Mapping, options: Mapping) -> str:
    """Bootstrap intervals of the headline metrics, one row per encoder."""
    intervals = g.get("intervals") or {}
    metrics = list(next(iter(intervals.values()), {}))
    if not metrics:
        return ""
    head = "".join(f"<th>{_e(mt)}</th>" for mt in metrics)
    rows = []
    for encoder, per in intervals.items():
        cells = "".join(f"<td>{_fmt(per[mt][0])} – {_fmt(per[mt][1])}</td>" for mt in metrics)
        rows.append(f'<tr><td class="l">{_e(encoder)}</td>{cells}</tr>')
    level = f"{options.get('confidence', 0.95):.0%}"
    thresholds = g.get("thresholds") or {}
    if thresholds:
        head += "<th>best score threshold (F1 over judged hits)</th>"
        rows = [
            row[: -len("</tr>")] + f"<td>{_fmt(thresholds.get(enc, {}).get('threshold'))} "
            f"(F1 {_fmt(thresholds.get(enc, {}).get('f1'))})</td></tr>"
            for enc, row in zip(intervals, rows)
        ]
    return f'<table><tr><th class="l">{level} interval</th>{head}</tr>{"".join(rows)}</table>'


def render_html(data: Mapping) -> str:
    """The report as one HTML document (from :func:`result_to_json` data)."""
    metrics = data["metrics"]
    quality = {mt for mt in metrics if not mt.startswith("judged@")}
    ks = data["options"]["ks"]
    k_max = max(ks)
    headline = [mt for mt in ("MAP", f"NDCG@{k_max}", "MRR", f"P@{k_max}") if mt in metrics]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>mediasearch evaluation</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Which encoder works best on this library?</h1>",
        f'<p class="muted">library {_e(data["library"])} · generated {_e(data["generated_at"])} · '
        f'{len(data["queries"])} saved queries · encoders: {_e(", ".join(data["encoders"]) or "none")} · '
        f'depth {data["options"]["depth"]} · evaluation took {_fmt(data["wall_s"], 1)} s</p>',
        '<div class="note"><b>How to read this.</b><ul>' + "".join(f"<li>{_e(n)}</li>" for n in data["notes"]) + "</ul></div>",
    ]
    skipped = [q for q in data["queries"] if not q["evaluable"]]
    if skipped:
        parts.append(
            '<div class="note">Not scored (no judgement yet, or none relevant and those excluded; use <code>mediasearch pool QUERY</code> to judge): '
            + ", ".join(_e(q["name"]) for q in skipped)
            + "</div>"
        )
    for name, reason in data["failures"].items():
        parts.append(f'<div class="note">Encoder <b>{_e(name)}</b> left out: {_e(reason)}</div>')
    for warning in data["warnings"]:
        parts.append(f'<div class="note">{_e(warning)}</div>')

    parts.append("<h2>Quality by media type</h2>")
    if not data["groups"]:
        parts.append("<p>No query has a relevant judgement yet, so no quality figures.</p>")
    for group, g in data["groups"].items():
        parts.append(f"<h3>{_e(group)} ({len(g['queries'])} queries)</h3>")
        parts.append(_metric_table(g, metrics, quality))
        parts.append('<p class="muted">★ best in the column. judged@k in red: under half of the top k judged, conclusions are thin.</p>')
        parts.append(_interval_table(g, data["options"]))
        if g.get("unshared_queries"):
            parts.append(
                '<p class="muted">Left out of this comparison (not answered by every encoder here): '
                + ", ".join(_e(q) for q in g["unshared_queries"]) + "</p>"
            )
        plots = [
            _img(plot_pr_curves(g["pr_curve"], f"{group}: precision-recall"), "precision-recall", mime="image/png", cls="plot"),
            _img(plot_metric_bars(g["table"], headline + [f"R@{k_max}"], f"{group}: metrics"), "metrics", mime="image/png", cls="plot"),
        ]
        parts.append('<div class="thumbs">' + "".join(plots) + "</div>")
        for metric in headline[:2]:
            pairs = g["comparisons"].get(metric)
            if pairs:
                parts.append(_comparison_table(pairs, metric))
    parts.append(_selection_section(data))
    parts.append(_speed_section(data))
    parts.append(_agreement_section(data))
    parts.append(_per_query_section(data, k_max))
    parts.append("</body></html>")
    return "\n".join(parts)


def _agreement_section(data: Mapping) -> str:
    """Who judged, and how far raters agree (see mediasearch/evaluation/agreement.py)."""
    ag = data.get("agreement") or {}
    out = ["<h2>Judges</h2>"]
    if not ag.get("raters"):
        return out[0] + "<p>No judgements yet.</p>"
    names = ", ".join(f"{_e(r or '(unnamed)')}: {n}" for r, n in ag["judged"].items())
    out.append(f"<p>Judgements per rater: {names}. Scored: {_e(data['options'].get('judgements', ''))}.</p>")
    if not ag.get("multiply_judged"):
        out.append("<p>No hit was graded by two raters, so agreement is not measured: ask a second person to judge "
                   "some pooled hits (<code>mediasearch judge --rater NAME</code>).</p>")
        return "".join(out)
    out.append(
        f"<p>{ag['multiply_judged']} hits graded by two or more raters. Krippendorff's alpha: "
        f"{_fmt(ag.get('alpha_relevance'))} on relevance (grade &ge; {ag['rel_level']}), "
        f"{_fmt(ag.get('alpha_grades'))} on grades (ordinal). 1 = perfect agreement, 0 = chance; "
        "below about 0.67 conclusions from these judgements are tentative.</p>"
    )
    if ag.get("pairs"):
        rows = "".join(
            f"<tr><td class='l'>{_e(p['raters'][0] or '(unnamed)')} / {_e(p['raters'][1] or '(unnamed)')}</td>"
            f"<td>{p['shared']}</td><td>{p['agreed']}</td><td>{_fmt(p['kappa'])}</td></tr>"
            for p in ag["pairs"]
        )
        out.append("<table><tr><th class='l'>raters</th><th>hits both graded</th><th>agreed</th>"
                   f"<th>Cohen's kappa</th></tr>{rows}</table>")
    return "".join(out)


def _speed_section(data: Mapping) -> str:
    machine = data["machine"]
    out = ["<h2>Speed</h2>"]
    out.append(
        f'<p class="muted">machine: {_e(machine.get("processor") or machine.get("machine", "?"))}, '
        f'{_e(machine.get("cpu_count"))} CPUs; threads: setting {_e(machine.get("threads_setting") or "all")}, '
        f'FAISS {_e(machine.get("faiss_threads"))}'
        + (f', torch {_e(machine["torch_threads"])}' if "torch_threads" in machine else "")
        + f'; {_e(machine.get("platform", ""))}'
        + (
            f'; other programs used {machine["other_work_cpus"]:.2f} CPUs while searches were timed'
            if machine.get("other_work_cpus") is not None
            else ""
        )
        + "</p>"
    )
    rows = []
    for enc, s in data["latency"].items():
        if s:
            rows.append(
                f'<tr><td class="l">{_e(enc)}</td><td>{_fmt(s["p50_ms"], 1)}</td><td>{_fmt(s["p95_ms"], 1)}</td>'
                f'<td>{_fmt(s["p99_ms"], 1)}</td><td>{_fmt(s["mean_ms"], 1)}</td><td>{_fmt(s["qps"], 1)}</td>'
                f'<td>{_fmt(s["raw_p99_ms"], 1)}</td><td>{_fmt(s["raw_max_ms"], 1)}</td>'
                f'<td>{s["samples"]} ({s["passes"]} per query)</td></tr>'
            )
    out.append(
        "<table><tr><th class=l>encoder</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>mean ms</th>"
        f'<th>queries/s</th><th>p99 of every search</th><th>slowest</th><th>searches timed</th></tr>{"".join(rows)}</table>'
    )
    out.append(
        '<p class="muted">p50/p95/p99 are across queries of each query\'s median time over the repeated passes '
        "(one pass slowed by other work on the machine does not move them); queries/s = 1000 / mean, one search "
        "at a time. The last columns count every timed search.</p>"
    )
    if rows:
        out.append(_img(plot_latency(data["latency"]), "latency", mime="image/png", cls="plot"))
    rows = []
    for enc, t in data["throughput"].items():
        media = t.get("media_s_per_s")
        rows.append(
            f'<tr><td class="l">{_e(enc)}</td><td>{t["runs"]}</td><td>{t["items"]}</td><td>{_fmt(t["wall_s"], 1)}</td>'
            f'<td>{_fmt(t["items_per_s"], 2)}</td><td>{_fmt(media, 1) + "×" if media else "–"}</td>'
            f'<td class="l">{_e(t["last_run"]["threads"])} threads, {_e(t["last_run"]["machine"])}</td></tr>'
        )
    if rows:
        out.append("<h3>Indexing throughput (from indexing runs)</h3>")
        out.append(
            "<table><tr><th class=l>encoder</th><th>runs</th><th>files</th><th>seconds</th><th>files/s</th>"
            f'<th>media s per s</th><th class=l>last run</th></tr>{"".join(rows)}</table>'
        )
    return "\n".join(out)


def _per_query_section(data: Mapping, k_max: int) -> str:
    out = [f"<h2>Per query: relevant files each encoder missed (not in its top {k_max})</h2>"]
    cache: dict[str, str | None] = {}

    def thumb(doc: str, path: str, kind: str | None) -> str:
        if doc not in cache:
            cache[doc] = thumbnail(path, kind)
        label = "♪ audio" if kind == "audio" else (kind or "?")
        return _img(cache[doc], label)

    for q in data["queries"]:
        out.append(f'<h3>{_e(q["name"])} <span class="muted">({_e(q["modality"])}, {_e(q["group"])})</span></h3>')
        if q["modality"] == "text":
            out.append(f'<p>“{_e(q["text"])}”</p>')
        else:
            kind = "image" if q["modality"] == "image" else None
            out.append(f'<div class="thumbs"><div class="thumb">{_img(thumbnail(q["file"], kind), q["modality"])}query</div></div>')
        out.append(f'<p class="muted">{q["judged"]} judged, {q["relevant"]} relevant.</p>')
        if not q["evaluable"]:
            continue
        rows = []
        for enc in q["encoders"]:
            row = data["per_query"].get(enc, {}).get(q["name"])
            if row is None:
                continue
            rows.append(
                f'<tr><td class="l">{_e(enc)}</td><td>{_fmt(row.get("MAP"))}</td><td>{_fmt(row.get(f"P@{k_max}"))}</td>'
                f'<td>{_fmt(row.get(f"NDCG@{k_max}"))}</td><td>{_fmt(row.get(f"judged@{k_max}"))}</td>'
                f'<td>{len(q["misses"].get(enc, []))}</td></tr>'
            )
        out.append(
            f"<table><tr><th class=l>encoder</th><th>AP</th><th>P@{k_max}</th><th>NDCG@{k_max}</th>"
            f'<th>judged@{k_max}</th><th>missed</th></tr>{"".join(rows)}</table>'
        )
        for enc, misses in q["misses"].items():
            if not misses:
                continue
            cells = []
            for miss in misses[:MAX_MISSES_SHOWN]:
                found = f"rank {miss['rank']}" if miss["rank"] else "not retrieved"
                cells.append(
                    f'<div class="thumb">{thumb(miss["content_hash"], miss["path"], miss["kind"])}'
                    f'{_e(Path(miss["path"]).name or miss["content_hash"][:12])}<br>grade {miss["grade"]}, {found}</div>'
                )
            more = f"<p class=muted>… and {len(misses) - MAX_MISSES_SHOWN} more</p>" if len(misses) > MAX_MISSES_SHOWN else ""
            out.append(f'<p>{_e(enc)} missed:</p><div class="thumbs">{"".join(cells)}</div>{more}')
    return "\n".join(out)


def write_html(data: Mapping, path: Path) -> None:
    Path(path).write_text(render_html(data), encoding="utf-8")


def write_reports(
    result: EvalResult, *, html_path: Path | None = None, json_path: Path | None = None, csv_path: Path | None = None
) -> dict:
    """Write the asked-for files; returns the JSON data."""
    data = result_to_json(result)
    if json_path is not None:
        write_json(data, json_path)
    if csv_path is not None:
        write_csv(data, csv_path)
    if html_path is not None:
        write_html(data, html_path)
    return data


# -- model selection and load test (data["selection"], see mediasearch/evaluation/selection.py) --


def plot_pareto(points: Mapping[str, Sequence[float | None]], front: Sequence[str], title: str) -> str:
    """Quality (MAP, y) against indexing throughput (files/s, x, log scale), one point per
    encoder, the Pareto front joined by a line; base64 PNG."""
    fig, ax = _figure()
    placed = {e: (float(t), float(q)) for e, (q, t) in points.items() if q is not None and t is not None and t > 0}
    for enc, (x, y) in placed.items():
        on = enc in front
        ax.scatter([x], [y], s=46 if on else 30, marker="o" if on else "x", zorder=3)
        ax.annotate(enc, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    line = [placed[e] for e in front if e in placed]
    if len(line) > 1:
        ax.plot([p[0] for p in line], [p[1] for p in line], linestyle="--", linewidth=1, color="#555", zorder=2, label="Pareto front")
        ax.legend(fontsize=8)
    if placed:
        ax.set_xscale("log")
        ax.margins(x=0.2, y=0.05)
    else:
        ax.text(0.5, 0.5, "no encoder has both MAP and indexing throughput", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("indexing throughput (files/s, log)")
    ax.set_ylabel("MAP")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_load_curve(rows: Sequence[Mapping]) -> str:
    """p95 latency (ms) against queries/s under load, one line per (encoder, mode,
    target); base64 PNG (the load test's own chart)."""
    from mediasearch.evaluation.loadtest import latency_throughput_png

    return latency_throughput_png(list(rows))


def _bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"


def _hours(h: float | None) -> str:
    """Hours to index, two decimals; "< 0.01" for less than 36 s."""
    return "–" if h is None else ("< 0.01" if h < 0.005 else f"{h:.2f}")


def _interval(value: float | None, ci: Sequence[float | None] | None) -> str:
    if value is None:
        return "–"
    if not ci or ci[0] is None:
        return _fmt(value)
    return f"{_fmt(value)} <span class='muted'>[{_fmt(ci[0])}–{_fmt(ci[1])}]</span>"


def _selection_section(data: Mapping) -> str:
    """The model-selection report: per media type a table of every encoder's quality,
    speed, memory, sizes and published figure; the Pareto plot; the recommendation; the
    published-ranking check; and the latency-under-load curve."""
    sel = data.get("selection")
    if not sel:
        return ""
    from mediasearch.evaluation.selection import Constraints, p95_under_load, published_text, recommendation_text

    c = Constraints.from_json(sel.get("constraints"))
    limits = [
        f"index time ≤ {c.max_index_hours:g} h" if c.max_index_hours else "",
        f"p95 latency ≤ {c.max_latency_ms:g} ms" if c.max_latency_ms else "",
        f"peak memory ≤ {c.max_memory_gb:g} GB" if c.max_memory_gb else "",
    ]
    limits = [x for x in limits if x] or ["none (add --max-index-hours, --max-latency-ms, --max-memory-gb)"]
    lt = sel.get("loadtest") or {}
    out = [
        "<h2>Model selection</h2>",
        f"<p>Constraints: {_e('; '.join(limits))}; latency at concurrency ≤ {c.concurrency}.</p>",
        '<div class="note"><ul>' + "".join(f"<li>{_e(n)}</li>" for n in sel.get("notes", [])) + "</ul></div>",
    ]
    if not lt.get("measured"):
        out.append(f'<div class="note">Latency under load: {_e(lt.get("note") or "not measured: run mediasearch loadtest")}</div>')
    if not sel["groups"]:
        out.append("<p>No comparison group has scored queries yet.</p>")
    ndcg = sel.get("ndcg_metric", "NDCG@10")
    for name, g in sel["groups"].items():
        out.append(f"<h3>{_e(name)} ({g['queries']} queries)</h3>")
        rows = []
        for enc, r in g["rows"].items():
            p95 = p95_under_load(r.get("load") or [], c.concurrency)
            lat = "not measured" if p95 is None else f"{p95['p95_ms']:.1f} <span class='muted'>(c={p95['concurrency']})</span>"
            mark = " ◆" if enc in g["pareto"] else ""
            klass = "l best" if enc == g["recommendation"].get("pick") else "l"
            bench = _e(r.get("benchmark") or "–")
            rows.append(
                f'<tr><td class="{klass}">{_e(enc)}{mark}</td><td>{_interval(r.get("MAP"), r.get("MAP_interval"))}</td>'
                f'<td>{_interval(r.get("NDCG"), r.get("NDCG_interval"))}</td><td>{_fmt(r.get("items_per_s"), 2)}</td>'
                f'<td>{_hours(r.get("index_hours"))}</td><td>{lat}</td>'
                f'<td>{_fmt(None if r.get("peak_memory_mb") is None else r["peak_memory_mb"] / 1024, 2)}</td>'
                f'<td>{_bytes(r.get("index_bytes"))}</td><td>{_bytes(r.get("weights_bytes"))}</td>'
                f'<td class="l">{_e(r.get("licence") or "–")}</td><td class="l">{_e(r.get("hosting"))}</td>'
                f'<td class="l">{bench}</td></tr>'
            )
        out.append(
            f"<table><tr><th class=l>encoder</th><th>MAP [95% interval]</th><th>{_e(ndcg)}</th><th>files/s (indexing)</th>"
            "<th>hours to index this library</th><th>p95 ms under load</th><th>peak memory GB</th><th>index on disk</th>"
            "<th>weights</th><th class=l>licence</th><th class=l>hosting</th><th class=l>published figure (source)</th></tr>"
            f'{"".join(rows)}</table>'
        )
        out.append('<p class="muted">◆ on the quality–throughput Pareto front; green: the pick.'
                   + (f" Not placed (no MAP or no indexing figure): {_e(', '.join(g['not_placed']))}." if g.get("not_placed") else "")
                   + "</p>")
        out.append("<p><b>Recommendation.</b></p><ul>"
                   + "".join(f"<li>{_e(line)}</li>" for line in recommendation_text(g["recommendation"], g["rows"])) + "</ul>")
        pub = g.get("published") or {}
        flagged = any(m.get("differs") for m in (pub.get("metrics") or {}).values())
        out.append(f"<p><b>{'⚠ ' if flagged else ''}Published ranking vs this library.</b></p><ul>"
                   + "".join(f"<li>{_e(line)}</li>" for line in published_text(pub)) + "</ul>")
        points = {enc: (r.get("MAP"), r.get("items_per_s")) for enc, r in g["rows"].items()}
        plots = [_img(plot_pareto(points, g["pareto"], f"{name}: quality vs throughput"), "Pareto plot", mime="image/png", cls="plot")]
        load_rows = [{**row, "encoder": enc} for enc, r in g["rows"].items() for row in r.get("load") or []]
        if load_rows:
            plots.append(_img(plot_load_curve(load_rows), "latency under load", mime="image/png", cls="plot"))
        out.append('<div class="thumbs">' + "".join(plots) + "</div>")
    return "\n".join(out)
