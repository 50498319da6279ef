"""Store v2 under real processes: a searcher beside an indexer, kill -9 at random moments,
and the invariants that must hold after a resumed run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import media_factory as mf
from mediasearch.config import Settings
from mediasearch.library import Library
from mediasearch.media import AssetStatus, MediaKind, Modality
from mediasearch.search import Query, search
from mediasearch.store.vectorlog import VectorLog, log_folder

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "MEDIASEARCH_CHECKPOINT_S": "0.3"}
ENCODERS = "baseline-image,baseline-audio"


def _cli(library_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mediasearch", "--library", str(library_dir), *args]


def _media(folder: Path, n_images: int, n_audio: int = 0) -> list[Path]:
    paths = [mf.make_image(folder / f"p{i:04d}.jpg", seed=i, size=(96, 72)) for i in range(n_images)]
    for i in range(n_audio):
        paths.append(mf.make_audio(folder / f"a{i:03d}.wav", duration_s=1.0 + i % 3, freq=220.0 + 40 * i))
    return paths


def check_invariants(settings: Settings, encoders: dict[str, set[MediaKind]]) -> None:
    """Each ok asset has exactly one vector per segment per requested encoder, the log
    holds exactly the committed records and no id the catalog does not know, and every
    image finds itself at rank 1."""
    with Library(settings) as lib:
        cat = lib.catalog
        assets = cat.assets(status=AssetStatus.OK)
        for name, kinds in encoders.items():
            record = cat.vector_log(name)
            assert record is not None, name
            vlog = VectorLog(log_folder(settings.library_dir, name), record["dim"], record["generation"])
            assert vlog.length_on_disk() == record["count"], f"{name}: log and catalog disagree"
            log_ids = vlog.read_ids(record["count"])
            assert len(np.unique(log_ids)) == len(log_ids), f"{name}: an id stored twice"
            embedded = cat.embedded_ids(name)
            assert set(embedded.tolist()) <= set(log_ids.tolist()), f"{name}: catalog knows vectors the log lacks"
            done = cat.assets_done_by(name)
            for asset in assets:
                if asset.kind not in kinds:
                    continue
                assert asset.id in done, f"{name}: {asset.path} not done"
                segs = [s.id for s in cat.segments_of(asset.id) if s.id in set(embedded.tolist())]
                assert segs, f"{name}: {asset.path} has no vectors"
            dead = set(log_ids.tolist()) - set(embedded.tolist())
            known = cat.known_embedded(name, dead) if dead else set()
            assert not known
        for asset in assets:
            if asset.kind is MediaKind.IMAGE:
                hits = search(lib, Query(Modality.IMAGE, path=asset.path), encoder="baseline-image", k=1)
                assert hits and hits[0].path == asset.path and hits[0].score > 0.99, asset.path


def test_search_while_indexing_sees_progress_and_loses_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    _media(folder, 400)
    lib_dir = tmp_path / "library"
    settings = Settings(library_dir=lib_dir, model_dir=tmp_path / "models")
    probe = folder / "p0000.jpg"
    searcher_code = f"""
        import json, sys, time
        from pathlib import Path
        from mediasearch.config import Settings
        from mediasearch.library import Library
        from mediasearch.media import Modality
        from mediasearch.search import Query, search
        s = Settings(library_dir=Path({str(lib_dir)!r}), model_dir=Path({str(tmp_path / "models")!r}))
        deadline = time.monotonic() + 60
        lib = None
        while time.monotonic() < deadline:
            if Path({str(tmp_path / "stop")!r}).exists():
                break
            try:
                if lib is None and s.catalog_path.exists():
                    lib = Library(s)
                if lib is not None and "baseline-image" in lib.indexed_encoders():
                    hits = search(lib, Query(Modality.IMAGE, path=Path({str(probe)!r})), encoder="baseline-image", k=5)
                    n = len(lib.index("baseline-image"))
                    print(json.dumps({{"n": n, "hits": len(hits)}}), flush=True)
            except Exception as exc:
                print(json.dumps({{"error": f"{{type(exc).__name__}}: {{exc}}"}}), flush=True)
            time.sleep(0.5)
    """
    indexer = subprocess.Popen(
        _cli(lib_dir, "index", str(folder), "--encoders", "baseline-image", "-q", "--batch-size", "4"),
        env={**ENV, "MEDIASEARCH_TEST_SLOW_EMBED_S": "0.02"}, cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    searcher = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(searcher_code)], env=ENV, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        out, err = indexer.communicate(timeout=240)
        assert indexer.returncode == 0, err
        (tmp_path / "stop").touch()
        lines, serr = searcher.communicate(timeout=60)
    finally:
        for p in (indexer, searcher):
            if p.poll() is None:
                p.kill()
    records = [json.loads(line) for line in lines.splitlines() if line.strip()]
    errors = [r["error"] for r in records if "error" in r]
    assert not errors, errors
    counts = [r["n"] for r in records]
    assert len(set(counts)) >= 3, f"the searcher saw no checkpoints: {counts}"  # several checkpoints seen
    assert counts == sorted(counts), "a search undid the indexer's work"
    rerun = subprocess.run(
        _cli(lib_dir, "index", str(folder), "--encoders", "baseline-image", "--json", "-q"),
        env=ENV, cwd=REPO, capture_output=True, text=True, timeout=240,
    )
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["encoders"]["baseline-image"]["items"] == 0 and report["new"] == 0
    check_invariants(settings, {"baseline-image": {MediaKind.IMAGE, MediaKind.VIDEO}})


def test_second_index_run_is_refused_naming_the_first(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    _media(folder, 150)
    lib_dir = tmp_path / "library"
    first = subprocess.Popen(
        _cli(lib_dir, "index", str(folder), "--encoders", "baseline-image", "-q"),
        env={**ENV, "MEDIASEARCH_TEST_SLOW_EMBED_S": "0.05"}, cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (lib_dir / "writer.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        second = subprocess.run(
            _cli(lib_dir, "index", str(folder), "--encoders", "baseline-image", "-q"),
            env=ENV, cwd=REPO, capture_output=True, text=True, timeout=120,
        )
        assert second.returncode != 0
        message = second.stderr.strip().splitlines()[-1]
        assert f"pid {first.pid}" in message and "mediasearch index" in message and "--wait" in message
        assert "Traceback" not in second.stderr
        waited = subprocess.run(
            _cli(lib_dir, "index", str(folder), "--encoders", "baseline-image", "-q", "--wait", "--json"),
            env=ENV, cwd=REPO, capture_output=True, text=True, timeout=240,
        )
        assert waited.returncode == 0, waited.stderr
        assert first.wait(timeout=240) == 0
    finally:
        if first.poll() is None:
            first.kill()
    check_invariants(Settings(library_dir=lib_dir, model_dir=tmp_path / "models"), {"baseline-image": {MediaKind.IMAGE}})


def test_kill_9_at_random_moments_then_one_run_leaves_nothing_missing(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    _media(folder, 120, n_audio=8)
    lib_dir = tmp_path / "library"
    rng = random.Random(20261201)
    kills = 0
    started = time.monotonic()
    # 20 kills, bounded in time: each run is killed 0.2-2.5 s after start
    while kills < 20 and time.monotonic() - started < 150:
        proc = subprocess.Popen(
            _cli(lib_dir, "index", str(folder), "--encoders", ENCODERS, "-q"),
            env={**ENV, "MEDIASEARCH_TEST_SLOW_EMBED_S": "0.01"}, cwd=REPO,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(rng.uniform(0.2, 2.5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err, err
    assert kills >= 10, f"only {kills} runs could be killed"
    final = subprocess.run(
        _cli(lib_dir, "index", str(folder), "--encoders", ENCODERS, "-q", "--json"),
        env=ENV, cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["missing"] == {}
    settings = Settings(library_dir=lib_dir, model_dir=tmp_path / "models")
    check_invariants(
        settings,
        {"baseline-image": {MediaKind.IMAGE, MediaKind.VIDEO}, "baseline-audio": {MediaKind.AUDIO}},
    )
    again = subprocess.run(
        _cli(lib_dir, "index", str(folder), "--encoders", ENCODERS, "-q", "--json"),
        env=ENV, cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    report = json.loads(again.stdout)
    assert all(s["items"] == 0 for s in report["encoders"].values())
