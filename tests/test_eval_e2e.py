"""Evaluation end to end on generated media: real EfficientNet-Lite0 beats the weight-free
baseline on a near-duplicate task; judgements survive re-index, moves and rebuilds; the CLI
pools, judges, exports and reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

import media_factory as mf
from mediasearch.config import Settings
from mediasearch.encoders import registry
from mediasearch.evaluation import formats as f
from mediasearch.evaluation import groundtruth as gt
from mediasearch.evaluation.report import write_reports
from mediasearch.evaluation.runner import EvalOptions, evaluate, pool_for_query
from mediasearch.indexing import index_paths
from mediasearch.library import Library
from mediasearch.media import Modality

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
WEIGHTS = SHARED_MODELS / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"
ORIGINALS = 12
DISTRACTORS = 16
FAST = dict(latency_min_s=0.0, latency_min_repeats=1, latency_max_repeats=1)


def make_task(root: Path) -> tuple[Path, list[Path], list[Path]]:
    """A media folder (originals, a resized copy of each, distractors) and one edited query
    per original, outside the folder. Returns (folder, originals, queries)."""
    media = root / "media"
    originals = [mf.make_photo_like(media / f"scene{i:02d}.jpg", seed=i, size=(320, 240)) for i in range(ORIGINALS)]
    for i, path in enumerate(originals):  # a second, less exact copy: relevant, grade 1
        Image.open(path).resize((240, 180)).save(media / f"scene{i:02d}-small.jpg", quality=70)
    for j in range(DISTRACTORS):
        mf.make_photo_like(media / f"other{j:02d}.jpg", seed=100 + j, size=(320, 240))
    queries = []
    for i, path in enumerate(originals):
        query = root / "queries" / f"edit{i:02d}.jpg"
        query.parent.mkdir(parents=True, exist_ok=True)
        mf.near_duplicate(Image.open(path).convert("RGB")).save(query, quality=85)
        queries.append(query)
    return media, originals, queries


def judge_task(library: Library, settings: Settings, media: Path, queries: list[Path]) -> None:
    for i, query_file in enumerate(queries):
        q = gt.add_query(library.catalog, settings, modality=Modality.IMAGE, path=query_file)
        gt.judge_path(library.catalog, q, media / f"scene{i:02d}.jpg", 2)
        gt.judge_path(library.catalog, q, media / f"scene{i:02d}-small.jpg", 1)
        gt.judge_path(library.catalog, q, media / f"other{i:02d}.jpg", 0)


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory):
    """A library indexed with EfficientNet-Lite0 (real weights) and the baseline, judged."""
    if not WEIGHTS.is_file():
        pytest.skip(f"real EfficientNet-Lite0 weights not found at {WEIGHTS}")
    pytest.importorskip("timm")
    root = tmp_path_factory.mktemp("eval-e2e")
    media, originals, queries = make_task(root)
    settings = Settings(library_dir=root / "library", model_dir=SHARED_MODELS, batch_size=8)
    registry.unload_all()
    with Library(settings) as library:
        index_paths(library, [media], encoders=["baseline-image", "efficientnet-lite0"])
        judge_task(library, settings, media, queries)
    yield root, settings, media, queries
    registry.unload_all()


@pytest.mark.slow
def test_learned_encoder_wins_near_duplicates_and_report_names_both(task, tmp_path: Path) -> None:
    root, settings, media, queries = task
    with Library(settings) as library:
        result = evaluate(library, EvalOptions(ks=(1, 5, 10), depth=30, latency_min_s=0.0, latency_min_repeats=2))
    assert set(result.encoders) == {"baseline-image", "efficientnet-lite0"}
    assert not result.failures
    table = result.group_table("image queries → images and video frames")
    learned, baseline = table["efficientnet-lite0"]["MAP"], table["baseline-image"]["MAP"]
    assert learned > baseline + 0.2, (learned, baseline)
    assert learned > 0.7
    assert 0.5 <= table["efficientnet-lite0"]["judged@1"] <= 1.0  # most top hits are judged here
    assert all(result.latency_ms[e].shape == (2, ORIGINALS) for e in result.encoders)
    assert result.throughput["efficientnet-lite0"]["items"] == ORIGINALS * 2 + DISTRACTORS

    data = write_reports(result, html_path=tmp_path / "r.html", json_path=tmp_path / "r.json", csv_path=tmp_path / "r.csv")
    (pair,) = data["groups"]["image queries → images and video frames"]["comparisons"]["MAP"]
    assert pair["n"] == ORIGINALS
    assert pair["p_holm"] < 0.05 and pair["t_test"]["p_value"] < 0.05  # a real difference, not chance
    # the baseline misses originals the learned encoder finds; the report lists them
    q0 = data["queries"][0]
    assert q0["misses"]["baseline-image"] or q0["misses"]["efficientnet-lite0"] == []
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    parser = HTMLParser()
    parser.feed(text)  # parses as HTML
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for encoder in ("baseline-image", "efficientnet-lite0"):
        assert encoder in text
    assert "src=\"data:image/jpeg;base64," in text  # thumbnails of the query and misses
    assert "http://" not in text and "https://" not in text
    assert json.loads((tmp_path / "r.json").read_text())["encoders"] == data["encoders"]


@pytest.mark.slow
def test_pool_takes_every_encoders_top_results(task) -> None:
    root, settings, media, queries = task
    with Library(settings) as library:
        query = gt.list_queries(library.catalog, settings)[0]
        items, encoders = pool_for_query(library, query, depth=3)
    assert encoders == ["efficientnet-lite0", "baseline-image"]
    assert 3 <= len(items) <= 6
    judged = [it.judged for it in items]
    assert judged == sorted(judged)  # unjudged first
    assert all(it.best_rank <= 3 for it in items)
    assert {e for it in items for e in it.ranks} == set(encoders)
    # the query's own file is not in the library, so nothing is left out, and paths are current
    assert all(Path(it.path).parent == media for it in items)


def test_judgements_survive_reindex_move_and_rebuild(tmp_path: Path) -> None:
    media = tmp_path / "media"
    pictures = [mf.make_image(media / f"p{i}.jpg", seed=i) for i in range(6)]
    query_file = tmp_path / "query.jpg"
    Image.open(pictures[2]).resize((200, 150)).save(query_file, quality=60)
    settings = Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models")
    enc = ["baseline-image"]

    def ap() -> float:
        with Library(settings) as library:
            result = evaluate(library, EvalOptions(ks=(1, 3), depth=6, **FAST))
        return result.per_query["baseline-image"]["query"]["MAP"]

    with Library(settings) as library:
        index_paths(library, [media], encoders=enc)
        q = gt.add_query(library.catalog, settings, modality=Modality.IMAGE, path=query_file)
        gt.judge_path(library.catalog, q, pictures[2], 2)
        gt.judge_path(library.catalog, q, pictures[4], 1)
        before = gt.asset_qrels(library.catalog, q.id)
    baseline_ap = ap()
    assert baseline_ap > 0.5

    with Library(settings) as library:  # re-index, nothing changed
        index_paths(library, [media], encoders=enc)
        assert gt.asset_qrels(library.catalog, q.id) == before
    assert ap() == baseline_ap

    moved = media / "sub" / "renamed.jpg"  # a move: same bytes, new path
    moved.parent.mkdir()
    shutil.move(pictures[2], moved)
    with Library(settings) as library:
        report = index_paths(library, [media], encoders=enc)
        assert report.moved == 1
        assert gt.asset_qrels(library.catalog, q.id) == before
        assert {r.path for r in gt.export_judgements(library.catalog)} == {str(moved), str(pictures[4])}
    assert ap() == baseline_ap

    # a rebuild: stored vectors, index files and file records gone
    shutil.rmtree(settings.library_dir / "vectors")
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    with Library(settings) as library:
        ids = [a.id for a in library.catalog.assets()]
        with library.catalog.transaction():
            library.catalog.delete_assets(ids)
        index_paths(library, [media], encoders=enc)
        assert gt.asset_qrels(library.catalog, q.id) == before
        qrels = gt.export_judgements(library.catalog)
    assert ap() == baseline_ap

    # a new library from scratch: the exported qrels bring the judgements back
    other = settings.with_(library_dir=tmp_path / "other")
    with Library(other) as library:
        index_paths(library, [media], encoders=enc)
        gt.add_query(library.catalog, other, modality=Modality.IMAGE, path=query_file)
        report = gt.import_judgements(library.catalog, other, qrels)
        assert report.imported == 2
        result = evaluate(library, EvalOptions(ks=(1, 3), depth=6, **FAST))
    assert result.per_query["baseline-image"]["query"]["MAP"] == baseline_ap


def test_query_example_in_the_library_is_left_out(tmp_path: Path) -> None:
    media = tmp_path / "media"
    pictures = [mf.make_image(media / f"p{i}.jpg", seed=i) for i in range(4)]
    settings = Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models")
    with Library(settings) as library:
        index_paths(library, [media], encoders=["baseline-image"])
        q = gt.add_query(library.catalog, settings, modality=Modality.IMAGE, path=pictures[0])
        gt.judge_path(library.catalog, q, pictures[1], 1)
        result = evaluate(library, EvalOptions(ks=(1,), depth=4, **FAST))
    ranking = result.rankings["baseline-image"][q.name].docs
    with Library(settings) as library:
        library_hash = library.catalog.asset_by_path(pictures[0]).content_hash
    assert library_hash == q.file_hash and library_hash not in ranking and len(ranking) == 3


# -- the command line ------------------------------------------------------------------


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=300
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def test_cli_query_judge_pool_qrels_eval(tmp_path: Path) -> None:
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}
    media = tmp_path / "media"
    pictures = [mf.make_image(media / f"p{i}.jpg", seed=i) for i in range(6)]
    query_file = tmp_path / "example.jpg"
    Image.open(pictures[1]).resize((160, 120)).save(query_file, quality=60)
    run(["index", str(media), "--encoders", "baseline-image", "-q"], env)

    added = json.loads(run(["query", "add", "--image", str(query_file), "--name", "q1", "--json"], env).stdout)
    assert added["name"] == "q1" and added["modality"] == "image"
    run(["query", "add", "--text", "a sunset"], env)
    listed = json.loads(run(["query", "list", "--json"], env).stdout)
    assert [q["name"] for q in listed] == ["q1", "a-sunset"]

    pooled = json.loads(run(["pool", "q1", "--depth", "4", "--json"], env).stdout)
    assert pooled["encoders"] == ["baseline-image"] and len(pooled["items"]) == 4
    assert pooled["items"][0]["path"] == str(pictures[1]) and pooled["items"][0]["grade"] is None
    run(["judge", "q1", str(pictures[1]), "--grade", "2"], env)
    run(["judge", "q1", str(pictures[3]), str(pictures[5]), "--grade", "0"], env)
    pooled = json.loads(run(["pool", "q1", "--depth", "4", "--json"], env).stdout)
    grades = [it["grade"] for it in pooled["items"]]
    assert grades[-1] is not None and grades.index(2) > 0  # judged items sink to the end

    qrels = run(["qrels", "export"], env).stdout
    rows = f.read_qrels(iter(qrels.splitlines()))
    assert sorted(r.grade for r in rows) == [0, 0, 2] and {r.query for r in rows} == {"q1"}
    (tmp_path / "j.csv").write_text(f"query,path,grade\nq1,{pictures[2]},1\n")
    imported = json.loads(run(["qrels", "import", str(tmp_path / "j.csv"), "--json"], env).stdout)
    assert imported["imported"] == 1

    report = tmp_path / "out" / "report.html"
    report.parent.mkdir()
    out = run(
        ["eval", "--k", "1,3", "--repeats", "2", "--latency-seconds", "0", "--report", str(report),
         "--run", str(tmp_path / "run.txt"), "--json", "-q"],
        env,
    )
    data = json.loads(out.stdout)
    assert data["encoders"] == ["baseline-image"]
    assert [q["evaluable"] for q in data["queries"]] == [True, False]  # the text query has no judgements
    row = data["per_query"]["baseline-image"]["q1"]
    assert row["P@1"] == 1.0 and row["judged@3"] > 0
    assert data["latency"]["baseline-image"]["samples"] == 2
    assert report.is_file() and report.with_suffix(".json").is_file() and report.with_suffix(".csv").is_file()
    run_rows = f.read_run(open(tmp_path / "run.txt", encoding="utf-8"))
    assert run_rows[0].query == "q1" and run_rows[0].rank == 1 and run_rows[0].tag == "baseline-image"
    assert [r.doc for r in run_rows][:3] == data["queries"][0]["top"]["baseline-image"][:3]

    human = run(["eval", "--k", "1,3", "--latency-seconds", "0", "-q"], env).stdout
    assert "baseline-image" in human and "not relevant" in human
    run(["query", "remove", "a-sunset"], env)
    assert [q["name"] for q in json.loads(run(["query", "list", "--json"], env).stdout)] == ["q1"]
