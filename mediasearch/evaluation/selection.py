"""Model selection: which encoder to use on this library and this machine.

Combines, per media type (the evaluation's comparison groups, see
:func:`mediasearch.evaluation.runner.comparison_groups`), for every encoder:

- quality: MAP and NDCG@k (largest k) over the group's shared queries, with the
  evaluation's bootstrap intervals;
- indexing throughput (files/s, media s/s) and peak resident memory from the catalog's
  indexing runs;
- p95 latency under concurrent load from ``mediasearch loadtest``'s results
  (``<library>/evaluation/loadtest.json``; none → "not measured", never a guess);
- index size on disk (the vector log folder and the ``.ann`` graph), weights size
  (the model store manifest's file sizes), licence and hosting from the registry;
- the published benchmark figure the registry carries, with its source.

From these: the quality–throughput Pareto front, a recommendation under the user's
constraints (:class:`Constraints`) naming which constraint rules out which encoder, and a
flag where the ranking on the user's data differs from the published ranking (only among
encoders whose published figures are on the same benchmark).

:func:`build_selection` gathers the facts from a library; :func:`select` and
:func:`apply_constraints` are pure functions of plain data (what the JSON holds), so the
GUI re-runs the recommendation when a constraint field changes without touching the
library. Everything is JSON-ready.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from mediasearch.errors import MediaSearchError, QueryError

logger = logging.getLogger(__name__)

#: where ``mediasearch loadtest`` writes its results, under the library folder
LOADTEST_FILE = Path("evaluation") / "loadtest.json"
NOT_MEASURED = "not measured: run mediasearch loadtest"
#: what each comparison group's target is called in the load test's ``medium`` field
MEDIUM_OF_TARGET = {"images and video frames": "visual", "sounds": "audio", "transcripts": "speech"}
#: a difference in MAP is called significant below this Holm-adjusted p-value
ALPHA = 0.05
CONSTRAINTS = ("max_index_hours", "max_latency_ms", "max_memory_gb")


@dataclass(frozen=True)
class Constraints:
    """The user's limits; None = no limit.

    ``max_index_hours``: hours to index the library's current files (files the encoder
    covers / its indexing files per second); ``max_latency_ms``: p95 search latency under
    load at the highest measured concurrency not above ``concurrency``;
    ``max_memory_gb``: peak resident memory of indexing and of the load test (GiB).
    """

    max_index_hours: float | None = None
    max_latency_ms: float | None = None
    max_memory_gb: float | None = None
    concurrency: int = 4

    def __post_init__(self) -> None:
        for name in CONSTRAINTS:
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise QueryError(f"{name.replace('_', '-')} must be a positive number, got {value!r}")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise QueryError(f"concurrency must be a whole number of at least 1, got {self.concurrency!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "Constraints":
        data = data or {}
        return cls(**{k: data.get(k) for k in CONSTRAINTS}, concurrency=int(data.get("concurrency") or 4))


# -- reading the load test -----------------------------------------------------------


def read_loadtest(library_dir: Path | str) -> dict | None:
    """The load test's results for ``library_dir`` (the contract's JSON), or None when it
    was never run. Uses :func:`mediasearch.evaluation.loadtest.load_results` where that
    module exists; a file that cannot be read gives ``{"problem": why}`` instead of
    figures (the report says so rather than guessing)."""
    try:
        from mediasearch.evaluation.loadtest import load_results  # type: ignore[attr-defined]
    except ImportError:
        load_results = None
    if load_results is not None:
        try:
            data = load_results(Path(library_dir))
        except FileNotFoundError:
            return None
        except (MediaSearchError, ValueError, OSError) as exc:
            return {"problem": str(exc), "results": [], "indexing": [], "skipped": []}
        if data is None:
            return None
        return _as_dict(data)
    path = Path(library_dir) / LOADTEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"problem": f"cannot read {path}: {exc}", "results": [], "indexing": [], "skipped": []}
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("results"), list):
        return {"problem": f"{path}: not a version 1 load test file", "results": [], "indexing": [], "skipped": []}
    return data


def _as_dict(data: Any) -> dict:
    if isinstance(data, dict):
        return data
    to_json = getattr(data, "to_json", None)
    if callable(to_json):
        return to_json()
    return asdict(data)


def load_curve(loadtest: Mapping | None, encoder: str, medium: str | None = None) -> list[dict]:
    """The load test's rows of ``encoder`` (and ``medium``), by concurrency, as
    {concurrency, mode, target, qps, p50_ms, p95_ms, p99_ms, errors, queries, peak_rss_mb}."""
    if not loadtest:
        return []
    keys = ("concurrency", "mode", "target", "qps", "p50_ms", "p95_ms", "p99_ms", "errors", "queries", "peak_rss_mb")
    rows = [
        {k: r.get(k) for k in keys}
        for r in loadtest.get("results") or []
        if r.get("encoder") == encoder and (medium is None or r.get("medium") in (medium, None))
    ]
    return sorted(rows, key=lambda r: (r["concurrency"] or 0, str(r["mode"]), str(r["target"])))


def p95_under_load(curve: Sequence[Mapping], concurrency: int) -> dict | None:
    """The p95 latency at the highest measured concurrency not above ``concurrency``: the
    slowest of the modes/targets measured there (the figure a user should plan with), as
    {p95_ms, concurrency, mode, target, errors}; None when nothing was measured at or
    below ``concurrency``."""
    usable = [r for r in curve if r.get("p95_ms") is not None and (r.get("concurrency") or 0) <= concurrency]
    if not usable:
        return None
    level = max(r["concurrency"] for r in usable)
    worst = max((r for r in usable if r["concurrency"] == level), key=lambda r: r["p95_ms"])
    return {
        "p95_ms": float(worst["p95_ms"]),
        "concurrency": int(level),
        "mode": worst.get("mode"),
        "target": worst.get("target"),
        "errors": int(sum((r.get("errors") or 0) for r in usable if r["concurrency"] == level)),
    }


# -- facts about each encoder -----------------------------------------------------------


def _dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def index_bytes(library_dir: Path | str, encoder: str) -> int:
    """Bytes on disk of ``encoder``'s index: its vector log folder and its ``.ann`` graph
    (transcript text of speech encoders lives in the catalog and is not counted)."""
    from mediasearch.store.vectorlog import log_folder
    from mediasearch.store.vectors import ann_path

    return _dir_bytes(log_folder(Path(library_dir), encoder)) + _dir_bytes(ann_path(Path(library_dir), encoder))


def weights_bytes(encoder: str, model_dir: Path | str | None = None) -> int | None:
    """Bytes of the model files ``encoder`` needs; 0 for a weight-free encoder. Per file:
    the installed copy's size in ``model_dir``'s model store, else the manifest's size,
    else the largest accepted alternative's; None when the registry, the manifest or
    every source is silent about some file."""
    from mediasearch.encoders.registry import REGISTRY
    from mediasearch.modelstore.manifest import get_entry

    spec = REGISTRY.get(encoder)
    if spec is None:
        return None
    total = 0
    for model in spec.models:
        try:
            entry = get_entry(model)
        except MediaSearchError:
            return None
        for f in entry.files:
            installed = Path(model_dir) / entry.dir / f.path if model_dir is not None else None
            if installed is not None and installed.is_file():
                total += installed.stat().st_size
            elif f.size or f.alternatives:
                total += f.size or max(a.size for a in f.alternatives)
            else:
                return None
    return total


def encoder_facts(library, encoders: Iterable[str], *, loadtest: Mapping | None = None) -> dict[str, dict]:  # noqa: ANN001
    """Per encoder, what does not depend on the queries: registry data (licence, hosting,
    published figure), files to index, indexing throughput and peak memory (the catalog's
    runs; the load test's ``indexing`` entries where the catalog has none), index and
    weights size in bytes (None where unknown: vectors in a Milvus store, an API encoder's
    weights)."""
    from mediasearch.encoders.registry import REGISTRY
    from mediasearch.evaluation.runner import index_throughput

    encoders = list(dict.fromkeys(encoders))
    throughput = index_throughput(library, encoders)
    try:  # vectors kept in Milvus are not in the library folder: their size is not known here
        local_store = not getattr(library, "uses_milvus", False)
    except MediaSearchError:
        local_store = False
    from_load = {r.get("encoder"): r for r in (loadtest or {}).get("indexing") or []}
    out: dict[str, dict] = {}
    for enc in encoders:
        spec = REGISTRY.get(enc)
        runs = library.catalog.runs(enc)
        peaks = [r["peak_rss_mb"] for r in runs if "peak_rss_mb" in r.keys() and r["peak_rss_mb"] is not None]
        t = throughput.get(enc) or {}
        items_per_s = t.get("items_per_s")
        media_per_s = t.get("media_s_per_s")
        source = "indexing runs" if t else None
        if not t and enc in from_load:
            items_per_s = from_load[enc].get("items_per_s")
            media_per_s = from_load[enc].get("media_s_per_s")
            if from_load[enc].get("peak_rss_mb") is not None:
                peaks.append(from_load[enc]["peak_rss_mb"])
            source = "load test"
        try:
            to_index = library.coverage(enc)["eligible"]
        except MediaSearchError:
            to_index = None
        out[enc] = {
            "licence": spec.licence if spec else "",
            "hosting": spec.hosting if spec else "self-hosted",
            "benchmark": spec.benchmark if spec else "",
            "benchmark_metric": spec.benchmark_metric if spec else "",
            "benchmark_value": spec.benchmark_value if spec else None,
            "benchmark_higher_is_better": spec.benchmark_higher_is_better if spec else True,
            "items_to_index": to_index,
            "items_per_s": items_per_s,
            "media_s_per_s": media_per_s,
            "throughput_source": source,
            "index_peak_rss_mb": max(peaks) if peaks else None,
            "index_bytes": index_bytes(library.settings.library_dir, enc) if local_store else None,
            # an API encoder keeps no weights here
            "weights_bytes": None if spec is not None and spec.hosting == "api" else weights_bytes(enc, library.settings.model_dir),
        }
    return out


# -- the pure part ------------------------------------------------------------------------


def pareto_front(points: Mapping[str, tuple[float | None, float | None]]) -> list[str]:
    """Encoders not dominated on (quality, throughput), both higher-is-better: no other
    encoder is at least as good on both and better on one. Encoders with a missing or
    NaN coordinate are not placed. Returned by throughput ascending (the front's order
    along the plot)."""
    valid = {
        e: (float(q), float(t))
        for e, (q, t) in points.items()
        if q is not None and t is not None and math.isfinite(q) and math.isfinite(t)
    }

    def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return a[0] >= b[0] and a[1] >= b[1] and (a[0] > b[0] or a[1] > b[1])

    front = [e for e, p in valid.items() if not any(dominates(o, p) for f, o in valid.items() if f != e)]
    return sorted(front, key=lambda e: (valid[e][1], valid[e][0]))


def _row(enc: str, group: Mapping, facts: Mapping, curve: list[dict], k_max: int) -> dict:
    means = group["table"].get(enc) or {}
    intervals = (group.get("intervals") or {}).get(enc) or {}
    ndcg = f"NDCG@{k_max}"
    load_peaks = [r["peak_rss_mb"] for r in curve if r.get("peak_rss_mb") is not None]
    row = {
        "encoder": enc,
        "MAP": means.get("MAP"),
        "MAP_interval": intervals.get("MAP"),
        "NDCG": means.get(ndcg),
        "NDCG_interval": intervals.get(ndcg),
        **facts,
        "load": curve,
        "load_peak_rss_mb": max(load_peaks) if load_peaks else None,
    }
    items, rate = row.get("items_to_index"), row.get("items_per_s")
    if items is not None and rate is not None and rate > 0 and math.isfinite(rate):
        row["index_hours"] = items / rate / 3600.0
    else:
        row["index_hours"] = None
    peaks = [v for v in (row.get("index_peak_rss_mb"), row["load_peak_rss_mb"]) if v is not None]
    row["peak_memory_mb"] = max(peaks) if peaks else None
    return row


def assess(row: Mapping, constraints: Constraints) -> tuple[list[dict], list[str]]:
    """(violations, unmeasured) of one encoder's row: each violation is {constraint,
    value, limit} (value in the constraint's unit: hours, ms, GiB, plus ``concurrency``
    for latency); unmeasured lists the constraints set whose figure is missing."""
    violations: list[dict] = []
    unknown: list[str] = []
    if constraints.max_index_hours is not None:
        hours = row.get("index_hours")
        if hours is None:
            unknown.append("max_index_hours")
        elif hours > constraints.max_index_hours:
            violations.append({
                "constraint": "max_index_hours", "value": hours, "limit": constraints.max_index_hours,
                "items": row.get("items_to_index"), "items_per_s": row.get("items_per_s"),
            })
    if constraints.max_latency_ms is not None:
        p95 = p95_under_load(row.get("load") or [], constraints.concurrency)
        if p95 is None:
            unknown.append("max_latency_ms")
        elif p95["p95_ms"] > constraints.max_latency_ms:
            violations.append({
                "constraint": "max_latency_ms", "value": p95["p95_ms"], "limit": constraints.max_latency_ms,
                "concurrency": p95["concurrency"], "mode": p95["mode"], "target": p95["target"],
            })
    if constraints.max_memory_gb is not None:
        mb = row.get("peak_memory_mb")
        if mb is None:
            unknown.append("max_memory_gb")
        elif mb / 1024.0 > constraints.max_memory_gb:
            violations.append({"constraint": "max_memory_gb", "value": mb / 1024.0, "limit": constraints.max_memory_gb})
    return violations, unknown


def _quality(row: Mapping) -> float:
    q = row.get("MAP")
    return -math.inf if q is None or not math.isfinite(q) else float(q)


def _speed(row: Mapping) -> float:
    t = row.get("items_per_s")
    return -math.inf if t is None or not math.isfinite(t) else float(t)


def recommend(rows: Mapping[str, Mapping], constraints: Constraints) -> dict:
    """The pick among ``rows`` (encoder -> row) under ``constraints``.

    Among the encoders no constraint rules out, the best MAP wins (ties: the faster
    indexer). Returns {pick, fits, ruled_out: {encoder: [violation...]}, unmeasured:
    {encoder: [constraint...]}, closest}: ``closest`` is set only when nothing fits: the
    encoder that breaks the fewest constraints by the smallest factor (value / limit),
    with what it breaks, so the user knows which limit to relax."""
    ruled_out: dict[str, list[dict]] = {}
    unmeasured: dict[str, list[str]] = {}
    fits: list[str] = []
    for enc, row in rows.items():
        violations, unknown = assess(row, constraints)
        if unknown:
            unmeasured[enc] = unknown
        if violations:
            ruled_out[enc] = violations
        else:
            fits.append(enc)
    ranked = sorted(fits, key=lambda e: (-_quality(rows[e]), -_speed(rows[e]), e))
    pick = ranked[0] if ranked else None
    closest = None
    if pick is None and ruled_out:
        def badness(enc: str) -> tuple:
            v = ruled_out[enc]
            return (len(v), max(x["value"] / x["limit"] for x in v), -_quality(rows[enc]), enc)

        enc = min(ruled_out, key=badness)
        closest = {"encoder": enc, "breaks": ruled_out[enc]}
    return {"pick": pick, "fits": ranked, "ruled_out": ruled_out, "unmeasured": unmeasured, "closest": closest}


def rank_difference(rows: Mapping[str, Mapping], comparisons: Sequence[Mapping] = ()) -> dict:
    """Where the ranking by MAP here differs from the published ranking.

    Only encoders whose published figures share a ``benchmark_metric`` are compared (per
    metric); a pair is flagged when the published figures order it one way and MAP here
    strictly the other way. ``comparisons``: the group's MAP pair tests (for whether
    the reversal is significant). Returns {comparable: bool, metrics: {metric:
    {encoders, published_order, order_here, differs, reversed: [...]}}, note}."""
    tests = {frozenset((c["a"], c["b"])): c.get("p_holm") for c in comparisons}
    by_metric: dict[str, list[str]] = {}
    for enc, row in rows.items():
        if row.get("benchmark_metric") and row.get("benchmark_value") is not None and _quality(row) > -math.inf:
            by_metric.setdefault(row["benchmark_metric"], []).append(enc)
    metrics: dict[str, dict] = {}
    for metric, encs in by_metric.items():
        if len(encs) < 2:
            continue
        higher = bool(rows[encs[0]].get("benchmark_higher_is_better", True))
        published = sorted(encs, key=lambda e: (-rows[e]["benchmark_value"] if higher else rows[e]["benchmark_value"], e))
        here = sorted(encs, key=lambda e: (-_quality(rows[e]), e))
        reversed_pairs = []
        for i, a in enumerate(published):
            for b in published[i + 1:]:
                va, vb = rows[a]["benchmark_value"], rows[b]["benchmark_value"]
                if va == vb:
                    continue
                if _quality(rows[b]) > _quality(rows[a]):
                    p = tests.get(frozenset((a, b)))
                    reversed_pairs.append({
                        "published_better": a, "better_here": b,
                        "published": [va, vb], "map": [rows[a]["MAP"], rows[b]["MAP"]],
                        "p_holm": p, "significant": p is not None and p < ALPHA,
                    })
        metrics[metric] = {
            "encoders": encs, "higher_is_better": higher, "published_order": published, "order_here": here,
            "differs": bool(reversed_pairs), "reversed": reversed_pairs,
        }
    note = ""
    if not metrics:
        carrying = sorted(by_metric)
        note = (
            "fewer than two encoders here carry a published figure on the same benchmark"
            + (f" ({', '.join(f'{m}: {len(by_metric[m])}' for m in carrying)})" if carrying else " (none carries one)")
            + ", so the published ranking cannot be compared"
        )
    return {"comparable": bool(metrics), "metrics": metrics, "note": note}


def select(data: Mapping, facts: Mapping[str, Mapping], loadtest: Mapping | None, constraints: Constraints) -> dict:
    """The model-selection report from the evaluation's JSON (``result_to_json``), the
    encoders' facts (:func:`encoder_facts`) and the load test (or None). JSON-ready."""
    from mediasearch.evaluation.runner import ALL

    k_max = max(data["options"]["ks"])
    groups: dict[str, dict] = {}
    for name, g in data["groups"].items():
        if name == ALL:  # mixes media types; selection is per media type
            continue
        medium = MEDIUM_OF_TARGET.get(g.get("target") or "")
        rows = {
            enc: _row(enc, g, facts.get(enc, {}), load_curve(loadtest, enc, medium), k_max)
            for enc in g["encoders"]
        }
        points = {enc: (r["MAP"], r["items_per_s"]) for enc, r in rows.items()}
        front = pareto_front(points)
        groups[name] = {
            "modality": g.get("modality"),
            "target": g.get("target"),
            "medium": medium,
            "queries": len(g["queries"]),
            "rows": rows,
            "pareto": front,
            "not_placed": [e for e in rows if e not in {k for k, (q, t) in points.items() if q is not None and t is not None}],
            "recommendation": recommend(rows, constraints),
            "published": rank_difference(rows, (g.get("comparisons") or {}).get("MAP", [])),
        }
    lt: dict[str, Any] = {"measured": bool(loadtest and loadtest.get("results")), "note": ""}
    if loadtest is None:
        lt["note"] = NOT_MEASURED
    elif loadtest.get("problem"):
        lt["note"] = f"{loadtest['problem']}; {NOT_MEASURED}"
    elif not loadtest.get("results"):
        lt["note"] = f"the load test measured nothing; {NOT_MEASURED}"
    if loadtest:
        lt.update({k: loadtest.get(k) for k in ("created_at", "duration_s", "machine", "skipped")})
    return {
        "constraints": constraints.to_json(),
        "ndcg_metric": f"NDCG@{k_max}",
        "loadtest": lt,
        "groups": groups,
        "notes": SELECTION_NOTES,
    }


def apply_constraints(selection: Mapping, constraints: Constraints) -> dict:
    """``selection`` with every group's recommendation redone under ``constraints``
    (pure and cheap: the GUI calls it when a constraint field changes)."""
    out = dict(selection)
    out["constraints"] = constraints.to_json()
    out["groups"] = {
        name: {**g, "recommendation": recommend(g["rows"], constraints)} for name, g in selection["groups"].items()
    }
    return out


def build_selection(library, data: Mapping, constraints: Constraints | None = None) -> dict:  # noqa: ANN001
    """The model-selection report of ``library`` for the evaluation ``data``
    (``result_to_json``), reading the load test from the library folder."""
    constraints = constraints or Constraints()
    loadtest = read_loadtest(library.settings.library_dir)
    encoders = [enc for g in data["groups"].values() for enc in g["encoders"]]
    facts = encoder_facts(library, encoders, loadtest=loadtest)
    return select(data, facts, loadtest, constraints)


SELECTION_NOTES = [
    "Quality is MAP (and NDCG at the largest k) over each group's shared queries, with the evaluation's bootstrap intervals.",
    "Throughput is files indexed per second over every indexing run of this library on this machine; index time = "
    "files of the kinds the encoder covers / files per second.",
    "Latency under load is the p95 from `mediasearch loadtest` at the highest measured concurrency not above the "
    "chosen one, the slowest mode measured there; without a load test it is not measured.",
    "Peak memory is the larger of the indexing runs' and the load test's peak resident memory.",
    "The Pareto front holds the encoders no other encoder beats on both MAP and files/s.",
    "The pick is the best MAP among the encoders no constraint rules out; a constraint whose figure is not "
    "measured rules nothing out and is listed.",
    "Published figures are compared only between encoders measured on the same benchmark.",
]


# -- words (CLI and HTML; the GUI words its own, translated) ------------------------------------


def violation_text(v: Mapping) -> str:
    """One violation in words, e.g. "index time 3.2 h > 2 h (12000 files at 1.0 files/s)"."""
    c = v["constraint"]
    if c == "max_index_hours":
        rate = v.get("items_per_s")
        return (
            f"index time {v['value']:.2f} h > {v['limit']:g} h"
            + (f" ({v.get('items')} files at {rate:.2f} files/s)" if rate else "")
        )
    if c == "max_latency_ms":
        return f"p95 {v['value']:.1f} ms > {v['limit']:g} ms at concurrency {v.get('concurrency')} ({v.get('mode')}, {v.get('target')})"
    return f"peak memory {v['value']:.2f} GB > {v['limit']:g} GB"


UNMEASURED_TEXT = {
    "max_index_hours": "indexing throughput not measured (index with it first)",
    "max_latency_ms": NOT_MEASURED,
    "max_memory_gb": "peak memory not measured",
}


def recommendation_text(rec: Mapping, rows: Mapping[str, Mapping]) -> list[str]:
    """The recommendation of one group as lines of English."""
    lines = []
    if rec.get("pick"):
        row = rows[rec["pick"]]
        q = row.get("MAP")
        lines.append(
            f"pick {rec['pick']}" + (f" (MAP {q:.3f})" if q is not None else "")
            + (f"; also fit: {', '.join(e for e in rec['fits'] if e != rec['pick'])}" if len(rec["fits"]) > 1 else "")
        )
    else:
        closest = rec.get("closest")
        if closest:
            lines.append(
                f"no encoder fits every constraint; closest: {closest['encoder']} (breaks: "
                + "; ".join(violation_text(v) for v in closest["breaks"]) + "): relax that limit or index on faster hardware"
            )
        else:
            lines.append("no encoder to recommend")
    for enc, violations in rec.get("ruled_out", {}).items():
        lines.append(f"{enc} ruled out: " + "; ".join(violation_text(v) for v in violations))
    for enc, unknown in rec.get("unmeasured", {}).items():
        lines.append(f"{enc}: " + "; ".join(UNMEASURED_TEXT[c] for c in unknown))
    return lines


def published_text(pub: Mapping) -> list[str]:
    """The published-vs-here comparison of one group as lines of English."""
    if not pub.get("comparable"):
        return [pub.get("note") or ""]
    lines = []
    for metric, m in pub["metrics"].items():
        if not m["differs"]:
            lines.append(f"{metric}: the order here agrees with the published one (best first: {', '.join(m['published_order'])})")
            continue
        for r in m["reversed"]:
            sig = "significant" if r["significant"] else "not significant"
            lines.append(
                f"{metric}: the published figures rank {r['published_better']} ({r['published'][0]:g}) above "
                f"{r['better_here']} ({r['published'][1]:g}), but here {r['better_here']} has the higher MAP "
                f"({r['map'][1]:.3f} vs {r['map'][0]:.3f}, {sig})"
            )
    return lines
