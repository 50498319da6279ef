"""The Evaluation page's model-selection tab: the core's recommendation, the Pareto plot and
the latency-under-load curve, and a new recommendation when a constraint field changes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import media_factory as mf  # noqa: E402
from audio_factory import chirp, noise, place, tone, write_audio  # noqa: E402
from test_gui import make_window  # noqa: E402, F401 - the GUI fixture

pytestmark = [pytest.mark.gui, pytest.mark.timeout(300)] if importlib.util.find_spec("pytest_timeout") else [pytest.mark.gui]

TIMEOUT_MS = 120_000
AUD = "audio queries → sounds"


def _library(settings, tmp_path: Path) -> None:
    """Pictures and sounds indexed with the weight-free encoders; an image and two audio queries judged."""
    from PIL import Image

    from mediasearch.evaluation import groundtruth as gt
    from mediasearch.indexing import index_paths
    from mediasearch.library import Library
    from mediasearch.media import Modality

    media, qdir = tmp_path / "media", tmp_path / "queries"
    pics = [mf.make_photo_like(media / f"p{i}.jpg", seed=i, size=(160, 120)) for i in range(5)]
    sounds = [write_audio(media / "tone.wav", place([(0.2, tone(440.0, 1.5))], total_s=2.0)),
              write_audio(media / "chirp.wav", place([(0.1, chirp(300, 3000, 1.8))], total_s=2.0)),
              write_audio(media / "noise.wav", place([(0.0, noise(2.0, amp=0.2))], total_s=2.0))]
    qdir.mkdir()
    Image.open(pics[1]).resize((120, 90)).save(qdir / "img.jpg", quality=60)
    write_audio(qdir / "tone.wav", place([(0.0, tone(440.0, 1.5))], total_s=1.6))
    write_audio(qdir / "chirp.wav", place([(0.0, chirp(300, 3000, 1.8))], total_s=1.9))
    with Library(settings) as library:
        index_paths(library, [media], encoders=["baseline-image", "baseline-audio", "fingerprint-audio"])
        q = gt.add_query(library.catalog, settings, modality=Modality.IMAGE, path=qdir / "img.jpg", name="img")
        gt.judge_path(library.catalog, q, pics[1], 2)
        for name, target in (("tone", sounds[0]), ("chirp", sounds[1])):
            q = gt.add_query(library.catalog, settings, modality=Modality.AUDIO, path=qdir / f"{name}.wav", name=name)
            gt.judge_path(library.catalog, q, target, 1)


def _loadtest(library_dir: Path) -> None:
    """A load test in the contract's format: fingerprint-audio p95 10/20/40 ms at 1/2/4 clients, baseline-audio 3x that."""
    rows = [
        {"encoder": enc, "medium": medium, "mode": "threads", "target": "direct", "concurrency": c, "queries": 40, "wall_s": 2.0,
         "qps": 20.0 * c / f, "p50_ms": 6.0 * c * f, "p95_ms": 10.0 * c * f, "p99_ms": 12.0 * c * f, "errors": 0,
         "error_examples": [], "peak_rss_mb": 300.0 * f, "rss_scope": "process", "cpu_util": 0.9, "gpu_util": None, "gpu_mem_mb": None}
        for enc, medium, f in (("fingerprint-audio", "audio", 1), ("baseline-audio", "audio", 3), ("baseline-image", "visual", 1))
        for c in (1, 2, 4)
    ]
    path = library_dir / "evaluation" / "loadtest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "created_at": "2026-12-02T00:00:00Z", "duration_s": 2.0, "machine": {},
                                "results": rows, "skipped": [], "indexing": []}))


def _evaluate(qtbot, window):
    view = window.eval_view
    window.show_page("evaluate")
    view.latency_s.setValue(0.0)
    with qtbot.waitSignal(view.evaluation_finished, timeout=TIMEOUT_MS) as blocker:
        view.run_evaluation()
    tab = next(i for i in range(view.tabs.count()) if view.tabs.tabText(i) == "Model selection")
    view.tabs.setCurrentIndex(tab)
    return view, blocker.args[0]


def test_selection_tab_shows_and_follows_the_constraints(qtbot, make_window, settings, tmp_path: Path) -> None:
    _library(settings, tmp_path)
    _loadtest(settings.library_dir)
    window = make_window()
    window.resize(1280, 860)
    view, outcome = _evaluate(qtbot, window)
    for box in (view.max_index_hours, view.max_latency_ms, view.max_memory_gb):
        box.setValue(0.0)
    view.concurrency.setValue(4)
    sel = outcome.data["selection"]
    groups = [view.selection_group.itemData(i) for i in range(view.selection_group.count())]
    assert groups == list(sel["groups"]) and AUD in groups
    view.selection_group.setCurrentIndex(groups.index(AUD))
    table = view.selection_table
    encoders = {table.cell_text(r, 0).removeprefix("◆ ") for r in range(table.proxy.rowCount())}
    assert encoders == {"baseline-audio", "fingerprint-audio"}
    pick = sel["groups"][AUD]["recommendation"]["pick"]
    assert pick in encoders and f"<b>{pick}</b>" in view.recommendation.text()
    assert view.pareto_chart.pixmap() is not None and not view.pareto_chart.pixmap().isNull()
    assert view.load_chart.isVisibleTo(view) and not view.load_missing.isVisibleTo(view)
    p95_col = 5
    shown = {table.cell_text(r, 0).removeprefix("◆ "): table.cell_text(r, p95_col) for r in range(table.proxy.rowCount())}
    assert shown == {"fingerprint-audio": "40.0", "baseline-audio": "120.0"}

    # a latency limit of 50 ms at 4 clients: baseline-audio (120 ms) is ruled out, with the reason
    view.max_latency_ms.setValue(50)
    text = view.recommendation.text()
    assert "Recommended for" in text and "<b>fingerprint-audio</b>" in text
    assert "baseline-audio ruled out: p95 120.0 ms with 4 concurrent searches (limit 50 ms)" in text
    assert view.outcome.data["selection"]["constraints"]["max_latency_ms"] == 50  # what an export now carries
    # 5 ms: nothing fits; the closest is named
    view.max_latency_ms.setValue(5)
    assert "No encoder fits every limit. Closest: <b>fingerprint-audio</b>" in view.recommendation.text()
    # fewer concurrent clients: 10 ms at 1 client for fingerprint-audio fits 15 ms
    view.max_latency_ms.setValue(15)
    view.concurrency.setValue(1)
    assert "Recommended for" in view.recommendation.text() and "<b>fingerprint-audio</b>" in view.recommendation.text()
    assert table.cell_text(0, p95_col) in ("10.0", "30.0")
    assert window.ctx.prefs.get("eval/max_latency_ms", 0.0, float) == 15  # kept for the next session
    shot = tmp_path / "selection.png"
    assert window.grab().save(str(shot)) and shot.stat().st_size > 10_000


def test_without_a_load_test_latency_is_not_measured(qtbot, make_window, settings, tmp_path: Path) -> None:
    _library(settings, tmp_path)
    window = make_window()
    view, outcome = _evaluate(qtbot, window)
    assert outcome.data["selection"]["loadtest"]["note"] == "not measured: run mediasearch loadtest"
    view.selection_group.setCurrentIndex(0)
    assert "Latency under load: not measured" in view.recommendation.text()
    assert view.load_missing.isVisibleTo(view) and not view.load_chart.isVisibleTo(view)
    table = view.selection_table
    assert {table.cell_text(r, 5) for r in range(table.proxy.rowCount())} == {"not measured"}
    view.max_latency_ms.setValue(10)  # a limit with no figure behind it rules nothing out
    rec = view.outcome.data["selection"]["groups"][view.selection_group.currentData()]["recommendation"]
    assert rec["ruled_out"] == {} and rec["pick"] is not None
    assert "latency under load not measured (run mediasearch loadtest)" in view.recommendation.text()
