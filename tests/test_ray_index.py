"""Distributed indexing on a real local Ray cluster (2 CPUs, shared by the module).

A run with ``executor=RayExecutor(...)`` must leave the library exactly as a local run
does: the same segments (per file and time), the same vectors (float tolerance), the
same states; the driver killed with -9 mid-run and run again finishes the work with no
vector lost or stored twice; without ray the option says how to install it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import audio_factory as af
import media_factory as mf
from mediasearch.config import Settings
from mediasearch.indexing import index_paths
from mediasearch.library import Library
from mediasearch.store.vectorlog import VectorLog, log_folder

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'mediasearch[scale]')")

from mediasearch.distributed import RayExecutor, RayOptions  # noqa: E402  (after the skip)

REPO = Path(__file__).resolve().parents[1]
ENCODERS = ["baseline-image", "baseline-audio"]
ENV_EXTRA = {"PYTHONPATH": str(REPO), "MEDIASEARCH_CHECKPOINT_S": "0.3"}
ENV = {**os.environ, **ENV_EXTRA}


@pytest.fixture(scope="module")
def cluster() -> str:
    """One local Ray cluster for the module (2 CPUs): its GCS address."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Images (JPEG, PNG), a short video with sound, sounds, and one broken image."""
    folder = tmp_path_factory.mktemp("media")
    for i in range(14):
        mf.make_image(folder / f"p{i:02d}.{'png' if i % 4 == 0 else 'jpg'}", seed=i, size=(96, 72))
    mf.make_video(folder / "clip.mp4", duration_s=5.0, seed=3, scene_changes=2, with_audio=True)
    af.write_audio(folder / "tone.wav", af.tone(440.0, 12.0))
    af.write_audio(folder / "chirp.wav", af.chirp(200.0, 2000.0, 7.0))
    af.write_audio(folder / "noise.flac", af.noise(4.0, seed=2))
    good = (folder / "p01.jpg").read_bytes()
    (folder / "broken.jpg").write_bytes(good[: len(good) // 3])
    return folder


def _settings(root: Path) -> Settings:
    return Settings(library_dir=root / "library", model_dir=root / "models")


def snapshot(settings: Settings, media: Path) -> dict:
    """What a run left: per encoder {(file, stream, start ms, end ms): vector} of the live
    vectors (checking that none is stored twice), and {(file, encoder): state}."""
    out: dict = {"vectors": {}, "states": {}, "statuses": {}}
    with Library(settings) as lib:
        cat = lib.catalog
        assets = {a.id: a for a in cat.assets()}
        for a in assets.values():
            out["statuses"][Path(a.path).relative_to(media).as_posix()] = a.status.value
        for name in ENCODERS:
            record = cat.vector_log(name)
            assert record is not None, name
            vlog = VectorLog(log_folder(settings.library_dir, name), record["dim"], record["generation"])
            ids, vectors = vlog.read(0, record["count"])
            live = set(cat.embedded_ids(name).tolist())
            keep = np.isin(ids, list(live))
            ids, vectors = ids[keep], vectors[keep]
            assert len(np.unique(ids)) == len(ids), f"{name}: a vector stored twice"
            assert set(ids.tolist()) == live, f"{name}: the catalog knows vectors the log lacks"
            by_id = dict(zip(ids.tolist(), vectors))
            table = {}
            for a in assets.values():
                rel = Path(a.path).relative_to(media).as_posix()
                for seg in cat.segments_of(a.id):
                    if seg.id in by_id:
                        key = (rel, seg.stream.value, _ms(seg.start_s), _ms(seg.end_s))
                        assert key not in table, f"{name}: two segments for {key}"
                        table[key] = by_id[seg.id]
                state = cat.encoder_state(a.id, name)
                if state is not None:
                    out["states"][(rel, name)] = state[0]
            out["vectors"][name] = table
    return out


def _ms(t: float | None) -> int | None:
    return None if t is None else int(round(t * 1000))


def assert_same(got: dict, want: dict) -> None:
    assert got["statuses"] == want["statuses"]
    assert got["states"] == want["states"]
    for name in ENCODERS:
        g, w = got["vectors"][name], want["vectors"][name]
        assert set(g) == set(w), f"{name}: segments differ: {sorted(set(g) ^ set(w))[:5]}"
        for key in w:
            np.testing.assert_allclose(g[key], w[key], rtol=0, atol=1e-5, err_msg=f"{name} {key}")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory, media: Path) -> dict:
    """The reference: a plain local run over the same files."""
    settings = _settings(tmp_path_factory.mktemp("local"))
    with Library(settings) as lib:
        report = index_paths(lib, [media], encoders=ENCODERS)
    assert report.missing == {} and not report.cancelled
    snap = snapshot(settings, media)
    # the corpus exercises every path: images, video frames, sounds, a soundtrack, a bad file
    keys = snap["vectors"]["baseline-image"]
    assert sum(1 for k in keys if k[0] == "clip.mp4") >= 2
    assert sum(1 for k in snap["vectors"]["baseline-audio"] if k[0] == "tone.wav") >= 2
    assert snap["statuses"]["broken.jpg"] == "skipped"
    snap["report"] = report
    return snap


@pytest.mark.parametrize("ship_files", [False, True], ids=["paths", "ship-files"])
def test_ray_run_gives_the_local_vectors(
    cluster: str, media: Path, local_run: dict, tmp_path: Path, ship_files: bool
) -> None:
    settings = _settings(tmp_path)
    with Library(settings) as lib, RayExecutor(RayOptions(workers=2, ship_files=ship_files)) as executor:
        report = index_paths(lib, [media], encoders=ENCODERS, executor=executor)
        assert len(executor._actors) == 2  # the pool really had two workers
    assert report.missing == {} and not report.cancelled
    want = local_run["report"]
    for name in ENCODERS:
        assert (report.encoders[name].items, report.encoders[name].segments, report.encoders[name].failed) == (
            want.encoders[name].items,
            want.encoders[name].segments,
            want.encoders[name].failed,
        ), name
    assert sorted(report.failures) == sorted(want.failures)
    assert_same(snapshot(settings, media), local_run)
    with Library(settings) as lib:  # and a second run finds nothing to do
        again = index_paths(lib, [media], encoders=ENCODERS)
    assert all(s.items == 0 for s in again.encoders.values())


def test_cancel_stops_the_cluster_work_and_a_rerun_resumes(cluster: str, media: Path, local_run: dict, tmp_path: Path) -> None:
    from mediasearch.progress import CancelToken

    settings = _settings(tmp_path)
    token = CancelToken()
    seen: list[int] = []

    def progress(p) -> None:  # noqa: ANN001
        if p.stage == "embed images" and p.done >= 3:
            seen.append(p.done)
            token.cancel()

    with Library(settings) as lib, RayExecutor(RayOptions(workers=2)) as executor:
        report = index_paths(lib, [media], encoders=ENCODERS, executor=executor, progress=progress, cancel=token)
        assert executor._actors == []  # stopping early killed the workers
    assert report.cancelled and seen
    with Library(settings) as lib, RayExecutor(RayOptions(workers=2)) as executor:
        report = index_paths(lib, [media], encoders=ENCODERS, executor=executor)
    assert report.missing == {} and not report.cancelled
    assert_same(snapshot(settings, media), local_run)


def _cli(library: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mediasearch", "--library", str(library), "index", *args]


def _embedded(settings: Settings) -> int:
    if not settings.catalog_path.exists():
        return 0
    try:
        with Library(settings) as lib:
            return len(lib.catalog.embedded_ids("baseline-image"))
    except Exception:  # the writer is still creating it
        return 0


def test_driver_killed_mid_run_then_rerun_loses_and_duplicates_nothing(
    cluster: str, media: Path, local_run: dict, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    # os.environ now has what ray.init set for its clients (RAY_AUTH_MODE=token)
    env = {**os.environ, **ENV_EXTRA, "MEDIASEARCH_MODEL_DIR": str(settings.model_dir)}
    command = _cli(settings.library_dir, str(media), "--encoders", ",".join(ENCODERS), "-q", f"--ray={cluster}", "--ray-workers", "2")
    total = len(local_run["vectors"]["baseline-image"])
    proc = subprocess.Popen(
        command, env={**env, "MEDIASEARCH_TEST_SLOW_EMBED_S": "0.4"}, cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            done = _embedded(settings)
            if done:
                break
            time.sleep(0.1)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read() if proc.stderr else ''}"
        assert 0 < done < total, (done, total)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    killed_at = _embedded(settings)
    assert killed_at < total
    rerun = subprocess.run(command + ["--json"], env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    report = json.loads(rerun.stdout)
    assert report["missing"] == {}
    assert 0 < report["encoders"]["baseline-image"]["items"] < len([k for k in local_run["states"] if k[1] == "baseline-image"])
    assert_same(snapshot(settings, media), local_run)


_BLOCK_RAY = """
import importlib.abc, runpy, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray' (blocked by the test)")
        return None
sys.meta_path.insert(0, Block())
sys.argv = ["mediasearch"] + sys.argv[1:]
runpy.run_module("mediasearch", run_name="__main__")
"""


def test_without_ray_the_option_says_how_to_install_it(media: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCK_RAY, "--library", str(tmp_path / "library"), "index", str(media), "--ray"],
        env=ENV, cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "pip install 'mediasearch[scale]'" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "library" / "catalog.sqlite").exists()  # nothing was started


def test_unreachable_cluster_is_one_line_and_quick(media: Path, tmp_path: Path) -> None:
    t0 = time.monotonic()
    proc = subprocess.run(
        _cli(tmp_path / "library", str(media), "--ray=127.0.0.1:9"), env=ENV, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and time.monotonic() - t0 < 30
    assert "127.0.0.1:9" in proc.stderr and "cannot connect" in proc.stderr and "Traceback" not in proc.stderr


def test_ray_options_are_checked(media: Path, tmp_path: Path) -> None:
    bad = subprocess.run(_cli(tmp_path / "l", "--ray", str(media)), env=ENV, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a cluster address" in bad.stderr
    lone = subprocess.run(_cli(tmp_path / "l", str(media), "--ray-workers", "2"), env=ENV, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert lone.returncode == 2 and "need --ray" in lone.stderr
    zero = subprocess.run(_cli(tmp_path / "l", str(media), "--ray", "--ray-workers", "0"), env=ENV, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert zero.returncode == 2 and "--ray-workers" in zero.stderr
