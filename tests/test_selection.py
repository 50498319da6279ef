"""Model selection: Pareto front, constraints with reasons, the published-rank flag, the
load test's absence said as "not measured", and the report's sections, on hand-made
tables and on a real library of generated images and sounds (baseline encoders)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

import media_factory as mf
from audio_factory import chirp, noise, place, tone, write_audio
from conftest import REPO, SHARED_MODELS
from mediasearch.cli import main as cli_main
from mediasearch.config import Settings
from mediasearch.errors import QueryError
from mediasearch.evaluation import groundtruth as gt
from mediasearch.evaluation import report as rp
from mediasearch.evaluation import selection as sel
from mediasearch.evaluation.runner import EvalOptions, evaluate
from mediasearch.indexing import index_paths
from mediasearch.library import Library
from mediasearch.media import Modality

IMG = "image queries → images and video frames"
AUD = "audio queries → sounds"
SPEECH = "text queries → transcripts"
SPEECH_FILE = REPO / "samples" / "audio" / "speech_meeting.m4a"  # "Our quarterly budget meeting moves to Thursday afternoon."


# -- hand-made tables ----------------------------------------------------------------------


def test_pareto_front_on_a_hand_made_table() -> None:
    points = {
        "slow-good": (0.90, 1.0),
        "twin": (0.90, 1.0),  # the same point: neither dominates the other
        "fast-ok": (0.50, 10.0),
        "dominated": (0.40, 5.0),  # fast-ok is better on both
        "equal-speed-worse": (0.45, 10.0),  # same speed as fast-ok, lower MAP
        "middle": (0.70, 4.0),
        "no-speed": (0.99, None),
        "nan": (math.nan, 3.0),
    }
    front = sel.pareto_front(points)
    assert set(front) == {"slow-good", "twin", "middle", "fast-ok"}
    assert front[-2:] == ["middle", "fast-ok"]  # by throughput ascending
    assert sel.pareto_front({}) == [] and sel.pareto_front({"a": (0.1, 2.0)}) == ["a"]


def _rows() -> dict[str, dict]:
    """Four encoders: each breaks a different constraint except ``fits``."""
    def row(enc, map_, rate, items, rss, curve, **bench):
        r = {"encoder": enc, "MAP": map_, "items_per_s": rate, "items_to_index": items, "index_peak_rss_mb": rss,
             "load": curve, **bench}
        r["index_hours"] = items / rate / 3600
        peaks = [rss] + [c["peak_rss_mb"] for c in curve if c.get("peak_rss_mb")]
        r["peak_memory_mb"] = max(peaks)
        return r

    def point(c, p95, mode="threads", rss=500.0):
        return {"concurrency": c, "mode": mode, "target": "direct", "qps": c * 10.0, "p95_ms": p95, "peak_rss_mb": rss}

    return {
        "slow": row("slow", 0.95, 1.0, 10_800, 800.0, [point(1, 20), point(4, 40)]),  # 3 h to index
        "laggy": row("laggy", 0.90, 50.0, 10_800, 900.0, [point(1, 50), point(2, 120), point(4, 300), point(8, 900)]),
        "hungry": row("hungry", 0.85, 50.0, 10_800, 6 * 1024.0, [point(4, 30)]),
        "fits": row("fits", 0.60, 40.0, 10_800, 700.0, [point(4, 80), point(4, 95, mode="processes")]),
    }


def test_constraints_rule_out_the_right_encoders_with_reasons() -> None:
    rows = _rows()
    c = sel.Constraints(max_index_hours=2, max_latency_ms=200, max_memory_gb=4, concurrency=4)
    rec = sel.recommend(rows, c)
    assert rec["pick"] == "fits" and rec["fits"] == ["fits"]
    assert {e: [v["constraint"] for v in vs] for e, vs in rec["ruled_out"].items()} == {
        "slow": ["max_index_hours"], "laggy": ["max_latency_ms"], "hungry": ["max_memory_gb"],
    }
    slow = rec["ruled_out"]["slow"][0]
    assert slow["value"] == pytest.approx(3.0) and slow["limit"] == 2
    laggy = rec["ruled_out"]["laggy"][0]
    assert laggy["value"] == 300 and laggy["concurrency"] == 4  # not the c=8 point: above the chosen concurrency
    lines = sel.recommendation_text(rec, rows)
    assert lines[0].startswith("pick fits")
    assert any(l.startswith("slow ruled out: index time 3.00 h > 2 h (10800 files at 1.00 files/s)") for l in lines)
    assert any("laggy ruled out: p95 300.0 ms > 200 ms at concurrency 4" in l for l in lines)
    assert any("hungry ruled out: peak memory 6.00 GB > 4 GB" in l for l in lines)
    # the slowest mode at that concurrency counts
    assert sel.p95_under_load(rows["fits"]["load"], 4)["p95_ms"] == 95
    # at concurrency 2 laggy's p95 is 120 ms: it fits and, with the better MAP, is picked
    rec2 = sel.recommend(rows, sel.Constraints(max_index_hours=2, max_latency_ms=200, max_memory_gb=4, concurrency=2))
    assert rec2["pick"] == "laggy"
    assert "fits" in rec2["unmeasured"] and rec2["unmeasured"]["fits"] == ["max_latency_ms"]  # measured only at 4
    # no constraint: the best MAP
    assert sel.recommend(rows, sel.Constraints())["pick"] == "slow"


def test_nothing_fits_names_the_closest_and_what_to_relax() -> None:
    rows = _rows()
    rec = sel.recommend(rows, sel.Constraints(max_index_hours=0.01, max_latency_ms=1))
    assert rec["pick"] is None and rec["fits"] == []
    assert set(rec["ruled_out"]) == set(rows)
    # every encoder breaks both: the closest is the one whose worst excess (value / limit) is smallest
    worst = {e: max(v["value"] / v["limit"] for v in vs) for e, vs in rec["ruled_out"].items()}
    assert rec["closest"]["encoder"] == min(worst, key=worst.get)
    assert sel.recommendation_text(rec, rows)[0].startswith("no encoder fits every constraint; closest: ")


def test_constraints_are_checked() -> None:
    with pytest.raises(QueryError):
        sel.Constraints(max_latency_ms=-1)
    with pytest.raises(QueryError):
        sel.Constraints(concurrency=0)
    c = sel.Constraints(max_memory_gb=2.5, concurrency=8)
    assert sel.Constraints.from_json(c.to_json()) == c


def test_rank_difference_only_among_encoders_on_the_same_benchmark() -> None:
    rows = {
        "resnet50": {"MAP": 0.40, "benchmark_metric": "imagenet-top1", "benchmark_value": 80.858},
        "efficientnet-lite0": {"MAP": 0.60, "benchmark_metric": "imagenet-top1", "benchmark_value": 74.83},
        "siglip-vit-b16": {"MAP": 0.10, "benchmark_metric": "imagenet-zeroshot-top1", "benchmark_value": 76.04},
        "baseline-image": {"MAP": 0.90, "benchmark_metric": "", "benchmark_value": None},
    }
    out = sel.rank_difference(rows, [{"a": "resnet50", "b": "efficientnet-lite0", "p_holm": 0.01}])
    assert out["comparable"] and list(out["metrics"]) == ["imagenet-top1"]
    m = out["metrics"]["imagenet-top1"]
    assert m["differs"] and m["published_order"] == ["resnet50", "efficientnet-lite0"]
    assert m["order_here"] == ["efficientnet-lite0", "resnet50"]
    assert m["reversed"][0]["better_here"] == "efficientnet-lite0" and m["reversed"][0]["significant"]
    assert "but here efficientnet-lite0 has the higher MAP (0.600 vs 0.400, significant)" in sel.published_text(out)[0]
    # error rates: lower is better
    wer = {
        "whisper-tiny.en": {"MAP": 0.7, "benchmark_metric": "wer", "benchmark_value": 5.6, "benchmark_higher_is_better": False},
        "whisper-base.en": {"MAP": 0.5, "benchmark_metric": "wer", "benchmark_value": 4.2, "benchmark_higher_is_better": False},
    }
    w = sel.rank_difference(wer)["metrics"]["wer"]
    assert w["published_order"] == ["whisper-base.en", "whisper-tiny.en"] and w["differs"]
    wer["whisper-base.en"]["MAP"] = 0.9
    assert not sel.rank_difference(wer)["metrics"]["wer"]["differs"]
    # fewer than two on one benchmark: said, not flagged
    lonely = sel.rank_difference({k: rows[k] for k in ("resnet50", "siglip-vit-b16", "baseline-image")})
    assert not lonely["comparable"] and lonely["note"].startswith("fewer than two encoders here carry a published figure")


def _data() -> dict:
    """Evaluation JSON with image, audio and speech groups (what result_to_json gives)."""
    def group(target, modality, encs):
        return {
            "modality": modality, "target": target, "encoders": list(encs), "queries": ["a", "b", "c"],
            "table": {e: {"MAP": v, "NDCG@10": v + 0.05} for e, v in encs.items()},
            "intervals": {e: {"MAP": [v - 0.1, v + 0.1], "NDCG@10": [v - 0.05, v + 0.1]} for e, v in encs.items()},
            "comparisons": {"MAP": []},
        }

    return {
        "options": {"ks": [1, 5, 10]},
        "groups": {
            "all queries": group(None, None, {"baseline-image": 0.5, "efficientnet-lite0": 0.7}),
            IMG: group("images and video frames", "image", {"baseline-image": 0.5, "efficientnet-lite0": 0.7, "resnet50": 0.6}),
            AUD: group("sounds", "audio", {"baseline-audio": 0.8, "fingerprint-audio": 0.6}),
            SPEECH: group("transcripts", "text", {"whisper-tiny.en": 0.7, "whisper-base.en": 0.6}),
        },
    }


def _manifest_ok() -> bool:
    from mediasearch.errors import MediaSearchError
    from mediasearch.modelstore.manifest import load_manifest

    try:
        load_manifest()
    except MediaSearchError:
        return False
    return True


def _facts(encs) -> dict:
    from mediasearch.encoders.registry import REGISTRY

    out = {}
    for i, enc in enumerate(encs):
        spec = REGISTRY[enc]
        out[enc] = {"licence": spec.licence, "hosting": spec.hosting, "benchmark": spec.benchmark,
                    "benchmark_metric": spec.benchmark_metric, "benchmark_value": spec.benchmark_value,
                    "benchmark_higher_is_better": spec.benchmark_higher_is_better, "items_to_index": 1000,
                    "items_per_s": 10.0 * (i + 1), "media_s_per_s": None, "throughput_source": "indexing runs",
                    "index_peak_rss_mb": 400.0 + i, "index_bytes": 123_456 * (i + 1), "weights_bytes": sel.weights_bytes(enc)}
    return out


def _loadtest(encs) -> dict:
    medium = {"whisper-tiny.en": "speech", "whisper-base.en": "speech", "baseline-audio": "audio", "fingerprint-audio": "audio"}
    results = [
        {"encoder": e, "medium": medium.get(e, "visual"), "mode": "threads", "target": "direct", "concurrency": c,
         "queries": 50, "wall_s": 5.0, "qps": 10.0 * c / (i + 1), "p50_ms": 5.0 * c * (i + 1), "p95_ms": 9.0 * c * (i + 1),
         "p99_ms": 12.0 * c * (i + 1), "errors": 0, "error_examples": [], "peak_rss_mb": 600.0 + 100 * i,
         "rss_scope": "process", "cpu_util": 0.8, "gpu_util": None, "gpu_mem_mb": None}
        for i, e in enumerate(encs) for c in (1, 2, 4, 8)
    ]
    return {"version": 1, "created_at": "2026-12-02T00:00:00Z", "duration_s": 5.0, "machine": {"cpu_count": 2},
            "results": results, "skipped": [], "indexing": []}


ENCS = ["baseline-image", "efficientnet-lite0", "resnet50", "baseline-audio", "fingerprint-audio", "whisper-tiny.en", "whisper-base.en"]


def test_report_has_every_section_for_image_audio_and_speech() -> None:
    data = _data()
    data["selection"] = sel.select(data, _facts(ENCS), _loadtest(ENCS), sel.Constraints(max_latency_ms=100, concurrency=4))
    s = data["selection"]
    assert list(s["groups"]) == [IMG, AUD, SPEECH]  # "all queries" mixes media: left out
    assert s["loadtest"]["measured"] and s["loadtest"]["note"] == ""
    img = s["groups"][IMG]
    assert img["medium"] == "visual" and set(img["rows"]) == {"baseline-image", "efficientnet-lite0", "resnet50"}
    r = img["rows"]["efficientnet-lite0"]
    assert r["MAP"] == 0.7 and r["MAP_interval"] == [pytest.approx(0.6), pytest.approx(0.8)] and r["NDCG"] == 0.75
    assert img["rows"]["baseline-image"]["weights_bytes"] == 0
    if _manifest_ok():  # (None when the weights manifest cannot be read: unknown, not 0)
        assert r["weights_bytes"] > 10_000_000
    assert r["benchmark_value"] == pytest.approx(74.83) and "timm" in r["benchmark"]
    assert r["index_hours"] == pytest.approx(1000 / 20.0 / 3600)
    assert r["peak_memory_mb"] == 700.0  # the load test's peak is above indexing's
    # latency: efficientnet (i=1) p95 at c=4 = 72 ms fits 100; resnet50 (i=2) 108 ms does not
    assert "resnet50" in img["recommendation"]["ruled_out"] and img["recommendation"]["pick"] == "efficientnet-lite0"
    assert img["pareto"] == ["efficientnet-lite0", "resnet50"]  # throughputs 20 and 30 files/s; baseline (10, 0.5) dominated
    assert img["published"]["comparable"] and img["published"]["metrics"]["imagenet-top1"]["differs"]  # resnet50 80.9 > 74.8 published
    assert not s["groups"][AUD]["published"]["comparable"]  # weight-free baselines carry no published figure
    assert s["groups"][SPEECH]["published"]["metrics"]["librispeech-test-clean-wer"]["differs"]  # base.en better published
    json.dumps(rp._clean(data), allow_nan=False)

    html = rp._selection_section(data)
    assert "<h2>Model selection</h2>" in html
    for group in (IMG, AUD, SPEECH):
        assert f"<h3>{rp._e(group)} (3 queries)</h3>" in html
    assert html.count("Recommendation.") == 3 and html.count("Published ranking vs this library") == 3
    assert html.count('alt="Pareto plot"') == 3 and html.count('alt="latency under load"') == 3
    assert "resnet50 ruled out: p95 108.0 ms &gt; 100 ms" in html
    assert '<td class="l best">efficientnet-lite0 ◆</td>' in html  # the pick, marked
    assert "ImageNet-1k top-1 74.830" in html and "Apache-2.0" in html and "self-hosted" in html
    assert "<td>not measured</td>" not in html and "Latency under load: not measured" not in html


def test_missing_load_test_says_not_measured_and_invents_nothing() -> None:
    data = _data()
    data["selection"] = sel.select(data, _facts(ENCS), None, sel.Constraints(max_latency_ms=50))
    s = data["selection"]
    assert not s["loadtest"]["measured"] and s["loadtest"]["note"] == "not measured: run mediasearch loadtest"
    for g in s["groups"].values():
        assert all(r["load"] == [] and r["load_peak_rss_mb"] is None for r in g["rows"].values())
        rec = g["recommendation"]
        assert rec["ruled_out"] == {} and set(rec["unmeasured"]) == set(g["rows"])  # nothing ruled out on a guess
    html = rp._selection_section(data)
    assert "Latency under load: not measured: run mediasearch loadtest" in html
    assert html.count("<td>not measured</td>") == 7 and 'alt="latency under load"' not in html
    # a constraint change re-runs only the recommendation
    again = sel.apply_constraints(s, sel.Constraints(max_index_hours=1000 / 15.0 / 3600))
    assert list(again["groups"][IMG]["recommendation"]["ruled_out"]) == ["baseline-image"]  # 10 files/s: too slow
    assert again["groups"][IMG]["rows"] is s["groups"][IMG]["rows"]


# -- a real library --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):
    """Generated pictures and sounds indexed with the weight-free encoders; one image and
    two audio queries judged."""
    root = tmp_path_factory.mktemp("selection")
    media = root / "media"
    pics = [mf.make_photo_like(media / f"p{i}.jpg", seed=i, size=(160, 120)) for i in range(6)]
    sounds = [
        write_audio(media / "tone.wav", place([(0.2, tone(440.0, 1.5))], total_s=2.0)),
        write_audio(media / "chirp.wav", place([(0.1, chirp(300, 3000, 1.8))], total_s=2.0)),
        write_audio(media / "noise.wav", place([(0.0, noise(2.0, amp=0.2))], total_s=2.0)),
    ]
    qdir = root / "queries"
    qdir.mkdir()
    from PIL import Image

    Image.open(pics[2]).resize((120, 90)).save(qdir / "img.jpg", quality=60)
    write_audio(qdir / "tone.wav", place([(0.0, tone(440.0, 1.5))], total_s=1.6))
    write_audio(qdir / "chirp.wav", place([(0.0, chirp(300, 3000, 1.8))], total_s=1.9))
    settings = Settings(library_dir=root / "library", model_dir=root / "models", batch_size=4)
    with Library(settings) as library:
        index_paths(library, [media], encoders=["baseline-image", "baseline-audio", "fingerprint-audio"])
        q = gt.add_query(library.catalog, settings, modality=Modality.IMAGE, path=qdir / "img.jpg", name="img")
        gt.judge_path(library.catalog, q, pics[2], 2)
        gt.judge_path(library.catalog, q, pics[0], 0)
        for name, target in (("tone", sounds[0]), ("chirp", sounds[1])):
            q = gt.add_query(library.catalog, settings, modality=Modality.AUDIO, path=qdir / f"{name}.wav", name=name)
            gt.judge_path(library.catalog, q, target, 1)
    return root, settings


def test_selection_of_a_real_library(real) -> None:
    root, settings = real
    with Library(settings) as library:
        result = evaluate(library, EvalOptions(latency_min_s=0.0, latency_min_repeats=1, latency_max_repeats=1))
        data = rp.result_to_json(result)
        data["selection"] = sel.build_selection(library, data, sel.Constraints(max_index_hours=1e-9))
    s = data["selection"]
    assert set(s["groups"]) == {IMG, AUD}
    img = s["groups"][IMG]["rows"]["baseline-image"]
    assert img["items_to_index"] == 6 and img["items_per_s"] > 0 and img["index_peak_rss_mb"] > 0
    vlog = settings.library_dir / "vectors" / "baseline-image"
    assert img["index_bytes"] == sum(p.stat().st_size for p in vlog.rglob("*") if p.is_file()) > 6 * 1220 * 4
    assert img["weights_bytes"] == 0 and img["hosting"] == "self-hosted"
    aud = s["groups"][AUD]
    assert set(aud["rows"]) == {"baseline-audio", "fingerprint-audio"} and aud["rows"]["baseline-audio"]["items_to_index"] == 3
    assert set(aud["pareto"]) <= set(aud["rows"]) and aud["pareto"]
    # a time limit no encoder meets: every one ruled out for it, and the closest named
    for g in s["groups"].values():
        assert {v[0]["constraint"] for v in g["recommendation"]["ruled_out"].values()} == {"max_index_hours"}
        assert g["recommendation"]["pick"] is None and g["recommendation"]["closest"]
    assert s["loadtest"]["note"] == sel.NOT_MEASURED
    html = rp.render_html(data)
    assert "<h2>Model selection</h2>" in html and html.index("Model selection") < html.index("<h2>Speed</h2>")
    for group in s["groups"]:
        assert f"<h3>{rp._e(group)} (" in html.split("<h2>Model selection</h2>")[1]


def test_cli_eval_includes_selection_and_reads_the_load_test(real, tmp_path: Path, capsys, monkeypatch) -> None:
    root, settings = real
    lib = ["--library", str(settings.library_dir)]
    monkeypatch.setenv("MEDIASEARCH_MODEL_DIR", str(settings.model_dir))
    assert cli_main(lib + ["eval", "-q", "--repeats", "1", "--latency-seconds", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["selection"]["loadtest"]["note"] == sel.NOT_MEASURED

    # a load test in the contract's format: baseline-audio slow under load, fingerprint fast
    lt = _loadtest(["baseline-image", "fingerprint-audio", "baseline-audio"])
    path = settings.library_dir / "evaluation" / "loadtest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lt))
    report = tmp_path / "r.html"
    assert cli_main(lib + ["eval", "-q", "--repeats", "1", "--latency-seconds", "0", "--max-latency-ms", "60",
                           "--concurrency", "2", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "model selection" in out and f"{AUD}: pareto front" in out
    # at concurrency 2: fingerprint-audio (i=1) p95 36 ms, baseline-audio (i=2) 54 ms fit 60; at 4 they would not
    data = json.loads(report.with_suffix(".json").read_text())
    rec = data["selection"]["groups"][AUD]["recommendation"]
    assert rec["ruled_out"] == {} and data["selection"]["constraints"]["concurrency"] == 2
    assert cli_main(lib + ["eval", "-q", "--repeats", "1", "--latency-seconds", "0", "--max-latency-ms", "60", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)["selection"]["groups"][AUD]["recommendation"]
    assert set(rec["ruled_out"]) == {"fingerprint-audio", "baseline-audio"}  # 72 and 108 ms at concurrency 4
    assert "Model selection" in report.read_text() and 'alt="latency under load"' in report.read_text()


@pytest.mark.slow
def test_speech_group_with_real_whisper(tmp_path: Path) -> None:
    """Real Whisper tiny.en on a spoken sentence, a text query over transcripts beside an
    image query: the speech group's row carries the published WER and the real weights' size.
    (Audio queries are left out: Whisper also answers them, and evaluate stops at a query
    without speech.)"""
    if not ((SHARED_MODELS / "whisper" / "tiny.en.pt").is_file() and SPEECH_FILE.is_file()):
        pytest.skip(f"real Whisper tiny.en not found under {SHARED_MODELS}")
    pytest.importorskip("whisper")
    media = tmp_path / "media"
    pic = mf.make_photo_like(media / "p0.jpg", seed=0, size=(160, 120))
    mf.make_photo_like(media / "p1.jpg", seed=1, size=(160, 120))
    shutil.copyfile(SPEECH_FILE, media / SPEECH_FILE.name)
    settings = Settings(library_dir=tmp_path / "library", model_dir=SHARED_MODELS, batch_size=4)
    with Library(settings) as library:
        index_paths(library, [media], encoders=["baseline-image", "whisper-tiny.en"])
        q = gt.add_query(library.catalog, settings, modality=Modality.TEXT, text="budget meeting on Thursday", name="budget")
        gt.judge_path(library.catalog, q, media / SPEECH_FILE.name, 2)
        q = gt.add_query(library.catalog, settings, modality=Modality.IMAGE, path=pic, name="img")
        gt.judge_path(library.catalog, q, pic, 2)  # the example itself is left out: scores 0
        result = evaluate(library, EvalOptions(latency_min_s=0.0, latency_min_repeats=1, latency_max_repeats=1))
        data = rp.result_to_json(result)
        data["selection"] = sel.build_selection(library, data, sel.Constraints(max_memory_gb=1e-6))
    s = data["selection"]
    assert set(s["groups"]) == {IMG, SPEECH}
    w = s["groups"][SPEECH]["rows"]["whisper-tiny.en"]
    assert w["MAP"] == 1.0 and w["benchmark_metric"] == "librispeech-test-clean-wer" and w["benchmark_value"] == 5.6
    assert w["weights_bytes"] > 50_000_000  # tiny.en.pt and all-MiniLM-L6-v2 as installed
    assert w["items_to_index"] == 1 and w["items_per_s"] > 0 and w["index_bytes"] > 0
    assert not s["groups"][SPEECH]["published"]["comparable"]  # one Whisper size: said, not flagged
    rec = s["groups"][SPEECH]["recommendation"]
    assert rec["pick"] is None and rec["ruled_out"]["whisper-tiny.en"][0]["constraint"] == "max_memory_gb"
    html = rp.render_html(data)
    assert f"<h3>{rp._e(SPEECH)} (1 queries)</h3>" in html and "LibriSpeech test-clean WER 5.6%" in html
