"""The Evaluation page: saved queries, running the evaluation in a worker, the
per-media-type comparison tables (best marked), latency and indexing speed, charts,
per-query misses, and exporting the HTML / CSV / JSON report.

Everything shown comes from :func:`mediasearch.evaluation.runner.evaluate` and
:func:`mediasearch.evaluation.report.result_to_json`; the charts are the report's own
matplotlib (Agg) plots, drawn in the worker.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mediasearch.errors import MediaSearchError, QueryError
from mediasearch.progress import Progress
from ui.context import AppContext
from ui.i18n.core_strings import core_text
from ui.models import Cell, Table, kind_name
from ui.panels.query_panel import describe_saved
from ui.resources import icon
from ui.widgets import Table as TableView
from ui.widgets import ScaledPixmap, header, hint
from ui.workers import CallWorker

log = logging.getLogger(__name__)

BEST_MARK = "★ "
translate = QCoreApplication.translate


def target_name(target: str) -> str:
    """What an encoder searches (the second half of a group's name) in the interface language."""
    from mediasearch.evaluation import runner

    names = {
        runner.TARGET_VISUAL: translate("EvalView", "images and video frames"),
        runner.TARGET_AUDIO: translate("EvalView", "sounds"),
        runner.TARGET_SPEECH: translate("EvalView", "transcripts"),
        "mixed": translate("EvalView", "mixed"),
    }
    return names.get(target, kind_name(target))


def group_name(group: str) -> str:
    """A comparison group's key (``runner.comparison_groups``: "text queries → transcripts",
    "all queries", "... (synthetic)") in the interface language."""
    from mediasearch.evaluation.runner import ALL

    synthetic = group.endswith(" (synthetic)")
    group = group.removesuffix(" (synthetic)")
    if group == ALL:
        name = translate("EvalView", "all queries")
    else:
        query, _, media = group.partition("→")
        query = query.strip().removesuffix(" queries")
        media = media.strip()
        if not media:
            name = translate("EvalView", "{query} queries").format(query=kind_name(query))
        else:
            name = translate("EvalView", "{query} queries → {media}").format(query=kind_name(query), media=target_name(media))
    return translate("EvalView", "{group} (synthetic)").format(group=name) if synthetic else name


def chart_title(key: str) -> str:
    group, _, what = key.rpartition(": ")
    if not group:
        return translate("EvalView", "search latency") if key == "search latency" else key
    what = {"metrics": translate("EvalView", "metrics"), "precision-recall": translate("EvalView", "precision-recall")}.get(what, what)
    return f"{group_name(group)}: {what}"


@dataclass
class EvalOutcome:
    """The report data (``result_to_json``) and its charts as PNG bytes, by title."""

    data: dict
    charts: dict[str, bytes] = field(default_factory=dict)
    # per group of the model selection: "pareto" and "load" PNG bytes
    selection_charts: dict[str, dict[str, bytes]] = field(default_factory=dict)


def _run_evaluation(options: Any, constraints: Any = None):  # -> callable for CallWorker
    def run(library, report, cancel) -> EvalOutcome:  # noqa: ANN001
        from mediasearch.evaluation.selection import build_selection
        from mediasearch.evaluation import report as rep
        from mediasearch.evaluation.metrics import RECALL_LEVELS
        from mediasearch.evaluation.runner import evaluate
        from ui import charts as ch

        result = evaluate(library, options, progress=report, cancel=cancel)
        data = rep.result_to_json(result)
        charts: dict[str, bytes] = {}
        quality = [mt for mt in data["metrics"] if not mt.startswith("judged@")]
        for group, g in data["groups"].items():
            if g["table"]:
                charts[f"{group}: metrics"] = ch.metric_bars(g["table"], quality, group_name(group))
                charts[f"{group}: precision-recall"] = ch.pr_curves(g["pr_curve"], list(RECALL_LEVELS), group_name(group))
        if any(data["latency"].values()):
            charts["search latency"] = ch.latency(data["latency"])
        data["selection"] = build_selection(library, data, constraints)
        return EvalOutcome(data, charts, selection_charts(data["selection"]))

    return run


def selection_charts(selection: dict) -> dict[str, dict[str, bytes]]:
    """The Pareto plot and the latency-under-load curve of every model-selection group (PNG bytes)."""
    from ui import charts as ch

    out: dict[str, dict[str, bytes]] = {}
    for group, g in selection["groups"].items():
        points = {enc: (r.get("MAP"), r.get("items_per_s")) for enc, r in g["rows"].items()}
        out[group] = {"pareto": ch.pareto(points, g["pareto"], translate("EvalView", "{group}: quality vs indexing speed").format(
            group=group_name(group)))}
        rows = [{**row, "encoder": enc} for enc, r in g["rows"].items() for row in r.get("load") or []]
        if rows:
            out[group]["load"] = ch.load_curve(rows, translate("EvalView", "{group}: latency under load").format(group=group_name(group)))
    return out


def _bytes(n: Any) -> Cell:
    if n is None:
        return Cell("—", sort=-1.0, align_right=True)
    value, unit = float(n), "B"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            break
        value /= 1000.0
    return Cell(f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}", sort=float(n), align_right=True)


def _export(data: dict, path: Path, kind: str):  # -> callable for CallWorker
    def run(_library, _report, _cancel) -> Path:  # noqa: ANN001
        from mediasearch.evaluation import report as rep

        {"html": rep.write_html, "csv": rep.write_csv, "json": rep.write_json}[kind](data, path)
        return path

    return run


def _num(value: Any, digits: int = 3) -> Cell:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell("—", sort=-1.0, align_right=True)
    return Cell(f"{value:.{digits}f}", sort=float(value), align_right=True)


class EvalView(QWidget):
    """Saved queries, run, results, export."""

    evaluation_finished = Signal(object)  # EvalOutcome
    evaluation_failed = Signal(object)
    exported = Signal(object)  # Path

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.worker: CallWorker | None = None
        self.outcome: EvalOutcome | None = None
        self._build()
        ctx.queries_changed.connect(self.refresh_queries)
        ctx.library_opened.connect(self._library_switched)
        self.refresh_queries()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        self.title = header(self.tr("Evaluation"), "…")
        self.subtitle = self.title.findChild(QLabel, "pageSubtitle")
        outer.addWidget(self.title)

        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        top = QWidget()
        tl = QHBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)

        qbox = QGroupBox(self.tr("Saved queries"))
        ql = QVBoxLayout(qbox)
        self.queries = TableView(stretch_column=2)
        self.queries.setObjectName("savedQueriesTable")
        self.queries.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        ql.addWidget(self.queries)
        row = QHBoxLayout()
        self.remove_button = QPushButton(icon("remove"), self.tr("Remove"))
        self.remove_button.setToolTip(self.tr("Delete the selected saved queries and their judgements"))
        self.remove_button.clicked.connect(self._remove_selected)
        row.addWidget(self.remove_button)
        row.addWidget(hint(self.tr("Queries are saved when you first grade a result on the Search page.")), 1)
        ql.addLayout(row)
        tl.addWidget(qbox, 3)

        rbox = QGroupBox(self.tr("Run"))
        rl = QGridLayout(rbox)
        rl.addWidget(QLabel(self.tr("Cut-offs k")), 0, 0)
        self.ks = QLineEdit(self.ctx.prefs.get("eval/ks", "1,5,10"))
        self.ks.setToolTip(self.tr("Comma-separated cut-offs for P@k, R@k, NDCG@k"))
        rl.addWidget(self.ks, 0, 1)
        rl.addWidget(QLabel(self.tr("Search depth")), 1, 0)
        self.depth = QSpinBox()
        self.depth.setRange(1, 10_000)
        self.depth.setValue(int(self.ctx.prefs.get("eval/depth", 100, int)))
        self.depth.setToolTip(self.tr("Results fetched per search: AP, R-precision and recall see this many"))
        rl.addWidget(self.depth, 1, 1)
        rl.addWidget(QLabel(self.tr("Latency timing")), 2, 0)
        self.latency_s = QDoubleSpinBox()
        self.latency_s.setRange(0.0, 60.0)
        self.latency_s.setSingleStep(0.5)
        self.latency_s.setSuffix(" s")
        self.latency_s.setValue(float(self.ctx.prefs.get("eval/latency_s", 1.0, float)))
        self.latency_s.setToolTip(self.tr("Seconds of repeated searches per encoder for the latency figures (more: steadier)"))
        rl.addWidget(self.latency_s, 2, 1)
        buttons = QHBoxLayout()
        self.run_button = QPushButton(icon("evaluate"), self.tr("Run evaluation"))
        self.run_button.setObjectName("runEvalButton")
        self.run_button.setToolTip(self.tr("Search every saved query with every applicable encoder and score them (Ctrl+R)"))
        self.run_button.clicked.connect(self.run_evaluation)
        self.cancel_button = QPushButton(icon("stop"), self.tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        rl.addLayout(buttons, 3, 0, 1, 2)
        self.progress = QProgressBar()
        self.progress.setFormat(self.tr("idle"))
        self.progress.setValue(0)
        rl.addWidget(self.progress, 4, 0, 1, 2)
        self.progress_label = hint("")
        rl.addWidget(self.progress_label, 5, 0, 1, 2)
        export = QHBoxLayout()
        self.export_buttons = {}
        for kind, label in (("html", self.tr("HTML report…")), ("csv", "CSV…"), ("json", "JSON…")):
            b = QPushButton(icon("export"), label)
            b.setToolTip(self.tr("Export the evaluation as {format}").format(format=kind.upper()))
            b.setEnabled(False)
            b.clicked.connect(lambda _=False, k=kind: self.export_dialog(k))
            export.addWidget(b)
            self.export_buttons[kind] = b
        rl.addLayout(export, 6, 0, 1, 2)
        rl.setRowStretch(7, 1)
        tl.addWidget(rbox, 2)
        split.addWidget(top)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        comp = QWidget()
        cl = QVBoxLayout(comp)
        grow = QHBoxLayout()
        grow.addWidget(QLabel(self.tr("Queries")))
        self.group_box = QComboBox()
        self.group_box.setObjectName("groupCombo")
        self.group_box.setToolTip(self.tr(
            "Encoders are compared per media type (the queries' type, and what the encoder searches), "
            "only over the queries every one of them answered"))
        self.group_box.currentIndexChanged.connect(self._show_group)
        grow.addWidget(self.group_box, 1)
        cl.addLayout(grow)
        self.winner = QLabel("")
        self.winner.setObjectName("winnerLabel")
        self.winner.setTextFormat(Qt.TextFormat.RichText)
        cl.addWidget(self.winner)
        self.group_info = hint("")
        self.group_info.setObjectName("groupInfoLabel")
        self.group_info.setWordWrap(True)
        cl.addWidget(self.group_info)
        csplit = QSplitter(Qt.Orientation.Vertical)
        csplit.setChildrenCollapsible(False)
        self.comparison = TableView()
        self.comparison.setObjectName("comparisonTable")
        csplit.addWidget(self.comparison)
        self.group_chart = ScaledPixmap()
        csplit.addWidget(self.group_chart)
        csplit.setStretchFactor(0, 1)
        csplit.setStretchFactor(1, 2)
        csplit.setSizes([160, 320])
        cl.addWidget(csplit, 1)
        self.best_label = hint(BEST_MARK + self.tr("best in column. Unjudged results count as not relevant (see judged@k)."))
        cl.addWidget(self.best_label)
        self.tabs.addTab(comp, icon("evaluate"), self.tr("Comparison"))

        self.speed = TableView()
        self.speed.setObjectName("speedTable")
        self.tabs.addTab(self.speed, icon("index"), self.tr("Speed"))

        self.charts_area = QScrollArea()
        self.charts_area.setWidgetResizable(True)
        self.charts_holder = QWidget()
        self.charts_layout = QGridLayout(self.charts_holder)
        self.charts_area.setWidget(self.charts_holder)
        self.tabs.addTab(self.charts_area, icon("evaluate"), self.tr("Charts"))

        self.tabs.addTab(self._build_selection_tab(), icon("evaluate"), self.tr("Model selection"))

        self.misses = QTreeWidget()
        self.misses.setObjectName("missesTree")
        self.misses.setHeaderLabels([self.tr("Query / encoder / missed file"), self.tr("Grade"), self.tr("Rank")])
        self.misses.setAlternatingRowColors(True)
        self.tabs.addTab(self.misses, icon("cross"), self.tr("Per-query misses"))

        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        notes_area = QScrollArea()
        notes_area.setWidgetResizable(True)
        notes_area.setWidget(self.notes)
        self.tabs.addTab(notes_area, icon("info"), self.tr("Notes"))
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 5)
        self.splitter = split
        outer.addWidget(split, 1)

    def _build_selection_tab(self) -> QWidget:
        """Constraint fields, the per-media-type table, the recommendation, the Pareto plot
        and the latency-under-load curve (mediasearch/evaluation/selection.py)."""
        tab = QWidget()
        layout = QVBoxLayout(tab)
        fields = QHBoxLayout()
        no_limit = self.tr("no limit")

        def spin(key: str, suffix: str, high: float, step: float, decimals: int, tip: str) -> QDoubleSpinBox:
            box = QDoubleSpinBox()
            box.setRange(0.0, high)
            box.setDecimals(decimals)
            box.setSingleStep(step)
            box.setSuffix(suffix)
            box.setSpecialValueText(no_limit)
            box.setValue(float(self.ctx.prefs.get(f"eval/{key}", 0.0, float)))
            box.setToolTip(tip)
            box.setObjectName(key)
            box.valueChanged.connect(self._constraints_changed)
            return box

        self.max_index_hours = spin("max_index_hours", " h", 1e6, 0.5, 2,
                                    self.tr("Rule out encoders that would take longer to index this library's files (0: no limit)"))
        self.max_latency_ms = spin("max_latency_ms", " ms", 1e7, 10.0, 0,
                                   self.tr("Rule out encoders whose p95 search latency under load is higher (0: no limit)"))
        self.max_memory_gb = spin("max_memory_gb", " GB", 1e5, 0.5, 2,
                                  self.tr("Rule out encoders whose peak memory, indexing or under load, is higher (0: no limit)"))
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("concurrency")
        self.concurrency.setRange(1, 4096)
        self.concurrency.setValue(int(self.ctx.prefs.get("eval/concurrency", 4, int)))
        self.concurrency.setToolTip(self.tr("Latency is read at the highest measured number of concurrent searches up to this"))
        self.concurrency.valueChanged.connect(self._constraints_changed)
        for label, box in ((self.tr("Max index time"), self.max_index_hours), (self.tr("Max p95 latency"), self.max_latency_ms),
                           (self.tr("Max memory"), self.max_memory_gb), (self.tr("Concurrent searches"), self.concurrency)):
            fields.addWidget(QLabel(label))
            fields.addWidget(box)
        fields.addStretch(1)
        layout.addLayout(fields)
        grow = QHBoxLayout()
        grow.addWidget(QLabel(self.tr("Media type")))
        self.selection_group = QComboBox()
        self.selection_group.setObjectName("selectionGroupCombo")
        self.selection_group.currentIndexChanged.connect(self._show_selection_group)
        grow.addWidget(self.selection_group, 1)
        layout.addLayout(grow)
        self.recommendation = QLabel("")
        self.recommendation.setObjectName("recommendationLabel")
        self.recommendation.setTextFormat(Qt.TextFormat.RichText)
        self.recommendation.setWordWrap(True)
        self.recommendation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.recommendation)
        ssplit = QSplitter(Qt.Orientation.Vertical)
        ssplit.setChildrenCollapsible(False)
        self.selection_table = TableView()
        self.selection_table.setObjectName("selectionTable")
        ssplit.addWidget(self.selection_table)
        plots = QWidget()
        pl = QHBoxLayout(plots)
        pl.setContentsMargins(0, 0, 0, 0)
        self.pareto_chart = ScaledPixmap()
        self.pareto_chart.setObjectName("paretoChart")
        self.load_chart = ScaledPixmap()
        self.load_chart.setObjectName("loadChart")
        self.load_missing = hint("")
        self.load_missing.setObjectName("loadMissingLabel")
        self.load_missing.setWordWrap(True)
        pl.addWidget(self.pareto_chart, 1)
        pl.addWidget(self.load_chart, 1)
        pl.addWidget(self.load_missing)
        ssplit.addWidget(plots)
        ssplit.setSizes([170, 300])
        layout.addWidget(ssplit, 1)
        layout.addWidget(hint(self.tr("◆ on the Pareto front (no other encoder has both a higher MAP and faster indexing). "
                                      "A limit whose figure was not measured rules nothing out.")))
        return tab

    def constraints(self):  # -> mediasearch.evaluation.selection.Constraints
        from mediasearch.evaluation.selection import Constraints

        def limit(box: QDoubleSpinBox) -> float | None:
            return box.value() or None

        return Constraints(max_index_hours=limit(self.max_index_hours), max_latency_ms=limit(self.max_latency_ms),
                           max_memory_gb=limit(self.max_memory_gb), concurrency=self.concurrency.value())

    def _constraints_changed(self, *_: object) -> None:
        for box in (self.max_index_hours, self.max_latency_ms, self.max_memory_gb):
            self.ctx.prefs.set(f"eval/{box.objectName()}", box.value())
        self.ctx.prefs.set("eval/concurrency", self.concurrency.value())
        if self.outcome is None or not self.outcome.data.get("selection"):
            return
        from mediasearch.evaluation.selection import apply_constraints

        # the report exported next carries the constraints shown
        self.outcome.data["selection"] = apply_constraints(self.outcome.data["selection"], self.constraints())
        self._show_selection_group()

    def _show_selection(self) -> None:
        sel = (self.outcome.data if self.outcome else {}).get("selection") or {"groups": {}}
        current = self.selection_group.currentData()
        self.selection_group.blockSignals(True)
        self.selection_group.clear()
        for group, g in sel["groups"].items():
            self.selection_group.addItem(self.tr("{group} ({n} queries)").format(group=group_name(group), n=g["queries"]), group)
        if current is not None and self.selection_group.findData(current) >= 0:
            self.selection_group.setCurrentIndex(self.selection_group.findData(current))
        self.selection_group.blockSignals(False)
        self._show_selection_group()

    def _violation_text(self, v: dict) -> str:
        c = v["constraint"]
        if c == "max_index_hours":
            return self.tr("indexing takes {value} h (limit {limit} h)").format(value=f"{v['value']:.2f}", limit=f"{v['limit']:g}")
        if c == "max_latency_ms":
            return self.tr("p95 {value} ms with {n} concurrent searches (limit {limit} ms)").format(
                value=f"{v['value']:.1f}", n=v.get("concurrency"), limit=f"{v['limit']:g}")
        return self.tr("peak memory {value} GB (limit {limit} GB)").format(value=f"{v['value']:.2f}", limit=f"{v['limit']:g}")

    def _unmeasured_text(self, constraint: str) -> str:
        return {
            "max_index_hours": self.tr("indexing speed not measured"),
            "max_latency_ms": self.tr("latency under load not measured (run mediasearch loadtest)"),
            "max_memory_gb": self.tr("peak memory not measured"),
        }[constraint]

    def recommendation_html(self, group: str) -> str:
        """The recommendation of ``group`` in the interface language (rich text)."""
        sel = self.outcome.data["selection"]
        g = sel["groups"][group]
        rec, rows = g["recommendation"], g["rows"]
        lines = []
        if rec.get("pick"):
            q = rows[rec["pick"]].get("MAP")
            lines.append(self.tr("Recommended for {group}: <b>{encoder}</b> (MAP {map})").format(
                group=group_name(group), encoder=rec["pick"], map="—" if q is None else f"{q:.3f}"))
            others = [e for e in rec["fits"] if e != rec["pick"]]
            if others:
                lines.append(self.tr("Also within the limits: {encoders}").format(encoders=", ".join(others)))
        elif rec.get("closest"):
            closest = rec["closest"]
            lines.append(self.tr("No encoder fits every limit. Closest: <b>{encoder}</b> ({reasons}); relax that limit.").format(
                encoder=closest["encoder"], reasons="; ".join(self._violation_text(v) for v in closest["breaks"])))
        for enc, violations in rec.get("ruled_out", {}).items():
            lines.append(self.tr("{encoder} ruled out: {reasons}").format(
                encoder=enc, reasons="; ".join(self._violation_text(v) for v in violations)))
        for enc, unknown in rec.get("unmeasured", {}).items():
            lines.append(self.tr("{encoder}: {what}").format(encoder=enc, what="; ".join(self._unmeasured_text(c) for c in unknown)))
        pub = g.get("published") or {}
        if not pub.get("comparable"):
            lines.append(self.tr("Published figures: fewer than two encoders here were measured on the same benchmark."))
        for metric, m in (pub.get("metrics") or {}).items():
            if not m["differs"]:
                lines.append(self.tr("Published figures ({metric}) rank them as this library does.").format(metric=metric))
            for r in m["reversed"]:
                lines.append(self.tr("⚠ Published figures ({metric}) rank {a} above {b}, but on this library {b} has the "
                                     "higher MAP ({mb} vs {ma}{sig}).").format(
                    metric=metric, a=r["published_better"], b=r["better_here"], mb=f"{r['map'][1]:.3f}", ma=f"{r['map'][0]:.3f}",
                    sig=self.tr(", significant") if r["significant"] else self.tr(", not significant")))
        if not sel["loadtest"].get("measured"):
            lines.append(self.tr("Latency under load: not measured — run <code>mediasearch loadtest</code>."))
        return "<br>".join(lines)

    def _show_selection_group(self, *_: object) -> None:
        from mediasearch.evaluation.selection import p95_under_load

        group = self.selection_group.currentData()
        sel = (self.outcome.data if self.outcome else {}).get("selection")
        if not sel or group not in sel["groups"]:
            self.recommendation.setText("" if self.outcome is None else self.tr("No media type has scored queries yet."))
            self.selection_table.set_table(Table([]))
            self.pareto_chart.clear()
            self.load_chart.clear()
            self.load_missing.setText("")
            return
        g = sel["groups"][group]
        concurrency = self.concurrency.value()
        pick = g["recommendation"].get("pick")
        rows = []
        for enc, r in g["rows"].items():
            p95 = p95_under_load(r.get("load") or [], concurrency)
            ci = r.get("MAP_interval")
            map_cell = _num(r.get("MAP"))
            if ci and ci[0] is not None:
                map_cell = Cell(f"{map_cell.text} [{ci[0]:.3f}–{ci[1]:.3f}]", sort=map_cell.sort, align_right=True,
                                tooltip=self.tr("95% bootstrap interval over the queries"))
            mem = r.get("peak_memory_mb")
            ruled = g["recommendation"]["ruled_out"].get(enc)
            rows.append([
                Cell(("◆ " if enc in g["pareto"] else "") + enc, bold=enc == pick,
                     tooltip="; ".join(self._violation_text(v) for v in ruled) if ruled else ""),
                map_cell,
                _num(r.get("NDCG")),
                _num(r.get("items_per_s"), 2),
                Cell("—", sort=-1.0, align_right=True) if r.get("index_hours") is None else
                Cell("< 0.01" if r["index_hours"] < 0.005 else f"{r['index_hours']:.2f}", sort=r["index_hours"], align_right=True),
                Cell(self.tr("not measured"), sort=-1.0) if p95 is None else
                Cell(f"{p95['p95_ms']:.1f}", sort=p95["p95_ms"], align_right=True,
                     tooltip=self.tr("{n} concurrent searches, {mode}").format(n=p95["concurrency"], mode=p95["mode"])),
                _num(None if mem is None else mem / 1024.0, 2),
                _bytes(r.get("index_bytes")),
                _bytes(r.get("weights_bytes")),
                Cell(core_text(r.get("licence") or "") or "—"),
                Cell(self.tr("self-hosted") if r.get("hosting") == "self-hosted" else self.tr("API")),
                Cell(core_text(r.get("benchmark") or "") or "—", tooltip=core_text(r.get("benchmark") or "")),
            ])
        headers = [self.tr("Encoder"), "MAP", sel.get("ndcg_metric", "NDCG@10"), self.tr("files/s"), self.tr("hours to index"),
                   self.tr("p95 ms under load"), self.tr("peak memory GB"), self.tr("index size"), self.tr("weights"),
                   self.tr("Licence"), self.tr("Hosting"), self.tr("Published figure")]
        tips = ["", self.tr("mean average precision over the group's queries"), "", self.tr("files indexed per second on this machine"),
                self.tr("hours to index the files of this library it covers"), "", self.tr("indexing or under load, the higher"),
                self.tr("vectors and search graph on disk"), self.tr("model files"), "", "", self.tr("as published, with its source")]
        self.selection_table.set_table(Table(headers, rows, tips))
        self.recommendation.setText(self.recommendation_html(group))
        charts = self.outcome.selection_charts.get(group, {})
        for label, key in ((self.pareto_chart, "pareto"), (self.load_chart, "load")):
            pixmap = QPixmap()
            if charts.get(key) and pixmap.loadFromData(charts[key], "PNG"):
                label.set_pixmap(pixmap)
                label.show()
            else:
                label.clear()
                label.setVisible(key == "pareto")
        self.load_missing.setText("" if charts.get("load") else
                                  self.tr("Latency under load: not measured — run mediasearch loadtest, then evaluate again."))
        self.load_missing.setVisible(not charts.get("load"))

    # -- saved queries -------------------------------------------------------------------
    def refresh_queries(self) -> None:
        from mediasearch.evaluation.groundtruth import asset_qrels, list_queries
        from mediasearch.evaluation.metrics import num_relevant

        try:
            catalog = self.ctx.library.catalog
            queries = list_queries(catalog, self.ctx.settings)
            rows = []
            judged_total = 0
            for q in queries:
                qrels = asset_qrels(catalog, q.id)
                judged_total += len(qrels)
                relevant = num_relevant(qrels, min_grade=1)
                rows.append(
                    [
                        Cell(q.name, tooltip=f"id {q.id}"),
                        Cell(kind_name(q.modality.value)),
                        Cell(describe_saved(q), tooltip=str(q.file) if q.file else (q.text or "")),
                        Cell(str(len(qrels)), sort=len(qrels), align_right=True),
                        Cell(str(relevant), sort=relevant, align_right=True,
                             tooltip="" if relevant or not qrels else self.tr("no relevant file judged yet: this query scores 0")),
                    ]
                )
        except MediaSearchError as exc:
            self.ctx.error(exc)
            return
        self.queries.set_table(Table([self.tr("Name"), self.tr("Type"), self.tr("Query"), self.tr("Judged"), self.tr("Relevant")], rows))
        self.queries.setProperty("query_names", [q.name for q in queries])
        self.subtitle.setText(self.tr("{queries} saved queries · {judged} judged files").format(queries=len(queries), judged=judged_total))
        self.remove_button.setEnabled(bool(queries))

    def _remove_selected(self) -> None:
        from mediasearch.evaluation.groundtruth import remove_query

        rows = sorted({i.row() for i in self.queries.selectionModel().selectedRows()})
        names = [self.queries.cell_text(r, 0) for r in rows]
        if not names:
            self.ctx.say(self.tr("Select saved queries to remove first"))
            return
        answer = QMessageBox.question(self, self.tr("Remove saved queries"),
                                      self.tr("Delete {names} and their judgements?").format(names=", ".join(names)))
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            for name in names:
                remove_query(self.ctx.library.catalog, self.ctx.settings, name)
        except MediaSearchError as exc:
            self.ctx.error(exc)
        self.ctx.queries_changed.emit()

    def _library_switched(self) -> None:
        self.outcome = None
        self.comparison.set_table(Table([]))
        self.group_chart.clear()
        self.winner.setText("")
        self.group_info.setText("")
        self.speed.set_table(Table([]))
        self.misses.clear()
        self.group_box.clear()
        self.selection_group.clear()
        self._show_selection_group()
        for b in self.export_buttons.values():
            b.setEnabled(False)
        self.refresh_queries()

    # -- running ---------------------------------------------------------------------------
    def options(self):  # -> EvalOptions
        from mediasearch.evaluation.runner import EvalOptions

        try:
            ks = tuple(sorted({int(x) for x in self.ks.text().replace(" ", "").split(",") if x}))
        except ValueError:
            raise QueryError(self.tr("cut-offs must be whole numbers separated by commas, got {text}").format(text=repr(self.ks.text()))) from None
        if not ks:
            raise QueryError(self.tr("give at least one cut-off k"))
        return EvalOptions(
            ks=ks,
            depth=max(self.depth.value(), max(ks)),
            latency_min_s=self.latency_s.value(),
            latency_min_repeats=1 if self.latency_s.value() == 0 else 3,
            latency_max_repeats=20,
            significance_resamples=2000,
        )

    def run_evaluation(self) -> CallWorker | None:
        if self.worker is not None:
            return self.worker
        try:
            options = self.options()
        except MediaSearchError as exc:
            self.ctx.error(exc)
            return None
        self.ctx.prefs.set("eval/ks", self.ks.text())
        self.ctx.prefs.set("eval/depth", self.depth.value())
        self.ctx.prefs.set("eval/latency_s", self.latency_s.value())
        self.worker = CallWorker(self.ctx.settings, _run_evaluation(options, self.constraints()), title=self.tr("Evaluating"))
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat(self.tr("starting…"))
        self.progress_label.setText(self.tr("Loading encoders…"))
        self.ctx.start(self.worker)
        return self.worker

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)

    def _on_progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
            self.progress.setFormat(self.tr("{done} / {total} queries").format(done=p.done, total=p.total))
        self.progress_label.setText(p.current)

    def _idle(self) -> None:
        self.worker = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    def _on_finished(self, outcome: EvalOutcome) -> None:
        self._idle()
        self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(self.tr("done"))
        self.progress_label.setText(self.tr("Evaluated in {seconds} s").format(seconds=f"{outcome.data.get('wall_s', 0):.1f}"))
        self.show_outcome(outcome)
        self.evaluation_finished.emit(outcome)

    def _on_failed(self, exc: BaseException) -> None:
        self._idle()
        self.progress.setFormat(self.tr("cancelled") if type(exc).__name__ == "CancelledError" else self.tr("failed"))
        self.progress_label.setText(str(exc))
        self.evaluation_failed.emit(exc)
        self.ctx.error(exc)

    # -- showing ------------------------------------------------------------------------------
    def show_outcome(self, outcome: EvalOutcome) -> None:
        self.outcome = outcome
        data = outcome.data
        self.group_box.blockSignals(True)
        self.group_box.clear()
        for group, g in data["groups"].items():
            self.group_box.addItem(self.tr("{group} ({n} queries)").format(group=group_name(group), n=len(g["queries"])), group)
        self.group_box.blockSignals(False)
        if not data["groups"]:
            self.comparison.set_table(Table([self.tr("Encoder")], []))
            self.group_info.setText("")
            self.best_label.setText(self.tr("No saved query has a judgement yet: grade some results first."))
        else:
            self.best_label.setText(BEST_MARK + self.tr("best in column. Unjudged results count as not relevant (see judged@k)."))
            self.group_box.setCurrentIndex(0)
            self._show_group()
        self._show_speed(data)
        self._show_charts(outcome.charts)
        self._show_misses(data)
        self._show_selection()
        notes = "".join(f"<li>{n}</li>" for n in data.get("notes", []))
        fails = "".join(f"<li><b>{enc}</b>: {why}</li>" for enc, why in data.get("failures", {}).items())
        machine = ", ".join(f"{k}: {v}" for k, v in data.get("machine", {}).items())
        how, left_out, machine_title = self.tr("How to read this"), self.tr("Left out"), self.tr("Machine")
        significance = self.tr("Significance: {test}").format(test=data["options"].get("significance", ""))
        self.notes.setText(
            f"<h3>{how}</h3><ul>{notes}</ul>"
            + (f"<h3>{left_out}</h3><ul>{fails}</ul>" if fails else "")
            + f"<h3>{machine_title}</h3><p>{machine}</p><p>{significance}</p>"
        )
        for b in self.export_buttons.values():
            b.setEnabled(True)

    def _show_group(self, *_: object) -> None:
        if self.outcome is None or self.group_box.currentIndex() < 0:
            return
        group = self.group_box.currentData()
        g = self.outcome.data["groups"][group]
        metrics = self.outcome.data["metrics"]
        best = g.get("best", {})
        thresholds = g.get("thresholds") or {}
        rows = []
        for encoder, means in g["table"].items():
            row = [Cell(encoder, bold=any(encoder in best.get(mt, []) for mt in ("MAP", "NDCG@10")))]
            for mt in metrics:
                c = _num(means.get(mt))
                if encoder in best.get(mt, []):
                    c = Cell(BEST_MARK + c.text, sort=c.sort, bold=True, align_right=True,
                             tooltip=self.tr("best {metric} in this group").format(metric=mt))
                row.append(c)
            cut = thresholds.get(encoder) or {}
            row.append(_num(cut.get("threshold")))
            rows.append(row)
        top = best.get("MAP", [])
        if top and len(g.get("encoders", [])) < 2:
            self.winner.setText(self.tr("Only <b>{encoder}</b> answered {group}: MAP {value} over {n} queries").format(
                encoder=top[0], group=group_name(group), value=f"{g['table'][top[0]].get('MAP'):.3f}", n=len(g["queries"])))
        elif top:
            value = g["table"][top[0]].get("MAP")
            who = self.tr(" and ").join(top)
            tie = self.tr(" (tied)") if len(top) > 1 else ""
            self.winner.setText(self.tr("Best on {group}: <b>{who}</b>{tie} — MAP {value} over {n} queries").format(
                group=group_name(group), who=who, tie=tie, value=f"{value:.3f}", n=len(g["queries"])))
        else:
            self.winner.setText("")
        info = self.tr("Encoders: {encoders}. Ranked over {n} queries that every one of them answered.").format(
            encoders=", ".join(g.get("encoders", [])), n=len(g["queries"]))
        if g.get("unshared_queries"):
            info += " " + self.tr("Left out (not answered by every encoder): {queries}.").format(
                queries=", ".join(g["unshared_queries"]))
        self.group_info.setText(info)
        png = self.outcome.charts.get(f"{group}: metrics")
        pixmap = QPixmap()
        if png and pixmap.loadFromData(png, "PNG"):
            self.group_chart.set_pixmap(pixmap)
        else:
            self.group_chart.clear()
        tips = [self.tr("The encoder")] + [
            self.tr("judged@k: share of the top k that was judged") if mt.startswith("judged@")
            else self.tr("mean {metric} over the group's queries").format(metric=mt)
            for mt in metrics
        ] + [self.tr("the score that best separates relevant from not relevant results (max F1 over judged results)")]
        self.comparison.set_table(Table([self.tr("Encoder"), *metrics, self.tr("Threshold")], rows, tips))

    def _show_speed(self, data: dict) -> None:
        rows = []
        for encoder in data["encoders"]:
            lat = data["latency"].get(encoder) or {}
            thr = data["throughput"].get(encoder) or {}
            rows.append(
                [
                    Cell(encoder),
                    _num(lat.get("p50_ms"), 1),
                    _num(lat.get("p95_ms"), 1),
                    _num(lat.get("p99_ms"), 1),
                    _num(lat.get("qps"), 1),
                    Cell(str(lat.get("samples", "")), align_right=True),
                    _num(thr.get("items_per_s"), 2),
                    _num(thr.get("media_s_per_s"), 1),
                ]
            )
        self.speed.set_table(
            Table(
                [self.tr("Encoder"), "p50 ms", "p95 ms", "p99 ms", self.tr("searches/s"), self.tr("timed"),
                 self.tr("indexing files/s"), self.tr("media s/s")],
                rows,
                ["", self.tr("median search latency"), self.tr("95th percentile"), self.tr("99th percentile"),
                 self.tr("sequential searches per second"), self.tr("timed searches"), self.tr("files indexed per second (all runs)"),
                 self.tr("seconds of audio/video indexed per second")],
            )
        )

    def _show_charts(self, charts: dict[str, bytes]) -> None:
        while self.charts_layout.count():
            w = self.charts_layout.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        for i, (title, png) in enumerate(charts.items()):
            box = QGroupBox(chart_title(title))
            bl = QVBoxLayout(box)
            label = ScaledPixmap()
            pixmap = QPixmap()
            pixmap.loadFromData(png, "PNG")
            label.set_pixmap(pixmap)
            label.setMinimumSize(360, 220)
            bl.addWidget(label)
            self.charts_layout.addWidget(box, i // 2, i % 2)
        if not charts:
            self.charts_layout.addWidget(hint(self.tr("No charts: nothing could be scored yet.")), 0, 0)

    def _show_misses(self, data: dict) -> None:
        self.misses.clear()
        for q in data["queries"]:
            if not q.get("evaluable"):
                continue
            top = QTreeWidgetItem([f"{q['name']} — {q['description']}", "", ""])
            total = 0
            for encoder, missed in q.get("misses", {}).items():
                text = self.tr("{encoder}: {n} relevant files not in the top {k}").format(
                    encoder=encoder, n=len(missed), k=max(data["options"]["ks"]))
                enc_item = QTreeWidgetItem([text, "", ""])
                for miss in missed:
                    rank = miss.get("rank")
                    child = QTreeWidgetItem([Path(miss.get("path") or "?").name, str(miss.get("grade")),
                                             str(rank) if rank else self.tr("beyond depth")])
                    child.setToolTip(0, miss.get("path") or "")
                    enc_item.addChild(child)
                total += len(missed)
                top.addChild(enc_item)
            top.setText(1, "")
            top.setText(2, self.tr("{n} misses").format(n=total))
            self.misses.addTopLevelItem(top)
            top.setExpanded(total > 0)
        self.misses.resizeColumnToContents(1)
        self.misses.setColumnWidth(0, max(self.misses.columnWidth(0), 420))

    # -- export --------------------------------------------------------------------------------
    def export_dialog(self, kind: str) -> None:
        if self.outcome is None:
            return
        suffix = {"html": "HTML (*.html)", "csv": "CSV (*.csv)", "json": "JSON (*.json)"}[kind]
        start = str(Path(self.ctx.prefs.get("eval/export_dir", str(Path.home()))) / f"mediasearch-report.{kind}")
        name, _ = QFileDialog.getSaveFileName(self, self.tr("Export {format}").format(format=kind.upper()), start, suffix)
        if name:
            self.export(Path(name), kind)

    def export(self, path: Path, kind: str) -> CallWorker | None:
        """Write the report as ``kind`` (html, csv or json) to ``path``, in a worker."""
        if self.outcome is None:
            self.ctx.error(self.tr("Run the evaluation first."))
            return None
        self.ctx.prefs.set("eval/export_dir", str(Path(path).parent))
        worker = CallWorker(self.ctx.settings, _export(self.outcome.data, Path(path), kind), title=self.tr("Exporting"), needs_library=False)
        worker.finished.connect(self._exported)
        worker.failed.connect(self.ctx.error)
        self._export_worker = worker
        self.ctx.start(worker)
        return worker

    def _exported(self, path: Path) -> None:
        self.ctx.say(self.tr("Wrote {path}").format(path=path), 8000)
        self.exported.emit(path)
