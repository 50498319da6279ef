"""The eval command line: image and text queries saved together are compared per media type without crashing; `eval --qrels --run` scores foreign runs with no library; `qrels import` keeps any grade."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import audio_factory as af
import media_factory as mf

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
MODELS = Path(os.environ.get("MEDIASEARCH_MODEL_DIR", SHARED_MODELS))


def run(args: list[str], env: dict[str, str], *, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=400
    )
    if ok:
        assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def test_eval_scores_run_files_without_a_library(tmp_path: Path) -> None:
    (tmp_path / "q.txt").write_text("q1 0 a 2\nq1 0 b 0\nq1 0 c -1\nq2 0 x 0\n")
    (tmp_path / "a.run").write_text("q1 Q0 a 1 0.5 runA extra fields\nq1 Q0 b 2 0.5 runA\nq2 Q0 x 1 1 runA\n")
    (tmp_path / "b.run").write_text("q1 Q0 c 1 0.9 runB\nq1 Q0 a 2 0.1 runB\n")
    home = tmp_path / "nolib"
    env = {"MEDIASEARCH_HOME": str(home)}
    args = ["eval", "--qrels", str(tmp_path / "q.txt"), "--run", str(tmp_path / "a.run"), "--run", str(tmp_path / "b.run")]
    data = json.loads(run([*args, "-m", "map", "-m", "P.1,2", "--json"], env).stdout)
    a, b = data["runs"]
    assert (a["run"], b["run"]) == ("runA", "runB")
    # runA: a and b tie, docno descending puts b first, so a (relevant) is at rank 2; q2 has none relevant = 0
    assert a["per_query"]["q1"] == {"map": 0.5, "P_1": 0.0, "P_2": 0.5} and a["per_query"]["q2"]["map"] == 0.0
    assert a["summary"]["map"] == 0.25 and data["no_relevant"] == "scored 0"
    assert b["per_query"]["q1"]["map"] == 0.5 and b["missing_from_run"] == ["q2"]  # c is -1: unjudged
    excluded = json.loads(run([*args, "-m", "map", "--exclude-no-relevant", "--json"], env).stdout)
    assert excluded["runs"][0]["summary"]["map"] == 0.5 and excluded["runs"][0]["excluded_no_relevant"] == ["q2"]
    text = run([*args, "--rel-level", "2", "-m", "map", "-m", "num_rel_ret"], env).stdout
    assert "map                   \tall\t0.2500" in text and "num_rel_ret           \tall\t1" in text
    assert not home.exists()  # no library was made
    bad = run([*args, "-m", "bpref"], env, ok=False)
    assert bad.returncode != 0 and "unknown measure" in bad.stderr


@pytest.mark.slow
def test_image_and_text_queries_together_through_the_cli(tmp_path: Path) -> None:
    """Regression: with an image encoder and a speech encoder (no shared queries) the summary crashed."""
    if not (MODELS / "whisper" / "tiny.en.pt").is_file() or not (MODELS / "sentence-transformers" / "all-MiniLM-L6-v2").is_dir():
        pytest.skip("Whisper tiny.en and all-MiniLM-L6-v2 weights are not available")
    if not af.have_espeak():
        pytest.skip("espeak-ng is needed to generate speech")
    pytest.importorskip("whisper")
    env = {
        "MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(MODELS),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }
    media = tmp_path / "media"
    pictures = [mf.make_image(media / f"p{i}.jpg", seed=i) for i in range(4)]
    talk = af.write_audio(media / "talk.wav", af.speech("the quarterly budget meeting is moved to friday"))
    run(["index", str(media), "--encoders", "baseline-image,whisper-tiny.en", "-q"], env)
    run(["query", "add", "--image", str(pictures[1]), "--name", "pic"], env)
    run(["query", "add", "--text", "budget meeting", "--name", "budget"], env)
    run(["judge", "pic", str(pictures[1]), "--grade", "2"], env)
    run(["judge", "pic", str(pictures[2]), "--grade", "0"], env)
    run(["judge", "budget", str(talk), "--grade", "1"], env)

    human = run(["eval", "--k", "1,3", "--repeats", "1", "--latency-seconds", "0", "-q"], env).stdout
    assert "image queries → images and video frames (1 queries)" in human
    assert "text queries → transcripts (1 queries)" in human
    assert "all queries" not in human  # the two encoders share no query
    data = json.loads(run(["eval", "--k", "1,3", "--repeats", "1", "--latency-seconds", "0", "--json", "-q"], env).stdout)
    assert data["groups"]["text queries → transcripts"]["encoders"] == ["whisper-tiny.en"]
    assert data["groups"]["image queries → images and video frames"]["encoders"] == ["baseline-image"]
    assert data["per_query"]["whisper-tiny.en"]["budget"]["success@3"] == 1.0


def test_qrels_import_keeps_every_grade(tmp_path: Path) -> None:
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}
    run(["query", "add", "--text", "cats", "--name", "cats"], env)
    (tmp_path / "q.txt").write_text("cats 0 h-a 4\ncats 0 h-b -1\ncats 0 h-c 0\nother 0 h-a 1\n")
    report = json.loads(run(["qrels", "import", str(tmp_path / "q.txt"), "--json"], env).stdout)
    assert report["imported"] == 3 and report["unknown_queries"] == ["other"]
    exported = run(["qrels", "export"], env).stdout.split("\n")
    assert sorted(line for line in exported if line) == ["cats 0 h-a 4", "cats 0 h-b -1", "cats 0 h-c 0"]
    listed = json.loads(run(["query", "list", "--json"], env).stdout)
    assert (listed[0]["judged"], listed[0]["relevant"]) == (2, 1)  # -1 is not a judgement


def test_eval_goes_on_when_an_encoder_cannot_answer_one_query(tmp_path: Path) -> None:
    """Regression: one query an encoder cannot answer (here its kept example file is gone;
    for Whisper, an audio example without speech) stopped the whole evaluation."""
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}
    media = tmp_path / "media"
    pictures = [mf.make_image(media / f"p{i}.jpg", seed=i) for i in range(5)]
    run(["index", str(media), "--encoders", "baseline-image", "-q"], env)
    for name, source in (("first", pictures[0]), ("second", pictures[1]), ("third", pictures[2])):
        example = tmp_path / f"{name}.jpg"
        Image.open(source).resize((120, 90)).save(example, quality=70)
        run(["query", "add", "--image", str(example), "--name", name], env)
        run(["judge", name, str(source), "--grade", "1"], env)
    listed = json.loads(run(["query", "list", "--json"], env).stdout)
    Path(next(q["file"] for q in listed if q["name"] == "first")).unlink()  # the warm-up query, too
    data = json.loads(run(["eval", "--k", "1", "--repeats", "1", "--latency-seconds", "0", "--json", "-q"], env).stdout)
    assert set(data["unanswered"]["baseline-image"]) == {"first"}
    assert set(data["per_query"]["baseline-image"]) == {"second", "third"}
    assert any("could not answer 1 of its 3 queries" in w for w in data["warnings"])
    assert data["latency"]["baseline-image"]["samples"] >= 1
