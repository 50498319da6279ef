"""Paired significance tests between two encoders over the same queries.

Both tests take per-query scores of a metric for encoders A and B (same queries, same
order) and ask whether the mean difference could be chance:

- :func:`randomization_test`: Fisher's paired randomisation (sign-flip) test, the one
  Smucker, Allan & Carterette (CIKM 2007) recommend for IR; exact over all 2^n sign
  assignments for n <= ``EXACT_MAX_N`` queries, Monte Carlo otherwise.
- :func:`paired_t_test`: Student's paired t-test (two-sided).

:func:`holm` adjusts a family of p-values (every pair of encoders) for multiple testing.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

logger = logging.getLogger(__name__)

#: up to this many queries the randomisation test enumerates every sign assignment
EXACT_MAX_N = 16


@dataclass(frozen=True)
class PairedTest:
    """Result of a paired test. ``mean_diff`` = mean(a - b); ``p_value`` two-sided."""

    method: str
    n: int
    mean_diff: float
    p_value: float
    statistic: float = math.nan

    def to_json(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def _diffs(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    a_arr = np.asarray(a, dtype=np.float64)
    b_arr = np.asarray(b, dtype=np.float64)
    if a_arr.shape != b_arr.shape or a_arr.ndim != 1:
        raise ValueError(f"paired samples must be 1-d and equal in length, got {a_arr.shape} and {b_arr.shape}")
    return a_arr - b_arr


def randomization_test(
    a: Sequence[float], b: Sequence[float], *, n_resamples: int = 10_000, seed: int = 0
) -> PairedTest:
    """Two-sided paired randomisation test of mean(a - b) = 0.

    Under the null, each query's difference is equally likely to have either sign. The
    p-value is the share of sign assignments whose |mean| is at least the observed one:
    exact when n <= :data:`EXACT_MAX_N`, else estimated from ``n_resamples`` random
    assignments as (hits + 1) / (n_resamples + 1), which never returns 0.
    """
    diffs = _diffs(a, b)
    n = len(diffs)
    if n == 0:
        return PairedTest("randomization", 0, math.nan, math.nan)
    observed = abs(diffs.mean())
    # a relative tolerance so that assignments equal to the observed one count despite rounding
    tol = 1e-12 * max(1.0, float(np.abs(diffs).sum()))
    if n <= EXACT_MAX_N:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        means = np.abs(signs @ diffs) / n
        p = float(np.mean(means >= observed - tol))
        method = "randomization (exact)"
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice((-1.0, 1.0), size=(n_resamples, n))
        means = np.abs(signs @ diffs) / n
        p = float((np.sum(means >= observed - tol) + 1) / (n_resamples + 1))
        method = f"randomization ({n_resamples} samples)"
    return PairedTest(method, n, float(diffs.mean()), min(p, 1.0), statistic=float(diffs.mean()))


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Two-sided paired t-test: t = mean(d) / (sd(d) / sqrt(n)), n - 1 degrees of freedom.

    Identical differences (zero spread) give p = 1 when they are all 0 and p = 0
    otherwise; fewer than two queries give NaN.
    """
    diffs = _diffs(a, b)
    n = len(diffs)
    mean = float(diffs.mean()) if n else math.nan
    if n < 2:
        return PairedTest("paired t-test", n, mean, math.nan)
    sd = float(diffs.std(ddof=1))
    if sd == 0.0:
        return PairedTest("paired t-test", n, mean, 1.0 if mean == 0.0 else 0.0, statistic=math.nan)
    t = mean / (sd / math.sqrt(n))
    p = float(2.0 * stats.t.sf(abs(t), df=n - 1))
    return PairedTest("paired t-test", n, mean, p, statistic=t)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given; NaN stays NaN)."""
    p = np.asarray(p_values, dtype=np.float64)
    valid = np.flatnonzero(~np.isnan(p))
    out = p.copy()
    m = len(valid)
    order = valid[np.argsort(p[valid], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return [float(x) for x in out]


@dataclass(frozen=True)
class PairComparison:
    """Encoder ``a`` against encoder ``b`` on ``metric`` over their shared queries."""

    a: str
    b: str
    metric: str
    n: int
    mean_a: float
    mean_b: float
    randomization: PairedTest
    t_test: PairedTest
    p_holm: float

    def to_json(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "metric": self.metric,
            "n": self.n,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "diff": self.mean_a - self.mean_b,
            "randomization": self.randomization.to_json(),
            "t_test": self.t_test.to_json(),
            "p_holm": None if math.isnan(self.p_holm) else self.p_holm,
        }


def compare_encoders(
    per_query: Mapping[str, Mapping[str, float]], metric: str, *, n_resamples: int = 10_000, seed: int = 0
) -> list[PairComparison]:
    """Every pair of encoders in ``per_query`` (encoder -> query key -> value of ``metric``),
    tested on the queries both answered with a defined value. Holm's adjustment is
    applied to the randomisation p-values of the whole family of pairs."""
    names = list(per_query)
    rows: list[tuple[str, str, np.ndarray, np.ndarray]] = []
    for a, b in itertools.combinations(names, 2):
        shared = [
            q for q in per_query[a] if q in per_query[b] and not (math.isnan(per_query[a][q]) or math.isnan(per_query[b][q]))
        ]
        va = np.array([per_query[a][q] for q in shared], dtype=np.float64)
        vb = np.array([per_query[b][q] for q in shared], dtype=np.float64)
        rows.append((a, b, va, vb))
    tests = [randomization_test(va, vb, n_resamples=n_resamples, seed=seed) for _, _, va, vb in rows]
    adjusted = holm([t.p_value for t in tests])
    out = []
    for (a, b, va, vb), rand, p_adj in zip(rows, tests, adjusted):
        out.append(
            PairComparison(
                a=a,
                b=b,
                metric=metric,
                n=len(va),
                mean_a=float(va.mean()) if len(va) else math.nan,
                mean_b=float(vb.mean()) if len(vb) else math.nan,
                randomization=rand,
                t_test=paired_t_test(va, vb),
                p_holm=p_adj,
            )
        )
    return out


def bootstrap_intervals(
    per_query: Mapping[str, Sequence[float]], *, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap confidence interval of the mean over queries, per encoder.

    ``per_query``: encoder -> (n,) values over the *same* n queries in the same order.
    Every encoder is resampled with the same query indices (drawn from
    ``numpy.random.default_rng(seed)``), so intervals are reproducible and comparable.
    Returns encoder -> (low, high); (NaN, NaN) for no queries.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    lengths = {len(v) for v in per_query.values()}
    if len(lengths) > 1:
        raise ValueError("bootstrap intervals need every encoder's values over the same queries")
    n = lengths.pop() if lengths else 0
    if n == 0:
        return {enc: (math.nan, math.nan) for enc in per_query}
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, size=(n_resamples, n))
    tail = (1.0 - confidence) / 2 * 100
    out: dict[str, tuple[float, float]] = {}
    for enc, values in per_query.items():
        means = np.asarray(values, dtype=np.float64)[indices].mean(axis=1)
        low, high = np.percentile(means, [tail, 100 - tail])
        out[enc] = (float(low), float(high))
    return out
