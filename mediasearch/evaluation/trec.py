"""Score any tool's TREC run files against TREC qrels, as trec_eval does, without a library.

Files:

- qrels: ``qid iter docno grade`` per line; any integer grade; a negative grade (-1) is
  *unjudged*: the document is treated as if it were not in the qrels at all (trec_eval's
  rule); a query all of whose lines are negative has no judgement and is not scored. A query is scored when it has any qrels
  line and appears in the run (``complete=True``, trec_eval's ``-c``, also scores the
  qrels' queries the run lacks, as zeros).
- run: ``qid Q0 docno rank score tag [anything...]``: fields after the tag are ignored,
  and so is the rank column: documents are ordered by score descending, ties by docno
  descending (what trec_eval's ``form_res_rels`` does). A docno twice for one query is
  an error, as in trec_eval.

Measures are named as trec_eval names them: ``map``, ``P_k``, ``recall_k``,
``recip_rank``, ``ndcg``, ``ndcg_cut_k``, ``Rprec``, ``success_k``, ``num_rel_ret``,
``num_rel``, ``num_ret``, ``num_q``, plus two of ours: ``F1_k`` (harmonic mean of P_k and
recall_k) and ``judged_k`` (share of the top k with a grade >= 0). Relevant means
``grade >= rel_level`` (trec_eval's ``-l``, default 1); NDCG's gains are the grades
whatever the level. A query with no relevant document scores 0 on every measure and stays
in the means unless ``exclude_no_relevant`` (then the excluded queries are listed). The
summary (``all``) is the mean over scored queries, except that ``num_*`` are sums, as in
trec_eval.

The formulas are those of :mod:`mediasearch.evaluation.metrics` (the library's own eval
uses them too); the tests compare every measure with trec_eval's C code
(pytrec-eval-terrier).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence, TextIO

from mediasearch.evaluation import metrics as m
from mediasearch.evaluation.formats import FormatError, iter_qrels_lines, iter_run_lines

logger = logging.getLogger(__name__)

#: qid -> docno -> grade (negative = unjudged)
TrecQrels = dict[str, dict[str, int]]

DEFAULT_MEASURES = (
    "num_q", "num_ret", "num_rel", "num_rel_ret", "map", "Rprec", "recip_rank",
    "P_5", "P_10", "recall_10", "F1_10", "success_1", "success_10", "ndcg", "ndcg_cut_10", "judged_10",
)
_SUMMED = {"num_ret", "num_rel", "num_rel_ret", "num_q"}
_PLAIN = {"map", "Rprec", "recip_rank", "ndcg"} | _SUMMED
_CUT = {"P", "recall", "F1", "success", "ndcg_cut", "judged"}


@dataclass
class Run:
    """One run file: ``rankings[qid]`` = (docnos, scores) in trec_eval's order."""

    name: str
    source: str
    rankings: dict[str, tuple[list[str], list[float]]]


@dataclass
class RunScores:
    """Scores of one run. ``per_query[qid][measure]``; ``summary[measure]`` (trec_eval's
    ``all``); ``excluded``: queries left out because they have no relevant document;
    ``missing``: qrels queries the run has no line for (zeros under ``complete``, else
    not scored); ``unjudged_queries``: run queries absent from the qrels (never scored)."""

    name: str
    source: str
    measures: list[str]
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unjudged_queries: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "run": self.name,
            "source": self.source,
            "measures": self.measures,
            "summary": self.summary,
            "per_query": self.per_query,
            "excluded_no_relevant": self.excluded,
            "missing_from_run": self.missing,
            "not_in_qrels": self.unjudged_queries,
        }


def parse_measure(name: str) -> tuple[str, int | None]:
    """``P_10`` -> ("P", 10), ``map`` -> ("map", None); a ValueError names the valid forms."""
    if name in _PLAIN:
        return name, None
    base, _, k = name.rpartition("_")
    if base in _CUT and k.isdigit() and int(k) > 0:
        return base, int(k)
    raise ValueError(
        f"unknown measure {name!r}: use {', '.join(sorted(_PLAIN))} or {', '.join(b + '_K' for b in sorted(_CUT))}"
    )


def expand_measures(names: Iterable[str]) -> list[str]:
    """Measure names with trec_eval's ``P.5,10`` shorthand expanded, validated, deduplicated."""
    out: list[str] = []
    for name in names:
        base, dot, cuts = name.partition(".")
        expanded = [f"{base}_{c.strip()}" for c in cuts.split(",") if c.strip()] if dot else [name]
        for one in expanded:
            parse_measure(one)
            if one not in out:
                out.append(one)
    return out


def read_trec_qrels(text: TextIO | Iterable[str], *, source: str = "<qrels>") -> TrecQrels:
    """Parse TREC qrels with raw docnos and every integer grade (negative kept)."""
    qrels: TrecQrels = {}
    for lineno, qid, doc, grade in iter_qrels_lines(text, source=source):
        docs = qrels.setdefault(qid, {})
        if doc in docs and docs[doc] != grade:
            raise FormatError(source, lineno, f"document {doc} of query {qid} judged twice ({docs[doc]} and {grade})")
        docs[doc] = grade
    return qrels


def read_trec_run(text: TextIO | Iterable[str], *, source: str = "<run>", name: str | None = None) -> Run:
    """Parse a TREC run: at least ``qid Q0 docno rank score tag``; later fields ignored;
    the rank is not read. The run's name is ``name``, else its (first) tag."""
    found: dict[str, dict[str, float]] = {}
    tag = None
    for lineno, qid, doc, _rank, score, run_tag in iter_run_lines(text, source=source):
        if score != score:
            raise FormatError(source, lineno, "score is NaN")
        docs = found.setdefault(qid, {})
        if doc in docs:
            raise FormatError(source, lineno, f"document {doc} retrieved twice for query {qid}")
        docs[doc] = score
        tag = tag or run_tag
    rankings = {qid: m.trec_order(list(docs), list(docs.values())) for qid, docs in found.items()}
    return Run(name or tag or Path(source).name, source, rankings)


def score_query(docs: Sequence[str], qrels: Mapping[str, int], measures: Sequence[str], *, rel_level: int = 1) -> dict[str, float]:
    """Every measure of ``measures`` for one query; ``docs`` already in trec_eval's order."""
    out: dict[str, float] = {}
    for name in measures:
        base, k = parse_measure(name)
        if base == "num_q":
            value = 1.0
        elif base == "num_ret":
            value = float(len(docs))
        elif base == "num_rel":
            value = float(m.num_relevant(qrels, min_grade=rel_level))
        elif base == "num_rel_ret":
            value = float(m.num_relevant_retrieved(docs, qrels, min_grade=rel_level))
        elif base == "map":
            value = m.average_precision(docs, qrels, min_grade=rel_level)
        elif base == "Rprec":
            value = m.r_precision(docs, qrels, min_grade=rel_level)
        elif base == "recip_rank":
            value = m.reciprocal_rank(docs, qrels, min_grade=rel_level)
        elif base == "ndcg":
            value = m.ndcg_at_k(docs, qrels, None)
        else:
            assert k is not None
            fn = {
                "P": m.precision_at_k, "recall": m.recall_at_k, "F1": m.f1_at_k, "success": m.success_at_k,
            }.get(base)
            if fn is not None:
                value = fn(docs, qrels, k, min_grade=rel_level)
            elif base == "ndcg_cut":
                value = m.ndcg_at_k(docs, qrels, k)
            else:
                value = m.judged_at_k(docs, qrels, k)
        out[name] = float(value)
    return out


def summarise(per_query: Mapping[str, Mapping[str, float]], measures: Sequence[str]) -> dict[str, float]:
    """trec_eval's ``all`` line: sums for ``num_*``, means for the rest (0 over no query)."""
    out: dict[str, float] = {}
    n = len(per_query)
    for name in measures:
        total = sum(row[name] for row in per_query.values())
        out[name] = total if name in _SUMMED else (total / n if n else 0.0)
    return out


def score_run(
    qrels: TrecQrels,
    run: Run,
    *,
    measures: Sequence[str] = DEFAULT_MEASURES,
    rel_level: int = 1,
    exclude_no_relevant: bool = False,
    complete: bool = False,
) -> RunScores:
    """Score ``run`` against ``qrels`` (see the module docstring for every rule)."""
    if rel_level < 1:
        raise ValueError(f"the relevance level must be at least 1, got {rel_level}")
    measures = expand_measures(measures)
    scores = RunScores(run.name, run.source, list(measures))
    # a query whose every line is unjudged (negative) has no judgement at all
    qrels = {q: docs for q, docs in qrels.items() if any(g >= 0 for g in docs.values())}
    scores.unjudged_queries = sorted(q for q in run.rankings if q not in qrels)
    scores.missing = sorted(q for q in qrels if q not in run.rankings)
    for qid in sorted(qrels):
        if qid not in run.rankings and not complete:
            continue
        docs = run.rankings.get(qid, ([], []))[0]
        if exclude_no_relevant and m.num_relevant(qrels[qid], min_grade=rel_level) == 0:
            scores.excluded.append(qid)
            continue
        scores.per_query[qid] = score_query(docs, qrels[qid], measures, rel_level=rel_level)
    scores.summary = summarise(scores.per_query, measures)
    return scores


def format_trec_eval(results: Sequence[RunScores], *, per_query: bool = False) -> str:
    """trec_eval's text output (``measure <tab> qid <tab> value``, ``all`` for the
    summary; 4 decimals, integers for ``num_*``), one block per run headed by ``runid``."""
    lines: list[str] = []
    for res in results:
        lines.append(f"{'runid':<22}\tall\t{res.name}")
        rows = [(q, row) for q, row in res.per_query.items()] if per_query else []
        for name in res.measures:
            for qid, row in rows:
                lines.append(f"{name:<22}\t{qid}\t{_fmt(name, row[name])}")
            lines.append(f"{name:<22}\tall\t{_fmt(name, res.summary[name])}")
        if res.excluded:
            lines.append(
                f"# {len(res.excluded)} queries without a relevant document excluded from the means: {' '.join(res.excluded)}"
            )
        else:
            lines.append("# queries without a relevant document are scored 0 and kept in the means")
        if res.missing:
            lines.append(f"# {len(res.missing)} qrels queries have no line in the run: {' '.join(res.missing[:20])}")
    return "\n".join(lines) + "\n"


def _fmt(name: str, value: float) -> str:
    return str(int(round(value))) if name in _SUMMED else f"{value:.4f}"


def score_files(
    qrels_path: Path | str,
    run_paths: Sequence[Path | str],
    *,
    measures: Sequence[str] = DEFAULT_MEASURES,
    rel_level: int = 1,
    exclude_no_relevant: bool = False,
    complete: bool = False,
) -> list[RunScores]:
    """Read a qrels file and run files and score each run (runs named by their tag; a
    name repeated across files gets the file name appended)."""
    with open(qrels_path, encoding="utf-8", errors="surrogateescape") as fh:
        qrels = read_trec_qrels(fh, source=str(qrels_path))
    out: list[RunScores] = []
    names: set[str] = set()
    for path in run_paths:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            run = read_trec_run(fh, source=str(path))
        if run.name in names:
            run.name = f"{run.name}({Path(path).name})"
        names.add(run.name)
        out.append(
            score_run(qrels, run, measures=measures, rel_level=rel_level, exclude_no_relevant=exclude_no_relevant, complete=complete)
        )
    return out
