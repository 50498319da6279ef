"""The real `mediasearch` command, end to end on generated media, with --json output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import media_factory as mf


def run(args: list[str], env_extra: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env=env, timeout=300
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}


def test_index_search_status_json(tmp_path: Path, env: dict[str, str]) -> None:
    media = tmp_path / "media"
    imgs = [mf.make_image(media / f"p{i}.jpg", seed=i) for i in range(6)]
    video = mf.make_video(media / "clip.mp4", duration_s=4.0, fps=10, seed=9)
    (media / "notes.txt").write_text("not media")
    out = run(["index", str(media), "--encoders", "baseline-image", "--json", "-q"], env)
    report = json.loads(out.stdout)
    assert report["new"] == 7 and report["not_media"] == 1 and report["skipped"] == 0  # a text file is not media
    assert report["scanned"] == 8 and report["missing"] == {}
    assert report["encoders"]["baseline-image"]["items"] == 7

    # query by a file outside the library: a re-encoded copy of one image
    from PIL import Image

    query = tmp_path / "query.jpg"
    Image.open(imgs[2]).resize((200, 150)).save(query, quality=60)
    hits = json.loads(run(["search", "--image", str(query), "-k", "3", "--json"], env).stdout)
    assert [set(h) >= {"rank", "path", "kind", "score", "encoder", "segment_id", "start_s", "end_s"} for h in hits] == [True] * 3
    assert hits[0]["path"] == str(imgs[2]) and hits[0]["rank"] == 1 and hits[0]["encoder"] == "baseline-image"
    assert hits[0]["kind"] == "image" and hits[0]["start_s"] is None

    vhits = json.loads(run(["search", "--image", str(video), "--start", "2", "--kind", "video", "--json"], env).stdout)
    assert len(vhits) == 1 and vhits[0]["kind"] == "video" and vhits[0]["start_s"] is not None
    frames = json.loads(run(["search", "--image", str(video), "--kind", "video", "--frames", "--json"], env).stdout)
    assert len(frames) >= 2 and all(f["path"] == str(video) for f in frames)

    human = run(["search", "--image", str(query), "-k", "2"], env).stdout
    assert "score" in human and str(imgs[2]) in human

    status = json.loads(run(["status", "--json"], env).stdout)
    assert status["assets"]["image"]["ok"] == 6 and status["assets"]["video"]["ok"] == 1
    assert status["skipped"] == [] and status["not_media"][0]["path"].endswith("notes.txt")
    assert "1 files are not media" in run(["status"], env).stdout
    assert status["store"]["baseline-image"]["live"] == 8 and status["store"]["baseline-image"]["problem"] == ""


def test_encoders_json_and_clear_errors(tmp_path: Path, env: dict[str, str]) -> None:
    encoders = {e["name"]: e for e in json.loads(run(["encoders", "--json"], env).stdout)}
    assert encoders["baseline-image"]["weights_present"] is True
    assert encoders["resnet50"]["weights_present"] is False and encoders["resnet50"]["dimension"] == 2048
    assert "text" in encoders["siglip-vit-b16"]["modalities"]

    media = tmp_path / "m"
    mf.make_image(media / "a.jpg", seed=1)
    proc = run(["index", str(media), "--encoders", "resnet50", "-q"], env, check=False)
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "resnet50" in err[0] and "models pull" in err[0] and "models import" in err[0]

    proc = run(["index", str(media), "--encoders", "nope", "-q"], env, check=False)
    assert proc.returncode == 1 and "valid encoders" in proc.stderr

    proc = run(["search", "--text", "a cat"], env, check=False)
    assert proc.returncode == 1 and "text" in proc.stderr

    proc = run(["search", "--image", str(tmp_path / "missing.jpg")], env, check=False)
    assert proc.returncode == 1 and "not found" in proc.stderr
