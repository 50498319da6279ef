"""Evaluation: run every saved query through every encoder that can answer it, score the
rankings against the judgements, time the searches, and compare the encoders.

Evaluation is per asset (file): searches are grouped (a video's best frame stands for
the video) and judgements are folded per asset (see
:func:`mediasearch.evaluation.groundtruth.asset_qrels`). Further rules, also written
into every report's notes:

- trec_eval's conventions (:mod:`mediasearch.evaluation.metrics`): results ordered by
  score, ties by content hash descending; relevant = grade >= ``rel_level``; unjudged
  results count as not relevant (judged@k says how often that was assumed);
- a query without any judgement is not scored; one with judgements but no relevant file
  scores 0 (``exclude_no_relevant`` leaves it out instead, and the report says so);
- the query's own example file, when it is in the library, is left out of its results;
- files with identical bytes (same content hash) are one item: the first copy counts.

Comparisons are per media type (:func:`comparison_groups`): a group is (query modality,
what the encoder searches: images and video frames, sounds, or transcripts), so image
examples are compared over image/frame encoders, audio examples over audio encoders, and
text queries once over frame encoders and once over transcript encoders. Inside a group
encoders are ranked only over the queries every one of them answered; the "all queries"
view exists only when at least two encoders answered every scored query.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from mediasearch.errors import MediaSearchError, QueryError
from mediasearch.evaluation import metrics as m
from mediasearch.evaluation.formats import RunRow
from mediasearch.evaluation.agreement import library_agreement
from mediasearch.evaluation.groundtruth import SavedQuery, asset_qrels, current_paths, list_queries
from mediasearch.evaluation.pooling import PoolItem, pool
from mediasearch.evaluation.significance import bootstrap_intervals, compare_encoders
from mediasearch.library import Library
from mediasearch.media import Modality
from mediasearch.progress import CancelToken, Progress, ProgressCallback, no_progress

logger = logging.getLogger(__name__)

DEFAULT_KS = (1, 5, 10)
#: how deep each search goes: AP, R-precision and recall see this many results
DEFAULT_DEPTH = 100
#: the view over every scored query, shown only where two or more encoders answered them all
ALL = "all queries"
#: what an encoder searches, by the streams it indexes (the second half of a group's name)
TARGET_VISUAL = "images and video frames"
TARGET_AUDIO = "sounds"
TARGET_SPEECH = "transcripts"
#: metrics that get bootstrap confidence intervals (k = the largest cut-off)
HEADLINE = ("MAP", "MRR", "NDCG@{k}", "P@{k}", "R@{k}", "F1@{k}", "success@{k}")
#: the rules of the evaluation, written into every report
NOTES = [
    "Scored as trec_eval scores: results ordered by score, ties by content hash descending; unjudged results "
    "count as not relevant; judged@k is the share of the top k that has a judgement (grade >= 0).",
    "Relevant = grade >= the relevance level (1 unless set); NDCG uses the grades as gains (linear), whatever the level.",
    "Evaluation is per file: a video or audio file's best segment stands for it; a whole-file judgement "
    "decides its grade, else its best judged moment does.",
    "Comparisons are per media type (query modality, and what the encoder searches); encoders are ranked "
    "against each other only over the queries they all answered.",
    "Confidence intervals: percentile bootstrap over queries (seeded, reproducible), the same resamples for every encoder of a group.",
    "A query's own example file is left out of its results; files with identical bytes count once.",
    "Latency is wall time of one search call asking for the evaluation depth of results (embedding the "
    "query, vector search, catalog look-ups), one at a time, after one warm-up call per encoder; each query "
    "is timed in several passes and its median time counts.",
]


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate. ``ks``: cut-offs; ``depth``: results fetched per search;
    ``latency_min_s``: each encoder's searches are repeated until they took at least this
    many seconds in all (at least ``latency_min_repeats``, at most ``latency_max_repeats``
    passes over the queries); ``significance_resamples``: Monte Carlo size of the
    randomisation test (exact below 17 queries)."""

    encoders: tuple[str, ...] | None = None
    ks: tuple[int, ...] = DEFAULT_KS
    depth: int = DEFAULT_DEPTH
    latency_min_s: float = 2.0
    latency_min_repeats: int = 3
    latency_max_repeats: int = 20
    significance_resamples: int = 10_000
    seed: int = 0
    rel_level: int = 1
    exclude_no_relevant: bool = False
    rater: str | None = None  # score only this rater's judgements (None: the raters' consensus)
    bootstrap_resamples: int = 2000
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.rel_level < 1:
            raise QueryError(f"the relevance level must be at least 1, got {self.rel_level}")
        if not self.ks or min(self.ks) <= 0:
            raise QueryError("cut-offs k must be positive integers")
        if self.depth < max(self.ks):
            raise QueryError(f"search depth {self.depth} is below the largest k ({max(self.ks)})")


@dataclass
class Ranking:
    """One encoder's answer to one query: content hashes best first with scores."""

    docs: list[str]
    scores: list[float]


@dataclass
class QueryInfo:
    """A saved query as the evaluation saw it: its folded qrels, the encoders that can
    answer it, and the rules that decide whether it is scored."""

    query: SavedQuery
    qrels: dict[str, int]
    encoders: list[str] = field(default_factory=list)
    rel_level: int = 1
    exclude_no_relevant: bool = False

    @property
    def relevant(self) -> int:
        return m.num_relevant(self.qrels, min_grade=self.rel_level)

    @property
    def evaluable(self) -> bool:
        """Scored: judged at all, and (unless no-relevant queries are excluded) even when none is relevant."""
        return bool(self.qrels) and (self.relevant > 0 or not self.exclude_no_relevant)


@dataclass
class ComparisonGroup:
    """Encoders compared with each other over the same queries. ``modality``: the
    queries' (None for the "all" view); ``target``: what the encoders search;
    ``queries``: the scored queries every encoder of the group answered;
    ``unshared``: scored queries of this kind that some encoder did not answer (left out
    of the group so the ranking stays fair)."""

    name: str
    modality: Modality | None
    target: str | None
    encoders: list[str]
    queries: list[QueryInfo]
    unshared: list[str] = field(default_factory=list)

    @property
    def query_names(self) -> list[str]:
        return [info.query.name for info in self.queries]


@dataclass
class EvalResult:
    """Everything an evaluation measured; :meth:`to_json` is the report's data.

    ``rankings[encoder][query]``; ``per_query[encoder][query][metric]`` (evaluable
    queries only); ``targets[encoder]``: what it searches (:data:`TARGET_VISUAL`...);
    ``latency_ms[encoder]``: (passes, queries) search times in
    milliseconds, queries in the order of ``queries``; ``warnings``: conditions that make
    figures less trustworthy (a busy machine).
    """

    options: EvalOptions
    queries: list[QueryInfo]
    assets: dict[str, dict]
    rankings: dict[str, dict[str, Ranking]] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    per_query: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    latency_ms: dict[str, np.ndarray] = field(default_factory=dict)
    throughput: dict[str, dict] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    unanswered: dict[str, dict[str, str]] = field(default_factory=dict)  # encoder -> query -> why it failed
    warnings: list[str] = field(default_factory=list)
    machine: dict = field(default_factory=dict)
    agreement: dict = field(default_factory=dict)  # raters' agreement (mediasearch.evaluation.agreement)
    library: str = ""
    started_at: float = 0.0
    wall_s: float = 0.0

    @property
    def metric_names(self) -> list[str]:
        return m.metric_names(self.options.ks)

    @property
    def quality_metrics(self) -> list[str]:
        return [name for name in self.metric_names if not name.startswith("judged@")]

    @property
    def encoders(self) -> list[str]:
        return list(self.rankings)

    def groups(self) -> dict[str, ComparisonGroup]:
        """The per-media-type comparisons (see :func:`comparison_groups`)."""
        return comparison_groups(self)

    def group_table(self, group: str) -> dict[str, dict[str, float]]:
        """encoder -> metric -> mean over the group's shared queries."""
        g = self.groups().get(group)
        if g is None:
            return {}
        return {enc: m.mean_metrics([self.per_query[enc][q] for q in g.query_names]) for enc in g.encoders}

    def intervals(self, group: str) -> dict[str, dict[str, list[float]]]:
        """encoder -> headline metric -> [low, high] bootstrap interval of the group's mean."""
        g = self.groups().get(group)
        if g is None or not g.queries:
            return {}
        k = max(self.options.ks)
        out: dict[str, dict[str, list[float]]] = {enc: {} for enc in g.encoders}
        for i, template in enumerate(HEADLINE):
            metric = template.format(k=k)
            values = {enc: [self.per_query[enc][q][metric] for q in g.query_names] for enc in g.encoders}
            found = bootstrap_intervals(
                values, n_resamples=self.options.bootstrap_resamples, confidence=self.options.confidence,
                seed=self.options.seed + i,
            )
            for enc, (low, high) in found.items():
                out[enc][metric] = [low, high]
        return out

    def misses(self, encoder: str, query: str, *, k: int | None = None) -> list[dict]:
        """Relevant files not in ``encoder``'s top ``k`` (default: the largest k) for
        ``query``, most relevant first: content_hash, path, kind, grade, rank (where the
        encoder did rank it within the search depth, else None)."""
        k = k or max(self.options.ks)
        info = next(i for i in self.queries if i.query.name == query)
        ranking = self.rankings.get(encoder, {}).get(query)
        if ranking is None:
            return []
        positions = {doc: r for r, doc in enumerate(ranking.docs, start=1)}
        out = []
        for doc, grade in sorted(info.qrels.items(), key=lambda kv: (-kv[1], kv[0])):
            rank = positions.get(doc)
            if grade >= self.options.rel_level and (rank is None or rank > k):
                asset = self.assets.get(doc, {})
                out.append({"content_hash": doc, "path": asset.get("path", ""), "kind": asset.get("kind"), "grade": grade, "rank": rank})
        return out

    def pr_curve(self, encoder: str, queries: Sequence[QueryInfo]) -> np.ndarray:
        """(11,) mean interpolated precision at recall 0.0..1.0 over ``queries``."""
        curves = [
            m.interpolated_precision(
                m.trec_order(self.rankings[encoder][q.query.name].docs, self.rankings[encoder][q.query.name].scores)[0],
                q.qrels,
                min_grade=self.options.rel_level,
            )
            for q in queries
            if q.query.name in self.rankings.get(encoder, {})
        ]
        return np.mean(curves, axis=0) if curves else np.full(len(m.RECALL_LEVELS), np.nan)

    def latency_summary(self, encoder: str) -> dict:
        """Search latency of ``encoder`` in milliseconds.

        ``p50_ms``/``p95_ms``/``p99_ms``/``mean_ms`` are taken across queries of each
        query's *median* time over the timed passes, so one pass slowed by other work on
        the machine does not move them; ``qps`` = 1000 / ``mean_ms`` (sequential
        searches); ``raw_*`` are percentiles over every timed search.
        """
        samples = self.latency_ms.get(encoder)
        if samples is None or samples.size == 0:
            return {}
        per_query = np.median(samples, axis=0)
        p50, p95, p99 = np.percentile(per_query, [50, 95, 99])
        raw50, raw95, raw99 = np.percentile(samples, [50, 95, 99])
        mean = float(per_query.mean())
        return {
            "p50_ms": float(p50),
            "p95_ms": float(p95),
            "p99_ms": float(p99),
            "mean_ms": mean,
            "qps": 1000.0 / mean if mean > 0 else math.nan,
            "samples": int(samples.size),
            "passes": int(samples.shape[0]),
            "raw_p50_ms": float(raw50),
            "raw_p95_ms": float(raw95),
            "raw_p99_ms": float(raw99),
            "raw_max_ms": float(samples.max()),
        }

    def run_rows(self) -> list[RunRow]:
        """Every ranking as TREC run rows (tag = encoder)."""
        rows = []
        for encoder, per in self.rankings.items():
            for query, ranking in per.items():
                for rank, (doc, score) in enumerate(zip(ranking.docs, ranking.scores), start=1):
                    rows.append(RunRow(query, doc, rank, score, encoder))
        return rows

    def to_json(self) -> dict:
        """Every figure of the evaluation (what the HTML report shows, and more)."""
        from mediasearch.evaluation.report import result_to_json

        return result_to_json(self)


def _machine(library: Library) -> dict:
    import faiss

    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or _cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads_setting": library.settings.threads,
        "faiss_threads": faiss.omp_get_max_threads(),
        "python": platform.python_version(),
    }
    torch = sys.modules.get("torch")  # only report it when an encoder loaded it
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    return info


def _machine_busy_s() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux /proc/stat:
    user, nice, system, irq, softirq, steal); None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class _OtherWork:
    """How many CPUs *other* processes kept busy while we timed searches: machine CPU
    time minus our own, over wall time (None where the OS does not say)."""

    def __init__(self) -> None:
        self.wall0 = time.monotonic()
        self.busy0 = _machine_busy_s()
        times = os.times()
        self.own0 = times.user + times.system

    def cpus(self) -> float | None:
        busy = _machine_busy_s()
        wall = time.monotonic() - self.wall0
        if busy is None or self.busy0 is None or wall <= 0:
            return None
        times = os.times()
        own = times.user + times.system - self.own0
        return max(0.0, (busy - self.busy0 - own) / wall)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _asset_table(library: Library) -> dict[int, tuple[str, str, str | None]]:
    """asset id -> (content hash, path, kind) of every asset with a hash."""
    return library.catalog.hashed_assets()


def target_of(encoder: str) -> str:
    """What ``encoder`` searches, from the streams its registry entry indexes."""
    from mediasearch.encoders.registry import REGISTRY
    from mediasearch.media import Stream

    spec = REGISTRY.get(encoder)
    streams = spec.streams if spec is not None else frozenset()
    if Stream.SPEECH in streams:
        return TARGET_SPEECH
    if Stream.AUDIO in streams:
        return TARGET_AUDIO
    return TARGET_VISUAL


def group_name(modality: Modality, target: str) -> str:
    """The name of a per-media-type group, e.g. ``text queries → transcripts``."""
    return f"{modality.value} queries → {target}"


def comparison_groups(result: EvalResult) -> dict[str, ComparisonGroup]:
    """The encoder comparisons of ``result``, per media type, in order of first appearance.

    A group is (query modality, encoder target): its encoders are those that answered
    queries of that modality and search that target; its queries are the scored queries
    *every* one of them answered (the rest are listed in ``unshared``). Synthetic queries
    (:mod:`mediasearch.evaluation.synth`) form their own groups, named "... (synthetic)",
    apart from human judgements; the "all" view holds both. With several groups,
    :data:`ALL` comes first, but only when two or more encoders answered every scored
    query (then over those encoders only). The GUI, the CLI summary, the JSON and the
    HTML report all show these groups.
    """
    scored = [info for info in result.queries if info.evaluable]
    answered = {enc: set(per) for enc, per in result.per_query.items()}
    from mediasearch.evaluation.synth import is_synthetic

    members: dict[tuple[Modality, str, bool], list[str]] = {}
    for info in scored:
        for enc in result.rankings:
            if info.query.name in answered.get(enc, ()):
                key = (info.query.modality, result.targets.get(enc) or target_of(enc), is_synthetic(info.query.name))
                encs = members.setdefault(key, [])
                if enc not in encs:
                    encs.append(enc)
    groups: dict[str, ComparisonGroup] = {}
    for (modality, target, synthetic), encs in members.items():
        of_kind = [
            info for info in scored if info.query.modality is modality and is_synthetic(info.query.name) == synthetic
        ]
        candidates = [info for info in of_kind if any(info.query.name in answered[e] for e in encs)]
        shared = [info for info in candidates if all(info.query.name in answered[e] for e in encs)]
        unshared = [info.query.name for info in candidates if info not in shared]
        name = group_name(modality, target) + (" (synthetic)" if synthetic else "")
        groups[name] = ComparisonGroup(name, modality, target, encs, shared, unshared)
    if len(groups) > 1:
        everyone = [enc for enc in result.rankings if all(info.query.name in answered.get(enc, ()) for info in scored)]
        if len(everyone) >= 2 and scored:
            groups = {ALL: ComparisonGroup(ALL, None, None, everyone, scored), **groups}
    return groups


def _search_query(query: SavedQuery):  # -> mediasearch.search.Query
    from mediasearch.search import Query

    if query.modality is Modality.TEXT:
        return Query(Modality.TEXT, text=query.text)
    if query.file is None or not query.file.is_file():
        raise QueryError(f"saved query {query.name!r}: its kept file {query.file} is missing")
    return Query(query.modality, path=query.file, start_s=query.start_s, end_s=query.end_s)


def _to_ranking(hits, assets: dict[int, tuple[str, str, str | None]], exclude: str | None) -> Ranking:
    docs: list[str] = []
    scores: list[float] = []
    seen: set[str] = set()
    for hit in hits:
        entry = assets.get(hit.asset_id)
        if entry is None:
            continue
        doc = entry[0]
        if doc == exclude or doc in seen:
            continue
        seen.add(doc)
        docs.append(doc)
        scores.append(float(hit.score))
    # trec_eval's order (ties by content hash descending), so rankings, run files, pools
    # and misses all agree with the scores
    return Ranking(*m.trec_order(docs, scores))


def _timed_pass(
    library: Library, encoder: str, infos: Sequence[QueryInfo], depth: int, samples: list[float], cancel: CancelToken
) -> Iterator[tuple[QueryInfo, list]]:
    """Search every query once with ``encoder``, appending each call's wall time (ms) to
    ``samples``; yields (query, hits), or (query, the MediaSearchError) for a query the
    encoder could not answer (not timed)."""
    from mediasearch.search import search

    for info in infos:
        cancel.raise_if_cancelled("evaluation")
        try:
            query = _search_query(info.query)
            t0 = time.perf_counter()
            hits = search(library, query, encoder=encoder, k=depth)
        except MediaSearchError as exc:  # this query only (e.g. no speech in an audio example)
            yield info, exc
            continue
        samples.append((time.perf_counter() - t0) * 1000.0)
        yield info, hits


def evaluate(
    library: Library,
    options: EvalOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> EvalResult:
    """Evaluate every saved query with every encoder that can answer it (or those of
    ``options.encoders``). Raises QueryError when there is nothing to evaluate."""
    from mediasearch.search import applicable_encoders, search

    options = options or EvalOptions()
    report = progress or no_progress
    cancel = cancel or CancelToken()
    t_start = time.monotonic()
    settings = library.settings
    assets = _asset_table(library)
    by_hash: dict[str, dict] = {}
    for h, path, kind in assets.values():
        by_hash.setdefault(h, {"path": path, "kind": kind})

    saved = list_queries(library.catalog, settings)
    if not saved:
        raise QueryError("no saved queries: add some with `mediasearch query add`, then judge results")
    result = EvalResult(options=options, queries=[], assets=by_hash, library=str(settings.library_dir), started_at=time.time())
    wanted = set(options.encoders) if options.encoders else None
    if options.rater is not None and options.rater not in library.catalog.raters():
        known = ", ".join(repr(r) for r in library.catalog.raters()) or "none"
        raise QueryError(f"no judgements by rater {options.rater!r} (raters: {known})")
    result.agreement = library_agreement(library.catalog, rel_level=options.rel_level).to_json()
    for query in saved:
        qrels = asset_qrels(library.catalog, query.id, rater=options.rater)
        info = QueryInfo(query, qrels, rel_level=options.rel_level, exclude_no_relevant=options.exclude_no_relevant)
        names = applicable_encoders(library, query.modality)
        info.encoders = [n for n in names if wanted is None or n in wanted]
        result.queries.append(info)
    if wanted:
        answerable = {n for info in result.queries for n in info.encoders}
        for name in sorted(wanted - answerable):
            result.failures[name] = "not indexed in this library, or answers none of the saved queries' modalities"
    encoders = list(dict.fromkeys(n for info in result.queries for n in info.encoders))
    if not encoders:
        raise QueryError("no indexed encoder can answer the saved queries (index with an encoder first)")

    planned = {enc: [info for info in result.queries if enc in info.encoders] for enc in encoders}
    other_work = _OtherWork()
    total = sum(len(v) for v in planned.values())
    done = 0
    samples: dict[str, list[float]] = {}
    for encoder in encoders:
        infos = planned[encoder]
        # warm-up: loads the model and the index, fills caches; not timed. A query the
        # encoder cannot answer (an audio example without speech, for Whisper) is that
        # query's problem: the next one warms up; only if none works is the encoder out.
        warm_error: MediaSearchError | None = None
        for info in infos:
            try:
                search(library, _search_query(info.query), encoder=encoder, k=options.depth)
            except MediaSearchError as exc:
                warm_error = warm_error or exc
                continue
            warm_error = None
            break
        if warm_error is not None:
            logger.warning("%s: cannot search: %s", encoder, warm_error)
            result.failures[encoder] = str(warm_error)
            done += len(infos)
            continue
        # the first pass gives the rankings (and is timed like the others)
        rankings: dict[str, Ranking] = {}
        samples[encoder] = []
        unanswered: dict[str, str] = {}
        for info, hits in _timed_pass(library, encoder, infos, options.depth, samples[encoder], cancel):
            done += 1
            if isinstance(hits, MediaSearchError):
                unanswered[info.query.name] = str(hits)
                info.encoders = [n for n in info.encoders if n != encoder]
            else:
                rankings[info.query.name] = _to_ranking(hits, assets, info.query.file_hash)
            report(Progress("evaluate", done, total, f"{encoder}: {info.query.name}", "search", time.monotonic() - t_start))
        result.rankings[encoder] = rankings
        if unanswered:
            planned[encoder] = [info for info in infos if info.query.name not in unanswered]
            result.unanswered[encoder] = unanswered
            first, reason = next(iter(unanswered.items()))
            result.warnings.append(
                f"{encoder} could not answer {len(unanswered)} of its {len(infos)} queries "
                f"({first}: {reason}); they are left out of its figures and of its comparisons."
            )

    # More timed passes, encoder after encoder in each pass, so that a burst of load from
    # elsewhere on the machine spreads over every encoder instead of hitting one.
    passes = 1
    while passes < options.latency_max_repeats:
        wanted_more = [
            enc for enc in samples
            if passes < options.latency_min_repeats or sum(samples[enc]) / 1000.0 < options.latency_min_s
        ]
        if not wanted_more:
            break
        for encoder in wanted_more:
            for _ in _timed_pass(library, encoder, planned[encoder], options.depth, samples[encoder], cancel):
                pass
        passes += 1
        report(Progress("time searches", passes, options.latency_max_repeats, "", "pass", time.monotonic() - t_start))
    other_cpus = other_work.cpus()
    for encoder, times in samples.items():
        result.latency_ms[encoder] = np.asarray(times).reshape(-1, max(1, len(planned[encoder])))
        logger.info("%s: %d queries, %d timed searches", encoder, len(planned[encoder]), len(times))

    for encoder, per in result.rankings.items():
        scored: dict[str, dict[str, float]] = {}
        for info in result.queries:
            ranking = per.get(info.query.name)
            if ranking is not None and info.evaluable:
                scored[info.query.name] = m.evaluate_ranking(
                    ranking.docs, info.qrels, options.ks, scores=ranking.scores, min_grade=options.rel_level
                )
        result.per_query[encoder] = scored
        result.targets[encoder] = target_of(encoder)
    result.throughput = index_throughput(library, list(result.rankings))
    result.machine = _machine(library)
    result.machine["other_work_cpus"] = other_cpus
    if other_cpus is not None and other_cpus > 0.25 * (os.cpu_count() or 1):
        result.warnings.append(
            f"Other programs kept {other_cpus:.1f} of the {os.cpu_count()} CPUs busy on average while searches "
            "were timed: latency figures are higher and noisier than on an idle machine."
        )
    result.wall_s = time.monotonic() - t_start
    return result


def index_throughput(library: Library, encoders: Sequence[str]) -> dict[str, dict]:
    """Per encoder, from the catalog's indexing runs: items (files) per second and
    seconds of media per second, over all runs and for the latest one."""
    out: dict[str, dict] = {}
    for encoder in encoders:
        runs = library.catalog.runs(encoder)
        if not runs:
            continue
        items = sum(r["items"] for r in runs)
        wall = sum(r["wall_s"] for r in runs)
        media = sum(r["media_s"] for r in runs)
        last = runs[-1]
        out[encoder] = {
            "runs": len(runs),
            "items": items,
            "wall_s": wall,
            "items_per_s": items / wall if wall > 0 else math.nan,
            "media_s": media,
            "media_s_per_s": media / wall if wall > 0 and media > 0 else None,
            "last_run": {
                "items": last["items"],
                "wall_s": last["wall_s"],
                "items_per_s": last["items"] / last["wall_s"] if last["wall_s"] > 0 else math.nan,
                "threads": last["threads"],
                "machine": last["machine"],
            },
        }
    return out


def comparisons(result: EvalResult, group: str) -> dict[str, list[dict]]:
    """metric -> every pair of the group's encoders with paired test results over the
    group's shared queries."""
    g = result.groups().get(group)
    if g is None or len(g.encoders) < 2:
        return {}
    names = g.query_names
    out: dict[str, list[dict]] = {}
    for metric in result.quality_metrics:
        per_query = {enc: {q: result.per_query[enc][q][metric] for q in names} for enc in g.encoders}
        pairs = compare_encoders(per_query, metric, n_resamples=result.options.significance_resamples, seed=result.options.seed)
        out[metric] = [p.to_json() for p in pairs]
    return out


def pool_for_query(
    library: Library,
    query: SavedQuery,
    *,
    depth: int = 10,
    encoders: Sequence[str] | None = None,
    order: str = "label-next",
) -> tuple[list[PoolItem], list[str]]:
    """The judging pool of ``query`` (see :mod:`mediasearch.evaluation.pooling`) over
    every indexed encoder that answers its modality (or ``encoders``), in ``order``;
    returns the pool and the encoders that took part."""
    from mediasearch.search import applicable_encoders, search

    names = applicable_encoders(library, query.modality)
    if encoders:
        unknown = [e for e in encoders if e not in names]
        if unknown:
            raise QueryError(
                f"cannot pool with {', '.join(unknown)}: not indexed here or no {query.modality.value} queries "
                f"(can: {', '.join(names) or 'none'})"
            )
        names = list(encoders)
    if not names:
        raise QueryError(f"no indexed encoder answers {query.modality.value} queries")
    assets = _asset_table(library)
    q = _search_query(query)
    rankings = {name: _to_ranking(search(library, q, encoder=name, k=depth), assets, query.file_hash).docs for name in names}
    paths = current_paths(library.catalog, {doc for docs in rankings.values() for doc in docs})
    return pool(rankings, asset_qrels(library.catalog, query.id), depth=depth, paths=paths, order=order), names
