"""Several raters: judgements carry who made them, scoring uses their consensus (or one
rater), agreement matches independent implementations (scikit-learn's Cohen's kappa, the
`krippendorff` package, Krippendorff's own worked example), and old catalogs keep their
judgements."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import media_factory as mf
from mediasearch.catalog import MIGRATIONS, Catalog
from mediasearch.evaluation import formats as f
from mediasearch.evaluation.agreement import agreement, cohen_kappa, krippendorff_alpha, library_agreement
from mediasearch.evaluation.groundtruth import asset_qrels, consensus


# -- the measures ------------------------------------------------------------------------

# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), section C: 4 observers,
# 12 units, values 1-5, missing as nan; the paper gives alpha 0.743 (nominal),
# 0.815 (ordinal), 0.849 (interval).
_PAPER = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
        [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
    ]
)


def _units(data: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in data[:, u] if not np.isnan(v)] for u in range(data.shape[1])]


def test_alpha_reproduces_krippendorffs_worked_example() -> None:
    units = _units(_PAPER)
    assert krippendorff_alpha(units, level="nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(units, level="ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(units, level="interval") == pytest.approx(0.849, abs=5e-4)


@pytest.mark.parametrize("seed", range(6))
def test_alpha_and_kappa_match_independent_implementations(seed: int) -> None:
    krippendorff = pytest.importorskip("krippendorff")
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    raters, items = int(rng.integers(2, 5)), int(rng.integers(8, 40))
    truth = rng.integers(0, 3, items)
    data = np.where(rng.random((raters, items)) < 0.7, truth, rng.integers(0, 3, (raters, items))).astype(float)
    data[rng.random((raters, items)) < 0.2] = np.nan  # some hits not graded by everyone
    for level in ("nominal", "ordinal", "interval"):
        ours = krippendorff_alpha(_units(data), level=level)
        theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert ours == pytest.approx(theirs, abs=1e-9), level
    a, b = truth, np.where(rng.random(items) < 0.6, truth, rng.integers(0, 3, items))
    assert cohen_kappa(list(a), list(b)) == pytest.approx(sklearn_metrics.cohen_kappa_score(a, b), abs=1e-12)


def test_undefined_agreement_is_none_not_a_number() -> None:
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) is None  # chance agreement is already 1
    assert cohen_kappa([], []) is None
    assert krippendorff_alpha([[1.0, 1.0], [1.0, 1.0]]) is None  # no variation
    assert krippendorff_alpha([[1.0], [2.0]]) is None  # no unit graded twice
    with pytest.raises(ValueError):
        cohen_kappa([1], [1, 2])


def test_agreement_over_judged_hits() -> None:
    grades = {
        (1, "h1", -1.0): {"ann": 2, "bob": 1},  # both relevant
        (1, "h2", -1.0): {"ann": 0, "bob": 1},  # disagree
        (1, "h3", -1.0): {"ann": 0, "bob": 0},
        (1, "h4", -1.0): {"ann": 1, "bob": -1},  # bob's -1 is unjudged: not shared
        (2, "h1", -1.0): {"cy": 1},
    }
    ag = agreement(grades, rel_level=1)
    assert ag.raters == ["ann", "bob", "cy"] and ag.judged == {"ann": 4, "bob": 3, "cy": 1}
    assert ag.multiply_judged == 3
    (pair,) = ag.pairs  # cy shares no hit with anyone
    assert pair.raters == ("ann", "bob") and (pair.shared, pair.agreed) == (3, 2)
    assert pair.kappa == pytest.approx(cohen_kappa([True, False, False], [True, True, False]))
    assert ag.alpha_relevance == pytest.approx(krippendorff_alpha([[1, 1], [0, 1], [0, 0]]))


def test_consensus_is_the_lower_median() -> None:
    assert consensus([2]) == 2
    assert consensus([0, 1]) == 0  # a split leaves the hit not relevant
    assert consensus([1, 2]) == 1
    assert consensus([0, 2, 2]) == 2
    assert consensus([2, 0, 1, 1]) == 1


# -- the catalog ------------------------------------------------------------------------


def test_v4_catalog_keeps_its_judgements_as_unnamed_rater(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    for version, script in enumerate(MIGRATIONS[:4], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
    conn.execute("INSERT INTO queries(id, name, modality, created_at) VALUES(1, 'q', 'text', 0)")
    conn.execute("INSERT INTO judgements VALUES(1, 'h1', -1, '/a.jpg', 2, 5.0)")
    conn.commit()
    conn.close()
    with Catalog(path) as cat:
        (row,) = cat.judgement_rows()
        assert (row["content_hash"], row["grade"], row["rater"], row["updated_at"]) == ("h1", 2, "", 5.0)
        cat.upsert_judgements([(1, "h1", -1.0, "", 0, "ann")])  # a second rater adds, replaces nothing
        assert sorted(cat.judgement_grades(1)) == [("h1", -1.0, 0, "ann"), ("h1", -1.0, 2, "")]
        assert cat.raters() == ["", "ann"]
        # ann's grade supersedes the unnamed one of the same hit, in scoring and in agreement
        assert asset_qrels(cat, 1) == {"h1": 0}
        assert library_agreement(cat).multiply_judged == 0
        assert cat.delete_judgement(1, "h1", -1.0, rater="ann")
        assert cat.judgement_grades(1) == [("h1", -1.0, 2, "")]
        assert asset_qrels(cat, 1) == {"h1": 2}


# -- end to end through the command line ------------------------------------------------------


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=300
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def test_two_raters_through_the_cli(tmp_path: Path) -> None:
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}
    media = tmp_path / "media"
    pictures = [mf.make_image(media / f"p{i}.jpg", seed=i) for i in range(6)]
    example = tmp_path / "example.jpg"
    Image.open(pictures[1]).resize((160, 120)).save(example, quality=60)
    _run(["index", str(media), "--encoders", "baseline-image", "-q"], env)
    _run(["query", "add", "--image", str(example), "--name", "q1"], env)

    # ann (from the environment) and bob (--rater) grade the same files; they split on p2 and p3
    ann = {**env, "MEDIASEARCH_RATER": "ann"}
    _run(["judge", "q1", str(pictures[1]), str(pictures[2]), "--grade", "2"], ann)
    _run(["judge", "q1", str(pictures[3]), str(pictures[4]), "--grade", "0"], ann)
    _run(["judge", "q1", str(pictures[1]), str(pictures[3]), "--grade", "1", "--rater", "bob"], env)
    _run(["judge", "q1", str(pictures[2]), str(pictures[4]), "--grade", "0", "--rater", "bob"], env)
    shown = _run(["judge", "q1", str(pictures[5]), "--grade", "0", "--rater", "bob"], env).stdout
    assert "(rater bob)" in shown

    csv_rows = f.read_judgements_csv(iter(_run(["qrels", "export", "--format", "csv"], env).stdout.splitlines()))
    assert sorted((r.rater, r.grade) for r in csv_rows if r.path == str(pictures[1])) == [("ann", 2), ("bob", 1)]
    trec = f.read_qrels(iter(_run(["qrels", "export"], env).stdout.splitlines()))
    merged = {r.doc: r.grade for r in trec}
    assert len(merged) == 5  # one row per judged file: the lower median of its grades
    by_path = {r.path: r.doc for r in csv_rows}
    assert merged[by_path[str(pictures[1])]] == 1 and merged[by_path[str(pictures[2])]] == 0
    assert merged[by_path[str(pictures[3])]] == 0 and merged[by_path[str(pictures[5])]] == 0

    base = ["eval", "--k", "1,3", "--repeats", "1", "--latency-seconds", "0", "--json", "-q"]
    data = json.loads(_run(base, env).stdout)
    ag = data["agreement"]
    assert ag["raters"] == ["ann", "bob"] and ag["multiply_judged"] == 4
    # relevance (grade >= 1) on p1..p4: ann T T F F, bob T F T F
    expected = cohen_kappa([True, True, False, False], [True, False, True, False])
    assert ag["pairs"][0]["kappa"] == pytest.approx(expected) and ag["pairs"][0]["agreed"] == 2
    assert data["options"]["rater"] is None and "lower median" in data["options"]["judgements"]
    consensus_rel = next(q for q in data["queries"] if q["name"] == "q1")["relevant"]
    only_ann = json.loads(_run([*base, "--rater", "ann"], env).stdout)
    assert next(q for q in only_ann["queries"] if q["name"] == "q1")["relevant"] == 2 and consensus_rel == 1
    assert only_ann["options"]["rater"] == "ann"
    text = _run(["eval", "--k", "1", "--repeats", "1", "--latency-seconds", "0", "-q"], env).stdout
    assert "Krippendorff's alpha" in text and "ann/bob kappa" in text

    missing = subprocess.run(
        [sys.executable, "-m", "mediasearch", *base, "--rater", "nobody"],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=300,
    )
    assert missing.returncode != 0 and "no judgements by rater 'nobody'" in missing.stderr
    assert "Traceback" not in missing.stderr

    pooled = json.loads(_run(["pool", "q1", "--depth", "4", "--json"], env).stdout)
    assert all("disagreement" in it for it in pooled["items"])

