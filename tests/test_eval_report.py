"""Reports from an evaluation result: JSON with every figure, CSV table, self-contained HTML."""

from __future__ import annotations

import csv
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from mediasearch.evaluation import report as rp
from mediasearch.evaluation.groundtruth import SavedQuery
from mediasearch.evaluation.runner import (
    ALL,
    TARGET_SPEECH,
    TARGET_VISUAL,
    EvalOptions,
    EvalResult,
    QueryInfo,
    Ranking,
    comparisons,
)
from mediasearch.evaluation import metrics as m
from mediasearch.media import Modality


TEXT_IMG = "text queries → images and video frames"
IMG_IMG = "image queries → images and video frames"
TEXT_SPEECH = "text queries → transcripts"


def _query(i: int, modality: Modality = Modality.TEXT) -> SavedQuery:
    return SavedQuery(i, f"q{i}", modality, f"text {i}", None, None, None, None, 0.0)


def _result(tmp_path: Path) -> EvalResult:
    """Three encoders on 6 text queries over images and 2 image queries over audio-less videos."""
    rng = np.random.default_rng(0)
    docs = [f"h{i:03d}" for i in range(40)]
    assets = {d: {"path": str(tmp_path / f"{d}.jpg"), "kind": "image"} for d in docs}
    infos = []
    for i in range(8):
        qrels = {docs[(i * 5 + j) % 40]: int(rng.choice([1, 2])) for j in range(3)}
        qrels[docs[(i * 5 + 3) % 40]] = 0
        infos.append(QueryInfo(_query(i, Modality.TEXT if i < 6 else Modality.IMAGE), qrels, ["good", "bad", "mid"]))
    infos.append(QueryInfo(_query(99), {}, ["good", "bad", "mid"]))  # nothing judged
    result = EvalResult(options=EvalOptions(ks=(1, 5, 10), depth=20), queries=infos, assets=assets, library=str(tmp_path))
    for enc, quality in (("good", 0.9), ("mid", 0.5), ("bad", 0.0)):
        result.rankings[enc] = {}
        for info in infos:
            relevant = [d for d, g in info.qrels.items() if g >= 1]
            others = [d for d in docs if d not in relevant]
            rng.shuffle(others)
            ranking = others[:20]
            for d in relevant:
                if rng.random() < quality:
                    ranking.insert(int(rng.integers(0, 3)), d)
            ranking = ranking[:20]
            result.rankings[enc][info.query.name] = Ranking(ranking, list(np.linspace(1, 0, len(ranking))))
        result.per_query[enc] = {
            info.query.name: m.evaluate_ranking(
                result.rankings[enc][info.query.name].docs, info.qrels, (1, 5, 10), scores=result.rankings[enc][info.query.name].scores
            )
            for info in infos
            if info.evaluable
        }
        result.latency_ms[enc] = rng.gamma(5.0, 2.0, size=(4, len(infos)))
        result.targets[enc] = TARGET_VISUAL
    result.throughput = {
        "good": {"runs": 1, "items": 40, "wall_s": 8.0, "items_per_s": 5.0, "media_s": 0.0, "media_s_per_s": None,
                 "last_run": {"items": 40, "wall_s": 8.0, "items_per_s": 5.0, "threads": 2, "machine": "x86_64, 2 cores"}}
    }
    result.failures = {"broken": "weights missing"}
    result.machine = {"processor": "test cpu", "cpu_count": 2, "faiss_threads": 2}
    result.warnings = ["The machine was busy"]
    return result


def test_json_has_every_figure(tmp_path: Path) -> None:
    result = _result(tmp_path)
    data = rp.result_to_json(result)
    json.dumps(data, allow_nan=False)  # strictly valid JSON
    assert set(data["encoders"]) == {"good", "mid", "bad"}
    assert list(data["groups"]) == [ALL, TEXT_IMG, IMG_IMG]
    g = data["groups"][TEXT_IMG]
    assert len(g["queries"]) == 6
    assert g["best"]["MAP"] == ["good"]
    assert g["table"]["good"]["MAP"] == pytest.approx(np.mean([result.per_query["good"][f"q{i}"]["MAP"] for i in range(6)]))
    assert len(g["pr_curve"]["good"]) == 11
    pairs = g["comparisons"]["MAP"]
    assert {frozenset((p["a"], p["b"])) for p in pairs} == {frozenset(x) for x in (("good", "bad"), ("good", "mid"), ("bad", "mid"))}
    assert all(0 <= p["randomization"]["p_value"] <= 1 for p in pairs)
    assert "judged@1" not in g["comparisons"]
    q99 = next(q for q in data["queries"] if q["name"] == "q99")
    assert not q99["evaluable"] and q99["misses"] == {}
    per_query = np.median(result.latency_ms["good"], axis=0)  # each query's median over the 4 passes
    lat = data["latency"]["good"]
    assert lat["p50_ms"] == pytest.approx(float(np.percentile(per_query, 50)))
    assert lat["p99_ms"] == pytest.approx(float(np.percentile(per_query, 99)))
    assert lat["raw_p99_ms"] == pytest.approx(float(np.percentile(result.latency_ms["good"], 99)))
    assert (lat["samples"], lat["passes"]) == (4 * 9, 4)
    assert lat["qps"] == pytest.approx(1000 / per_query.mean())
    assert any("not relevant" in n for n in data["notes"])
    # misses: relevant docs not in the top 10
    q0 = next(q for q in data["queries"] if q["name"] == "q0")
    top10 = set(result.rankings["bad"]["q0"].docs[:10])
    expected = {d for d, g in result.queries[0].qrels.items() if g >= 1 and d not in top10}
    assert {x["content_hash"] for x in q0["misses"]["bad"]} == expected


def test_best_per_metric_marks_ties_and_skips_nan() -> None:
    table = {"a": {"MAP": 0.5, "P@1": math.nan}, "b": {"MAP": 0.5, "P@1": math.nan}, "c": {"MAP": 0.1, "P@1": math.nan}}
    assert rp.best_per_metric(table, ["MAP", "P@1"]) == {"MAP": ["a", "b"], "P@1": []}


def test_csv_table(tmp_path: Path) -> None:
    data = rp.result_to_json(_result(tmp_path))
    rp.write_csv(data, tmp_path / "t.csv")
    with open(tmp_path / "t.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * 3  # 3 groups x 3 encoders
    row = next(r for r in rows if r["group"] == TEXT_IMG and r["encoder"] == "good")
    assert float(row["MAP"]) == pytest.approx(data["groups"][TEXT_IMG]["table"]["good"]["MAP"], abs=1e-6)
    assert set(data["metrics"]) <= set(rows[0])


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        attrs_d = dict(attrs)
        if tag == "img":
            self.images.append(attrs_d.get("src", ""))
        if tag in ("link", "script") or (tag == "a" and attrs_d.get("href", "").startswith("http")):
            self.links.append(tag)


def test_html_is_self_contained_and_names_every_encoder(tmp_path: Path) -> None:
    from PIL import Image

    result = _result(tmp_path)
    for d, a in result.assets.items():  # thumbnails for the misses
        Image.new("RGB", (64, 48), (int(d[1:]) * 6 % 255, 80, 120)).save(a["path"])
    data = rp.write_reports(result, html_path=tmp_path / "r.html", json_path=tmp_path / "r.json", csv_path=tmp_path / "r.csv")
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(text)
    assert parser.links == []  # nothing fetched from elsewhere
    assert parser.images and all(src.startswith("data:image/") for src in parser.images)
    assert sum(src.startswith("data:image/png") for src in parser.images) >= 2 * 3 + 1  # PR + bars per group, latency
    assert sum(src.startswith("data:image/jpeg") for src in parser.images) >= 1  # miss thumbnails
    for enc in ("good", "mid", "bad", "broken"):
        assert enc in text
    assert "count as not relevant" in text and "The machine was busy" in text
    assert "★" in text and "p (Holm)" in text and "queries/s" in text
    assert "95% interval" in text and "best score threshold" in text
    assert re.search(r"q99", text)
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(json.dumps(data))


def test_comparisons_only_within_group(tmp_path: Path) -> None:
    result = _result(tmp_path)
    pairs = comparisons(result, IMG_IMG)["MAP"]
    assert all(p["n"] == 2 for p in pairs)


def test_thumbnails_of_images_and_videos_only(tmp_path: Path) -> None:
    import base64
    import io

    from PIL import Image

    import media_factory as mf

    video = mf.make_video(tmp_path / "clip.mp4", duration_s=1.0, fps=5, seed=1)
    image = mf.make_image(tmp_path / "p.png", seed=2)
    for path, kind in ((video, "video"), (image, "image")):
        b64 = rp.thumbnail(path, kind)
        assert b64 is not None
        with Image.open(io.BytesIO(base64.b64decode(b64))) as thumb:
            assert thumb.format == "JPEG" and max(thumb.size) <= rp.THUMB_PX
    assert rp.thumbnail(image, "audio") is None
    assert rp.thumbnail(tmp_path / "missing.jpg", "image") is None


def _with_speech_encoder(result: EvalResult) -> EvalResult:
    """Add a transcript encoder that answers the text queries only, and make ``mid`` miss q5."""
    by_name = {info.query.name: info for info in result.queries}
    talk = {}
    for info in result.queries:
        if info.query.modality is Modality.TEXT:
            info.encoders.append("talk")
            docs = sorted(info.qrels)[:2]
            talk[info.query.name] = Ranking(docs, [1.0, 0.5][: len(docs)])
    result.rankings["talk"] = talk
    result.per_query["talk"] = {
        q: m.evaluate_ranking(r.docs, by_name[q].qrels, (1, 5, 10), scores=r.scores)
        for q, r in talk.items()
        if by_name[q].evaluable
    }
    result.targets["talk"] = TARGET_SPEECH
    del result.per_query["mid"]["q5"]
    return result


def test_groups_per_media_type_over_shared_queries(tmp_path: Path) -> None:
    result = _with_speech_encoder(_result(tmp_path))
    groups = result.groups()
    # "all" only over the encoders that answered every query (not mid, which missed q5, nor talk)
    assert list(groups) == [ALL, TEXT_IMG, TEXT_SPEECH, IMG_IMG]
    assert groups[ALL].encoders == ["good", "bad"] and len(groups[ALL].queries) == 8
    assert groups[TEXT_IMG].encoders == ["good", "mid", "bad"]
    assert groups[TEXT_IMG].query_names == [f"q{i}" for i in range(5)] and groups[TEXT_IMG].unshared == ["q5"]
    assert groups[TEXT_SPEECH].encoders == ["talk"] and len(groups[TEXT_SPEECH].queries) == 6
    data = rp.result_to_json(result)
    for g in data["groups"].values():
        for pairs in g["comparisons"].values():
            assert all(p["n"] == len(g["queries"]) and p["diff"] is not None for p in pairs)
    q0 = next(q for q in data["queries"] if q["name"] == "q0")
    assert q0["groups"] == [ALL, TEXT_IMG, TEXT_SPEECH]


def test_all_view_only_over_encoders_that_answered_everything(tmp_path: Path) -> None:
    result = _result(tmp_path)
    result.rankings["talk"] = {}
    result.per_query["talk"] = {"q0": result.per_query["good"]["q0"]}
    result.targets["talk"] = TARGET_SPEECH
    groups = result.groups()
    assert groups[ALL].encoders == ["good", "mid", "bad"] and len(groups[ALL].queries) == 8
    only_text = {name: g for name, g in groups.items() if g.modality is Modality.TEXT}
    assert list(only_text) == [TEXT_IMG, TEXT_SPEECH] and only_text[TEXT_SPEECH].encoders == ["talk"]
    assert len(only_text[TEXT_SPEECH].queries) == 1  # talk answered q0 only


def test_no_all_view_when_no_two_encoders_answered_everything(tmp_path: Path) -> None:
    result = _with_speech_encoder(_result(tmp_path))
    del result.per_query["bad"]["q6"]
    assert ALL not in result.groups()


def test_cli_summary_with_image_and_text_queries_of_disjoint_encoders(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Regression: encoders that share no queries crashed the summary (a None difference)."""
    from mediasearch.cli_eval import _print_eval_summary

    result = _with_speech_encoder(_result(tmp_path))
    data = rp.result_to_json(result)
    assert data["groups"][ALL]["encoders"] == ["good", "bad"]
    # what the old "all queries" table held: a pair without shared queries, difference null
    data["groups"]["x"] = {**data["groups"][TEXT_SPEECH], "comparisons": {"MAP": [
        {"a": "talk", "b": "good", "diff": None, "p_holm": None, "n": 0}
    ]}}
    _print_eval_summary(data)
    out = capsys.readouterr().out
    assert TEXT_SPEECH in out and TEXT_IMG in out and "MAP talk - good = - over 0 queries" in out
    assert "MAP interval" in out and "left out (not answered by every encoder here): q5" in out


def test_bootstrap_intervals_reproducible_and_cover_the_mean(tmp_path: Path) -> None:
    result = _result(tmp_path)
    first = result.intervals(TEXT_IMG)
    assert first == result.intervals(TEXT_IMG)  # seeded
    table = result.group_table(TEXT_IMG)
    for enc, per in first.items():
        assert set(per) == {"MAP", "MRR", "NDCG@10", "P@10", "R@10", "F1@10", "success@10"}
        low, high = per["MAP"]
        assert low <= table[enc]["MAP"] <= high
    other = EvalResult(options=EvalOptions(ks=(1, 5, 10), depth=20, seed=5), queries=result.queries, assets=result.assets)
    other.rankings, other.per_query, other.targets = result.rankings, result.per_query, result.targets
    assert other.intervals(TEXT_IMG) != first  # another seed, other resamples
