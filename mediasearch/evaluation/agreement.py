"""How far raters agree: Cohen's kappa per pair of raters and Krippendorff's alpha over all.

Judgements are only as good as the people who made them. When two or more raters have
graded the same hits (``mediasearch judge --rater``, or the GUI's rater name), the report
says how far they agree beyond chance:

- **Cohen's kappa**, per pair of raters, on *relevance* (grade >= the relevance level)
  over the hits both graded: ``(p_o - p_e) / (1 - p_e)`` with ``p_o`` the share of hits
  they agree on and ``p_e`` the agreement their own base rates would give by chance.
- **Krippendorff's alpha** over every rater at once, on relevance (nominal) and on the
  grades themselves (ordinal): ``1 - D_o / D_e`` from the coincidence matrix of the
  values given to each hit (hits graded by one rater only take no part). Unlike kappa
  it allows any number of raters and missing grades.

1 is perfect agreement, 0 what chance gives, below 0 systematic disagreement. Both are
undefined (None) when every grade is the same value (no variation to agree on).
Negative (unjudged) grades are left out. Judgements without a rater name (made before
raters were recorded) count as the rater "", except on hits a named rater graded too:
there the named grade supersedes the unnamed one (it is most likely the same person
re-grading), as in scoring.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Hashable, Iterable, Mapping, Sequence

#: a judged hit: (query id, content hash, at_s)
Unit = tuple[int, str, float]


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' labels ``a``, ``b`` (same length, one per item);
    None when undefined (no items, or chance agreement is already 1)."""
    if len(a) != len(b):
        raise ValueError("the two raters' label lists differ in length")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[label] * cb[label] for label in ca) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(units: Iterable[Sequence[float]], *, level: str = "nominal") -> float | None:
    """Krippendorff's alpha over ``units``: each unit the values its raters gave (missing
    ones left out). ``level``: "nominal", "ordinal" or "interval" (the difference
    function). None when no unit has two values or every value is the same."""
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"unknown level {level!r}")
    coincidence: dict[tuple[float, float], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            coincidence[(values[i], values[j])] += 1.0 / (m - 1)
    if not coincidence:
        return None
    n_c: dict[float, float] = defaultdict(float)
    for (c, _k), o in coincidence.items():
        n_c[c] += o
    n = sum(n_c.values())
    ordered = sorted(n_c)

    def delta2(c: float, k: float) -> float:
        if level == "nominal":
            return 0.0 if c == k else 1.0
        if level == "interval":
            return float(c - k) ** 2
        lo, hi = (c, k) if c <= k else (k, c)  # ordinal: ranks between c and k, halves at the ends
        between = sum(n_c[g] for g in ordered if lo <= g <= hi)
        return (between - (n_c[lo] + n_c[hi]) / 2.0) ** 2

    observed = sum(o * delta2(c, k) for (c, k), o in coincidence.items()) / n
    expected = sum(n_c[c] * n_c[k] * delta2(c, k) for c in ordered for k in ordered) / (n * (n - 1))
    if expected == 0.0:
        return None
    return 1.0 - observed / expected


@dataclass
class PairAgreement:
    """Two raters over the hits both graded: ``kappa`` on relevance, ``agreed`` of ``shared``."""

    raters: tuple[str, str]
    shared: int
    agreed: int
    kappa: float | None

    def to_json(self) -> dict:
        return {"raters": list(self.raters), "shared": self.shared, "agreed": self.agreed, "kappa": self.kappa}


@dataclass
class Agreement:
    """Agreement of every rater of a library (see the module docstring). ``judged``:
    judgements per rater; ``multiply_judged``: hits graded by two or more raters."""

    raters: list[str]
    judged: dict[str, int]
    multiply_judged: int
    rel_level: int
    pairs: list[PairAgreement] = field(default_factory=list)
    alpha_relevance: float | None = None
    alpha_grades: float | None = None

    @property
    def measured(self) -> bool:
        return self.multiply_judged > 0

    def to_json(self) -> dict:
        return {
            "raters": self.raters,
            "judged": self.judged,
            "multiply_judged": self.multiply_judged,
            "rel_level": self.rel_level,
            "pairs": [p.to_json() for p in self.pairs],
            "alpha_relevance": self.alpha_relevance,
            "alpha_grades": self.alpha_grades,
        }


def agreement(grades: Mapping[Unit, Mapping[str, int]], *, rel_level: int = 1) -> Agreement:
    """Agreement over ``grades``: judged hit -> rater -> grade (negative grades are
    unjudged and left out)."""
    per_unit = {u: {r: g for r, g in by.items() if g >= 0} for u, by in grades.items()}
    per_unit = {u: by for u, by in per_unit.items() if by}
    judged: Counter[str] = Counter(r for by in per_unit.values() for r in by)
    raters = sorted(judged)
    result = Agreement(
        raters=raters,
        judged=dict(sorted(judged.items())),
        multiply_judged=sum(1 for by in per_unit.values() if len(by) >= 2),
        rel_level=rel_level,
    )
    for a, b in itertools.combinations(raters, 2):
        both = [(by[a] >= rel_level, by[b] >= rel_level) for by in per_unit.values() if a in by and b in by]
        if not both:
            continue
        la, lb = zip(*both)
        result.pairs.append(PairAgreement((a, b), len(both), sum(x == y for x, y in both), cohen_kappa(la, lb)))
    result.alpha_relevance = krippendorff_alpha(
        [[1.0 if g >= rel_level else 0.0 for g in by.values()] for by in per_unit.values()], level="nominal"
    )
    result.alpha_grades = krippendorff_alpha([[float(g) for g in by.values()] for by in per_unit.values()], level="ordinal")
    return result


def library_agreement(catalog, *, rel_level: int = 1) -> Agreement:  # catalog: mediasearch.catalog.Catalog
    """:func:`agreement` over every stored judgement of a library."""
    from mediasearch.evaluation.groundtruth import supersede_unnamed

    grades: dict[Unit, dict[str, int]] = defaultdict(dict)
    for row in catalog.judgement_rows():
        grades[(row["query_id"], row["content_hash"], row["at_s"])][row["rater"]] = row["grade"]
    return agreement({u: supersede_unnamed(by) for u, by in grades.items()}, rel_level=rel_level)


__all__ = ["Agreement", "PairAgreement", "agreement", "cohen_kappa", "krippendorff_alpha", "library_agreement"]
