"""The desktop app drives the library through real widgets: index, search, grade, evaluate, cancel and resume."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

import media_factory as mf  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)] if importlib.util.find_spec("pytest_timeout") else [pytest.mark.gui]

TIMEOUT_MS = 60_000


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """A folder of generated media: 10 photo-like JPEGs, a video with sound, two sounds, and two bad files."""
    root = tmp_path / "media"
    for i in range(10):
        mf.make_photo_like(root / f"photo{i:02d}.jpg", seed=i, size=(320, 240))
    mf.make_video(root / "clips" / "clip.mp4", duration_s=4.0, fps=8, size=(160, 120), seed=42, scene_changes=1, with_audio=True)
    mf.make_audio(root / "sounds" / "tone.wav", duration_s=2.0, freq=660.0)
    mf.make_audio(root / "sounds" / "beep.flac", duration_s=1.5, freq=880.0)
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.txt").write_text("not media\n" * 10)
    return root


@pytest.fixture
def query_image(tmp_path: Path, media: Path) -> Path:
    """photo03 re-encoded smaller, outside the library: its nearest neighbour is photo03."""
    from PIL import Image

    out = tmp_path / "query" / "photo03-small.jpg"
    out.parent.mkdir(parents=True)
    Image.open(media / "photo03.jpg").resize((200, 150)).save(out, quality=80)
    return out


@pytest.fixture
def make_window(qtbot, tmp_path: Path, settings):
    """Build main windows over the test's library with settings kept in a private INI file."""
    from ui import errors, player
    from ui.app import build_window, create_app
    from ui.prefs import Prefs

    create_app([])
    opened: list[tuple] = []
    original = player.opener
    player.opener = lambda command, path, start: opened.append((command, Path(path), start)) or True
    windows = []

    def make(settings_=None, *, dark: bool = False):
        window = build_window(settings_ or settings, Prefs.from_file(tmp_path / "ui.ini"), dark=dark)
        window.opened = opened
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        if window.isVisible():
            window.close()
    for box in list(errors.shown):
        box.close()
    errors.shown.clear()
    player.opener = original


@pytest.fixture
def window(make_window):
    return make_window()


def index(qtbot, window, folder: Path | None, encoders: list[str]):
    """Add ``folder``, tick ``encoders``, index, and wait for the worker to finish."""
    panel = window.library_panel
    if folder is not None:
        panel.add_folders([folder])
    panel.set_encoders(encoders)
    assert panel.selected_encoders() == encoders
    with qtbot.waitSignal(panel.indexing_finished, timeout=TIMEOUT_MS) as blocker:
        worker = panel.start_indexing()
        assert worker is not None
    assert worker.result is blocker.args[0]
    return blocker.args[0]


def search(qtbot, window):
    page = window.search_page
    with qtbot.waitSignal(page.search_finished, timeout=TIMEOUT_MS) as blocker:
        page.query.request_search()
    return blocker.args[0]


def last_error_text() -> str:
    from ui import errors

    assert errors.shown, "no error dialog was shown"
    return errors.shown[-1].text()


# -- tests ---------------------------------------------------------------------------------------


def test_index_search_grade_pool_and_evaluate(qtbot, window, media: Path, query_image: Path, tmp_path: Path) -> None:
    from mediasearch.catalog import Catalog
    from mediasearch.evaluation.groundtruth import judgements, list_queries
    from ui.models import ResultRole

    outcome = index(qtbot, window, media, ["baseline-image"])
    report = outcome.report
    assert not report.cancelled
    assert report.encoders["baseline-image"].items == 11  # 10 photos + the video
    panel = window.library_panel
    assert "10 images" in panel.summary.text() and "1 video" in panel.summary.text()
    reasons = {panel.skipped_table.cell_text(r, 0): panel.skipped_table.cell_text(r, 2) for r in range(panel.skipped_table.proxy.rowCount())}
    # a text file is not media at all: counted apart, not listed as a failure (issue 14, item 3)
    assert "empty.jpg" in reasons and "notes.txt" not in reasons
    assert all(reasons.values())
    assert "10 images" in window.library_label.text()

    # image query: the nearest file is the one it was made from
    page = window.search_page
    window.show_page("search")
    assert page.query.set_file(query_image)
    assert page.query.encoder.count() == 2 and page.query.encoder.itemText(1) == "baseline-image"
    page.query.k.setValue(8)
    result = search(qtbot, window)
    assert result.items[0].hit.path.name == "photo03.jpg"
    assert len(result.items) == 8 and page.model.rowCount() == 8
    assert all(item.grade is None for item in result.items)
    first = page.model.index(0)
    qtbot.waitUntil(lambda: page.model.data(first, ResultRole.THUMB) is not None, timeout=TIMEOUT_MS)
    assert any(window.ctx.settings.thumbs_dir.rglob("*.png")), "thumbnails are cached on disk"

    # grade with the keyboard: 2, 1, 0 advance; arrows move
    results = page.results.list
    results.setFocus()
    assert results.current_row() == 0
    for key in (Qt.Key.Key_2, Qt.Key.Key_1, Qt.Key.Key_0):
        with qtbot.waitSignal(page.judged, timeout=TIMEOUT_MS):
            qtbot.keyClick(results, key)
    assert [page.model.item(r).grade for r in range(4)] == [2, 1, 0, None]
    assert results.current_row() == 3
    qtbot.keyClick(results, Qt.Key.Key_Right)
    assert results.current_row() == 4
    assert page.details.name.text() == page.model.item(4).hit.path.name, "the details pane follows the selection"
    with Catalog(window.ctx.settings.catalog_path) as catalog:
        saved = list_queries(catalog, window.ctx.settings)
        assert len(saved) == 1, "the query is saved once, when first graded"
        grades = {Path(j.path).name: j.grade for j in judgements(catalog, saved[0].id)}
    names = [page.model.item(r).hit.path.name for r in range(3)]
    assert grades == dict(zip(names, [2, 1, 0], strict=True))
    assert page.saved_query.name == saved[0].name

    # the same query again shows the grades already given
    result = search(qtbot, window)
    assert [i.grade for i in result.items[:3]] == [2, 1, 0]
    assert result.saved_query is not None

    # pool mode: unjudged results first
    page.query.pool.setChecked(True)
    result = search(qtbot, window)
    assert result.pooled
    graded = [i.grade is not None for i in result.items]
    assert graded == sorted(graded), "unjudged results come first in pool mode"
    assert result.items[0].pool_ranks == {"baseline-image": result.items[0].pool_ranks["baseline-image"]}
    page.query.pool.setChecked(False)

    # evaluation over the saved query: the comparison table, best marked, and exports
    view = window.eval_view
    window.show_page("evaluate")
    assert view.queries.proxy.rowCount() == 1
    view.latency_s.setValue(0.0)
    with qtbot.waitSignal(view.evaluation_finished, timeout=TIMEOUT_MS):
        view.run_evaluation()
    table = view.comparison
    assert table.proxy.rowCount() == 1
    assert table.cell_text(0, 0) == "baseline-image"
    headers = [table.source.headerData(c, Qt.Orientation.Horizontal) for c in range(table.source.columnCount())]
    assert "MAP" in headers and "P@1" in headers
    assert any(table.cell_text(0, c).startswith("★") for c in range(1, len(headers)))
    assert view.speed.cell_text(0, 0) == "baseline-image"
    assert view.misses.topLevelItemCount() == 1
    assert view.charts_layout.count() >= 1
    for kind in ("html", "csv", "json"):
        out = tmp_path / f"report.{kind}"
        with qtbot.waitSignal(view.exported, timeout=TIMEOUT_MS):
            view.export(out, kind)
        assert out.stat().st_size > 100


def test_cancel_indexing_midway_then_resume(qtbot, window, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    for i in range(40):
        mf.make_image(folder / f"img{i:02d}.png", seed=i, size=(96, 72))
    panel = window.library_panel
    panel.add_folders([folder])
    panel.set_encoders(["baseline-image"])
    with qtbot.waitSignal(panel.indexing_started, timeout=TIMEOUT_MS):
        worker = panel.start_indexing()
    assert panel.cancel_button.isEnabled() and not panel.index_button.isEnabled()

    def cancel_midway(p) -> None:  # runs on the worker's thread: deterministic
        if p.stage == "embed images" and p.done >= 8:
            worker.cancel()

    worker.progress.connect(cancel_midway)
    with qtbot.waitSignal(panel.indexing_finished, timeout=TIMEOUT_MS) as blocker:
        pass
    first = blocker.args[0].report
    assert first.cancelled
    done_first = first.encoders["baseline-image"].items
    assert 0 < done_first < 40  # the store commits in batches: what was committed when cancelled
    assert "Cancelled" in panel.stage_label.text()
    assert panel.index_button.isEnabled() and not panel.cancel_button.isEnabled()

    with qtbot.waitSignal(panel.indexing_finished, timeout=TIMEOUT_MS) as blocker:
        panel.start_indexing()
    second = blocker.args[0].report
    assert not second.cancelled
    assert second.encoders["baseline-image"].items == 40 - done_first, "the second run resumes, it does not redo"
    assert "40 images" in panel.summary.text()


def test_text_query(qtbot, make_window, media: Path, tmp_path: Path, settings) -> None:
    """With Whisper (and its weights) a spoken phrase is found by text; without, the core's error shows."""
    import audio_factory as af

    whisper_ready = importlib.util.find_spec("mediasearch.encoders.whisper_speech") is not None
    shared = Path(__file__).resolve().parents[2] / "shared" / "models"
    if whisper_ready and (shared / "whisper" / "tiny.en.pt").is_file() and af.have_espeak():
        window = make_window(settings.with_(model_dir=shared))
        speech_dir = tmp_path / "speech"
        speech_dir.mkdir()
        for name, text in (("fox", "the quick brown fox jumps over the lazy dog"), ("weather", "tomorrow will be sunny and warm")):
            af.write_audio(speech_dir / f"{name}.wav", af.place([(0.5, af.speech(text))], total_s=5.0))
        index(qtbot, window, speech_dir, ["whisper-tiny.en"])
        window.search_page.query.set_text("sunny weather tomorrow")
        result = search(qtbot, window)
        assert result.items and result.items[0].hit.path.name == "weather.wav"
        assert result.items[0].hit.text
        return

    window = make_window()
    index(qtbot, window, media, ["baseline-image"])
    page = window.search_page
    page.query.set_text("a red car")
    assert page.query.modality().value == "text"
    with qtbot.waitSignal(page.search_failed, timeout=TIMEOUT_MS) as blocker:
        page.query.request_search()
    message = str(blocker.args[0])
    assert "no encoder in this library answers text queries" in message
    assert last_error_text() == message


def test_sound_rows_play_and_video_opens_at_time(qtbot, window, media: Path) -> None:
    from ui.models import ResultRole

    index(qtbot, window, media, ["baseline-image", "baseline-audio"])
    page = window.search_page
    # an audio query: sound rows with spectrogram thumbnails
    assert page.query.set_file(media / "sounds" / "tone.wav")
    assert page.query.modality().value == "audio"
    assert page.query.start.isVisibleTo(page.query) and page.query.end.isVisibleTo(page.query)
    page.query.end.setValue(1.5)
    result = search(qtbot, window)
    assert result.spec.end_s == 1.5
    rows = [page.model.index(r) for r in range(page.model.rowCount())]
    assert rows and all(i.data(ResultRole.IS_SOUND) for i in rows)
    assert {i.hit.path.name for i in result.items} == {"clip.mp4", "beep.flac"}  # the example itself is left out
    qtbot.waitUntil(lambda: rows[0].data(ResultRole.THUMB) is not None or bool(rows[0].data(ResultRole.THUMB_ERROR)), timeout=TIMEOUT_MS)
    assert rows[0].data(ResultRole.THUMB) is not None, rows[0].data(ResultRole.THUMB_ERROR)
    # play degrades to the system player (no audio device here), from the hit's start
    page.results.list.setFocus()
    qtbot.keyClick(page.results.list, Qt.Key.Key_Space)
    assert window.opened and window.opened[-1][1].name == result.items[0].hit.path.name
    assert window.opened[-1][2] == result.items[0].hit.start_s

    # a video example: its frame at the start time, or its soundtrack over a time range
    from mediasearch.media import Modality

    query = page.query
    assert query.set_file(media / "clips" / "clip.mp4")
    assert query.modality() is Modality.IMAGE
    assert query.start.isVisibleTo(query) and not query.end.isVisibleTo(query)
    query.start.setValue(2.5)
    result = search(qtbot, window)
    assert result.spec.modality is Modality.IMAGE and result.spec.start_s == 2.5
    assert all(not i.data(ResultRole.IS_SOUND) for i in map(page.model.index, range(page.model.rowCount())))
    query.use_box.setCurrentIndex(query.use_box.findData(Modality.AUDIO.value))
    assert query.modality() is Modality.AUDIO and query.end.isVisibleTo(query)
    result = search(qtbot, window)
    assert result.spec.modality is Modality.AUDIO
    assert {i.hit.path.name for i in result.items} == {"tone.wav", "beep.flac"}

    # a video hit in the grid: double-click opens it at the frame's time
    page.query.set_file(media / "photo01.jpg")
    result = search(qtbot, window)
    row = next(r for r, item in enumerate(result.items) if item.hit.kind.value == "video")
    hit = result.items[row].hit
    page.results.list.scrollTo(page.model.index(row))  # the video may rank below the first screenful
    qtbot.wait(100)
    rect = page.results.list.visualRect(page.model.index(row))
    # a real double-click is press, release, double-click: Qt opens only what the press was on
    qtbot.mouseClick(page.results.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.results.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.opened[-1][1].name == "clip.mp4" and window.opened[-1][2] == hit.start_s


def test_drop_folder_remove_it_and_remember_state(qtbot, make_window, media: Path, settings) -> None:
    window = make_window()
    panel = window.library_panel
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(media))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    assert panel.folders() == [media.resolve()]
    index(qtbot, window, None, ["baseline-image"])
    window.show_page("models")
    window.resize(777, 666)
    window.close()

    # a new window remembers folders, encoders, page and size
    again = make_window()
    assert again.library_panel.folders() == [media.resolve()]
    assert again.library_panel.selected_encoders() == ["baseline-image"]
    assert again.current_page() == "models"
    assert (again.width(), again.height()) == (777, 666)
    assert again.ctx.prefs.last_library == settings.library_dir

    # removing the folder takes its files out of the index
    with qtbot.waitSignal(again.ctx.library_updated, timeout=TIMEOUT_MS):
        again.library_panel.remove_folders([media])
    assert again.library_panel.folders() == []
    assert "nothing indexed" in again.library_panel.summary.text()


def test_models_view_status_and_import(qtbot, make_window, settings, tmp_path: Path) -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "models"
    source = shared / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"
    window = make_window(settings.with_(model_dir=tmp_path / "store"))
    view = window.models_view
    window.show_page("models")
    names = [view.table.cell_text(r, 0) for r in range(view.table.proxy.rowCount())]
    assert "tf-efficientnet-lite0" in names
    status = {view.table.cell_text(r, 0): view.table.cell_text(r, 1) for r in range(len(names))}
    assert status["tf-efficientnet-lite0"] == "missing"
    if not source.is_file():
        pytest.skip("real EfficientNet-Lite0 weights not present")
    with qtbot.waitSignal(view.job_finished, timeout=TIMEOUT_MS):
        view.import_file("tf-efficientnet-lite0", source)
    status = {view.table.cell_text(r, 0): view.table.cell_text(r, 1) for r in range(view.table.proxy.rowCount())}
    assert status["tf-efficientnet-lite0"] == "present"
    # the encoder becomes available in the library's picker
    tree = window.library_panel.encoder_tree
    items = [tree.topLevelItem(g).child(c) for g in range(tree.topLevelItemCount()) for c in range(tree.topLevelItem(g).childCount())]
    lite = next(i for i in items if i.data(0, Qt.ItemDataRole.UserRole) == "efficientnet-lite0")
    assert lite.flags() & Qt.ItemFlag.ItemIsEnabled

    # a wrong file for a model with a published checksum is refused, with the core's message in the dialog
    bogus = tmp_path / "tiny.en.pt"
    bogus.write_bytes(os.urandom(1024))
    with qtbot.waitSignal(view.job_failed, timeout=TIMEOUT_MS) as blocker:
        view.import_file("whisper-tiny-en", bogus)
    assert last_error_text() == str(blocker.args[0])


def test_dark_palette_and_errors_without_library_content(qtbot, make_window) -> None:
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    window = make_window(dark=True)
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert QApplication.style().name().lower() == "fusion"
    assert window.current_page() == "library", "an empty library opens on the Library page"
    window.library_panel.start_indexing()
    assert "Add a folder" in last_error_text()
    window.act_dark.trigger()
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 180
    page = window.search_page
    page.query.request_search()
    assert "type some text" in last_error_text()
    grab = window.grab()
    assert grab.width() >= 760 and not grab.isNull()


def test_watched_folder_reindexes_on_change(qtbot, window, tmp_path: Path) -> None:
    folder = tmp_path / "watched"
    mf.make_image(folder / "a.png", seed=1, size=(64, 48))
    index(qtbot, window, folder, ["baseline-image"])
    panel = window.library_panel
    panel._debounce.setInterval(200)
    panel.watch_box.setChecked(True)
    assert str(folder.resolve()) in panel.watcher.directories()
    with qtbot.waitSignal(panel.indexing_finished, timeout=TIMEOUT_MS) as blocker:
        mf.make_image(folder / "b.png", seed=2, size=(64, 48))
    assert blocker.args[0].report.new == 1
    assert "2 images" in panel.summary.text()


def test_cli_gui_command_launches_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import ui.app
    from mediasearch.cli import main as cli_main

    seen: list = []
    monkeypatch.setattr(ui.app, "main", lambda argv=None: seen.append(argv) or 0)
    assert cli_main(["--library", str(tmp_path / "lib"), "gui"]) == 0
    assert seen == [["--library", str(tmp_path / "lib")]]


def test_core_never_imports_qt() -> None:
    import subprocess
    import sys

    code = (
        "import sys, importlib, pkgutil, mediasearch\n"
        "for m in pkgutil.walk_packages(mediasearch.__path__, 'mediasearch.'):\n"
        "    if m.name.endswith('__main__'): continue\n"
        "    try: importlib.import_module(m.name)\n"
        "    except ImportError: pass\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'shiboken6', 'ui')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout


def test_models_view_pulls_from_a_mirror_with_progress(qtbot, make_window, settings, tmp_path: Path, monkeypatch) -> None:
    """Pull through the model store's mirror option, served from ../shared/models on localhost."""
    import functools
    import http.server
    import threading

    shared = Path(__file__).resolve().parents[2] / "shared" / "models"
    if not (shared / "timm" / "tf_efficientnet_lite0.imagenet.safetensors").is_file():
        pytest.skip("real EfficientNet-Lite0 weights not present")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("MEDIASEARCH_MODEL_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        window = make_window(settings.with_(model_dir=tmp_path / "store"))
        view = window.models_view
        view.select("tf-efficientnet-lite0")
        assert view.selected() == "tf-efficientnet-lite0" and view.pull_button.isEnabled()
        seen: list = []
        with qtbot.waitSignal(view.job_finished, timeout=TIMEOUT_MS):
            worker = view.pull(view.selected())
            worker.progress.connect(seen.append)  # runs on the worker thread: only records
        assert any(p.unit == "B" and p.total for p in seen), "byte progress was reported"
        status = {view.table.cell_text(r, 0): view.table.cell_text(r, 1) for r in range(view.table.proxy.rowCount())}
        assert status["tf-efficientnet-lite0"] == "present"
        assert view.progress.format() == "done"
    finally:
        server.shutdown()


def test_folders_indexed_from_the_cli_show_in_the_gui_and_back(make_window, settings, media: Path, tmp_path: Path) -> None:
    """The library records its roots: a folder indexed by the CLI is listed in the GUI, and
    a folder added in the GUI is listed by `mediasearch roots`."""
    from mediasearch.indexing import index_paths
    from mediasearch.library import Library

    with Library(settings) as lib:
        index_paths(lib, [media], encoders=["baseline-image"])
    window = make_window()
    assert window.library_panel.folders() == [media.resolve()]
    other = tmp_path / "more"
    other.mkdir()
    window.library_panel.add_folders([other])
    with Library(settings) as lib:
        assert set(lib.catalog.roots()) == {media.resolve(), other.resolve()}


def test_results_say_what_an_encoder_has_not_embedded_and_how_scores_read(qtbot, make_window, settings, media: Path, query_image: Path) -> None:
    """Issue 14 items 1 and 6 in the GUI: a stale encoder is named under the results, and the
    summary's tooltip says how each encoder's scores read."""
    from mediasearch.indexing import index_paths
    from mediasearch.library import Library
    from mediasearch.media import AssetStatus, MediaKind

    with Library(settings) as lib:
        index_paths(lib, [media], encoders=["baseline-image"])
        # a file the catalog knows but baseline-image has not embedded (another encoder's run found it)
        with lib.catalog.transaction():
            lib.catalog.upsert_asset(mf.make_image(media / "added-later.jpg", seed=321), kind=MediaKind.IMAGE,
                                     size=1, mtime_ns=1, content_hash="late", status=AssetStatus.OK)
    window = make_window()
    page = window.search_page
    assert page.query.set_file(query_image)
    search(qtbot, window)
    summary = page.results.summary
    assert "baseline-image has not embedded 1 of" in summary.text()
    assert "baseline-image" in summary.toolTip() and "cosine" in summary.toolTip()
