"""The GUI pools, leaves the example out, compares encoders per media type and marks score thresholds with the core's own rules (issue 11, items 1, 7, 8)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

import media_factory as mf  # noqa: E402
from conftest import REPO, SHARED_MODELS  # noqa: E402
from test_gui import index, make_window, search, window  # noqa: E402, F401 - the GUI fixtures

pytestmark = [pytest.mark.gui, pytest.mark.timeout(300)] if importlib.util.find_spec("pytest_timeout") else [pytest.mark.gui]

TIMEOUT_MS = 120_000
MODELS = Path(os.environ.get("MEDIASEARCH_MODEL_DIR", SHARED_MODELS))
SPEECH = REPO / "samples" / "audio" / "speech_meeting.m4a"  # "Our quarterly budget meeting moves to Thursday afternoon."


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Eight photo-like JPEGs and a byte-identical copy of one of them."""
    root = tmp_path / "media"
    for i in range(8):
        mf.make_photo_like(root / f"photo{i:02d}.jpg", seed=i, size=(240, 180))
    shutil.copyfile(root / "photo05.jpg", root / "copy_of_photo05.jpg")
    return root


def grade(qtbot, window, row: int, key: Qt.Key) -> None:
    page = window.search_page
    results = page.results.list
    results.setFocus()
    results.setCurrentIndex(page.model.index(row))
    with qtbot.waitSignal(page.judged, timeout=TIMEOUT_MS):
        qtbot.keyClick(results, key)


def cli(args: list[str], library_dir: Path, model_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDIASEARCH_HOME": str(library_dir), "MEDIASEARCH_MODEL_DIR": str(model_dir)}
    proc = subprocess.run([sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def check_threshold_divider(qtbot, window) -> None:
    """Row 0 relevant, row 1 not: the core's max-F1 threshold is row 0's score, and a
    dashed divider is drawn on row 1's leading edge."""
    from mediasearch.evaluation.judging import best_threshold
    from ui.panels.results_view import THRESHOLD_COLOUR

    page = window.search_page
    view = page.results
    items = page.model.items
    expected = best_threshold([items[0].hit.score, items[1].hit.score], [True, False])
    assert view.threshold is not None and view.threshold.threshold == pytest.approx(expected.threshold)
    assert view.threshold.threshold == pytest.approx(items[0].hit.score)
    assert view.delegate.threshold_row == 1
    assert view.threshold_label.isVisible() and f"{expected.threshold:.3f}" in view.threshold_label.text()
    view.list.viewport().repaint()
    image = view.list.viewport().grab().toImage()
    rect = view.list.visualRect(page.model.index(1))
    marked = [
        (x, y) for x in range(rect.left(), rect.left() + 6) for y in range(rect.top(), rect.bottom())
        if 0 <= x < image.width() and 0 <= y < image.height() and image.pixelColor(x, y).name() == THRESHOLD_COLOUR.name()
    ]
    assert len(marked) > 10, "the divider is drawn on the first result below the threshold"
    first = view.list.visualRect(page.model.index(0))
    assert not any(
        image.pixelColor(x, y).name() == THRESHOLD_COLOUR.name()
        for x in range(first.left(), first.left() + 6) for y in range(first.top(), first.bottom())
        if 0 <= x < image.width() and 0 <= y < image.height()
    )


def test_gui_pool_is_the_cores_pool(qtbot, window, photos: Path) -> None:
    from mediasearch.evaluation.groundtruth import list_queries
    from mediasearch.hashing import content_hash

    index(qtbot, window, photos, ["baseline-image"])
    page = window.search_page
    window.show_page("search")
    example = photos / "photo05.jpg"  # in the library, with a byte-identical copy under another name
    assert page.query.set_file(example)
    page.query.k.setValue(5)
    result = search(qtbot, window)
    # the example and its identical copy are left out, like the evaluation leaves them out
    own = content_hash(example)
    assert result.example_left_out
    assert own not in [item.content_hash for item in result.items]
    assert {item.hit.path.name for item in result.items}.isdisjoint({"photo05.jpg", "copy_of_photo05.jpg"})
    grade(qtbot, window, 0, Qt.Key.Key_2)
    grade(qtbot, window, 1, Qt.Key.Key_0)
    check_threshold_divider(qtbot, window)

    page.query.pool.setChecked(True)
    pooled = search(qtbot, window)
    page.query.pool.setChecked(False)
    assert pooled.pooled and pooled.example_left_out
    assert page.results.threshold is None and page.results.delegate.threshold_row == -1, "a pool mixes encoders' scores"
    assert not page.results.threshold_label.isVisible()
    names = [q.name for q in list_queries(window.ctx.library.catalog, window.ctx.settings)]
    assert len(names) == 1
    data = json.loads(cli(["pool", names[0], "--depth", "5", "--json"], window.ctx.settings.library_dir, window.ctx.settings.model_dir).stdout)
    assert [item.content_hash for item in pooled.items] == [it["content_hash"] for it in data["items"]]
    assert [item.grade for item in pooled.items] == [it["grade"] for it in data["items"]]
    assert [item.pool_ranks for item in pooled.items] == [it["ranks"] for it in data["items"]]
    assert pooled.encoders == data["encoders"]
    assert [item.grade is not None for item in pooled.items] == [False] * (len(pooled.items) - 2) + [True, True]
    # the pooled hits are real hits of the files the pool names
    for item in pooled.items:
        assert content_hash(item.hit.path) == item.content_hash


def test_image_and_text_queries_together_evaluate_per_media_type(qtbot, make_window, settings, tmp_path: Path) -> None:
    """Regression: image and text queries saved together crashed the comparison; each is now its own group."""
    if not (MODELS / "whisper" / "tiny.en.pt").is_file() or not (MODELS / "sentence-transformers" / "all-MiniLM-L6-v2").is_dir():
        pytest.skip(f"the real Whisper tiny.en and all-MiniLM-L6-v2 weights are not in {MODELS} (MEDIASEARCH_MODEL_DIR)")
    pytest.importorskip("whisper")
    from dataclasses import replace

    from mediasearch.evaluation.groundtruth import list_queries
    from ui.panels.eval_view import group_name

    media = tmp_path / "media"
    for i in range(6):
        mf.make_photo_like(media / f"photo{i:02d}.jpg", seed=i, size=(240, 180))
    shutil.copyfile(SPEECH, media / "meeting.m4a")
    mf.make_audio(media / "tone.wav", duration_s=1.5, freq=660.0)
    window = make_window(replace(settings, model_dir=MODELS))
    index(qtbot, window, media, ["baseline-image", "whisper-tiny.en"])

    page = window.search_page
    window.show_page("search")
    assert page.query.set_file(media / "photo02.jpg")
    page.query.k.setValue(4)
    search(qtbot, window)
    grade(qtbot, window, 0, Qt.Key.Key_2)
    grade(qtbot, window, 1, Qt.Key.Key_0)

    page.query.set_text("quarterly budget meeting")
    page.query.set_encoder("whisper-tiny.en")
    text_result = search(qtbot, window)
    assert text_result.items and text_result.items[0].hit.path.name == "meeting.m4a"
    grade(qtbot, window, 0, Qt.Key.Key_2)
    saved = list_queries(window.ctx.library.catalog, window.ctx.settings)
    assert sorted(q.modality.value for q in saved) == ["image", "text"]

    view = window.eval_view
    window.show_page("evaluate")
    view.latency_s.setValue(0.0)
    with qtbot.waitSignal(view.evaluation_finished, timeout=TIMEOUT_MS) as blocker:
        view.run_evaluation()
    groups = blocker.args[0].data["groups"]
    assert list(groups) == ["image queries → images and video frames", "text queries → transcripts"], (
        "no 'all queries' view: the encoders share no query"
    )
    assert groups["image queries → images and video frames"]["encoders"] == ["baseline-image"]
    assert groups["text queries → transcripts"]["encoders"] == ["whisper-tiny.en"]
    shown = [view.group_box.itemData(i) for i in range(view.group_box.count())]
    assert shown == list(groups)
    for i, key in enumerate(shown):
        view.group_box.setCurrentIndex(i)
        table = view.comparison
        encoders = [table.cell_text(r, 0) for r in range(table.proxy.rowCount())]
        assert encoders == groups[key]["encoders"], "each group ranks only its own encoders"
        assert group_name(key) in view.winner.text()
        assert "Best on" not in view.winner.text(), "one encoder in a group is not a winner"
    assert "Best on" not in view.winner.text()
    assert view.misses.topLevelItemCount() == 2


def test_groups_and_threshold_read_in_chinese(qtbot, tmp_path: Path, settings, photos: Path) -> None:
    """The new group names, group notes, threshold column and threshold line are translated."""
    from shiboken6 import isValid
    from test_gui_i18n import _allowed_names, _assert_translated, _window

    from ui import errors
    from ui.app import create_app, install_language

    window = _window(qtbot, tmp_path, settings, "zh_CN")
    try:
        index(qtbot, window, photos, ["baseline-image"])
        page = window.search_page
        window.show_page("search")
        assert page.query.set_file(photos / "photo02.jpg")
        page.query.k.setValue(4)
        search(qtbot, window)
        grade(qtbot, window, 0, Qt.Key.Key_2)
        grade(qtbot, window, 1, Qt.Key.Key_0)
        assert page.results.threshold_label.isVisible()
        from mediasearch.evaluation.groundtruth import list_queries

        saved = list_queries(window.ctx.library.catalog, window.ctx.settings)
        names = _allowed_names() | {window.ctx.settings.library_dir.name} | {q.name for q in saved}  # names stay as they are
        _assert_translated(window, names, "search with a threshold")
        assert "阈值" in page.results.threshold_label.text()

        view = window.eval_view
        window.show_page("evaluate")
        view.latency_s.setValue(0.0)
        with qtbot.waitSignal(view.evaluation_finished, timeout=TIMEOUT_MS) as blocker:
            view.run_evaluation()
        data = blocker.args[0].data
        assert list(data["groups"]) == ["image queries → images and video frames"]
        assert "图片和视频帧" in view.group_box.itemText(0)
        assert "阈值" in [view.comparison.source.headerData(c, Qt.Orientation.Horizontal) for c in range(view.comparison.source.columnCount())]
        metric_names = set(data["metrics"]) | {m.split("@")[0] for m in data["metrics"]}  # metric names stay as they are
        # the Notes tab is left out: it shows the core's rules (runner.NOTES) and machine data as they are, in English
        for i in range(view.tabs.count() - 1):
            view.tabs.setCurrentIndex(i)
            _assert_translated(window, names | metric_names, f"evaluation tab {i} after a run")
    finally:
        if isValid(window.ctx.window):
            window.ctx.window.close()
        for box in list(errors.shown):
            box.close()
        install_language(create_app([]), "en")
