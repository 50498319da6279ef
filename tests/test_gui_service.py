"""The GUI's searches go to a running `mediasearch serve` of the same library, and fall back
to searching in-process when it stops; the status bar says which answered."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import media_factory as mf  # noqa: E402

pytestmark = [pytest.mark.gui] + ([pytest.mark.timeout(180)] if importlib.util.find_spec("pytest_timeout") else [])
pytestmark.append(pytest.mark.skipif(os.name == "nt", reason="pid checks are POSIX here"))

TIMEOUT_MS = 60_000


def _start_service(settings) -> subprocess.Popen:  # noqa: ANN001
    """`mediasearch serve --port 0` for the test's library, once its serve.json names it."""
    env = {**os.environ, "MEDIASEARCH_MODEL_DIR": str(settings.model_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediasearch", "--library", str(settings.library_dir), "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    record_file = settings.library_dir / "serve.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(record_file.read_text()).get("pid") == proc.pid:
                return proc
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"service did not start: {proc.communicate(timeout=10)}")


def _searches(settings) -> int:  # noqa: ANN001
    from mediasearch.serve import find_service

    deadline = time.monotonic() + 20
    info = find_service(settings)
    while info is None and time.monotonic() < deadline:  # a busy machine may miss the 0.5 s health check
        time.sleep(0.2)
        info = find_service(settings, timeout_s=5)
    assert info is not None
    status, data = info.request("GET", "/health", timeout_s=10)
    assert status == 200
    return int(data["searches"])


def test_gui_search_uses_the_running_service_and_falls_back_when_it_stops(qtbot, tmp_path: Path, settings) -> None:
    from PIL import Image

    from mediasearch.indexing import index_paths
    from mediasearch.library import Library
    from ui.app import build_window, create_app
    from ui.prefs import Prefs

    media = tmp_path / "media"
    for i in range(6):
        mf.make_photo_like(media / f"photo{i:02d}.jpg", seed=i, size=(320, 240))
    query = tmp_path / "query.jpg"
    Image.open(media / "photo03.jpg").resize((200, 150)).save(query, quality=80)
    with Library(settings) as lib:
        index_paths(lib, [media], encoders=["baseline-image"])

    create_app([])
    window = build_window(settings, Prefs.from_file(tmp_path / "ui.ini"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    page = window.search_page
    window.show_page("search")
    assert page.query.set_file(query)
    page.query.k.setValue(4)

    def search():
        with qtbot.waitSignal(page.search_finished, timeout=TIMEOUT_MS) as blocker:
            page.query.request_search()
        return blocker.args[0]

    proc = _start_service(settings)
    try:
        before = _searches(settings)
        served = search()
        assert served.answered_by == "service"
        assert _searches(settings) == before + 1  # the service did the work
        assert served.items[0].hit.path.name == "photo03.jpg"
        assert window.statusBar().currentMessage() == page.tr("Answered by the running search service (mediasearch serve)")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)

    local = search()
    assert local.answered_by == "in-process"
    assert [i.hit.path for i in local.items] == [i.hit.path for i in served.items]
    assert [round(i.hit.score, 5) for i in local.items] == [round(i.hit.score, 5) for i in served.items]
    assert window.statusBar().currentMessage() == page.tr(
        "Searched in this window: no search service is running for this library"
    )
    window.close()
