"""First-hour GUI polish: a new example clears old results, the encoder box fits, video previews start at the hit,
readable scores, the dark palette restyles the sidebar, quitting is quick, model sizes agree with the CLI, no display is one line."""

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

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)] if importlib.util.find_spec("pytest_timeout") else [pytest.mark.gui]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(qtbot, tmp_path: Path, settings):
    """An English main window over an empty library, settings in a private INI file."""
    from ui import errors
    from ui.app import build_window, create_app
    from ui.prefs import Prefs

    create_app([])
    w = build_window(settings, Prefs.from_file(tmp_path / "ui.ini"), dark=False)
    qtbot.addWidget(w)
    w.resize(1280, 820)
    w.show()
    qtbot.waitExposed(w)
    yield w
    if w.isVisible():
        w.close()
    for box in list(errors.shown):
        box.close()


def _hit(path: Path, *, kind: str = "image", start_s: float | None = None, rank: int = 1, score: float = 0.9):
    from mediasearch.media import Hit, MediaKind

    return Hit(rank=rank, path=path, kind=MediaKind(kind), score=score, encoder="baseline-image", segment_id=rank,
               asset_id=rank, start_s=start_s)


def _show_results(page, items, spec) -> None:  # noqa: ANN001
    """Put results on the page as a finished search does (without a library to search)."""
    from ui.actions import SearchOutcome

    page.outcome = SearchOutcome(spec, items, ["baseline-image"], None, 0.01)
    page.model.set_items(items)
    page._update_summary()


def test_a_new_example_clears_the_old_results(window, tmp_path: Path) -> None:
    from mediasearch.media import Modality
    from ui.actions import QuerySpec, ResultItem

    page = window.search_page
    a = mf.make_photo_like(tmp_path / "ex" / "a.jpg", seed=1, size=(160, 120))
    b = mf.make_photo_like(tmp_path / "ex" / "b.jpg", seed=2, size=(160, 120))
    assert page.query.set_file(a)
    items = [ResultItem(_hit(tmp_path / f"r{i}.jpg", rank=i + 1), f"hash{i}") for i in range(3)]
    _show_results(page, items, QuerySpec(Modality.IMAGE, path=a))
    assert page.model.rowCount() == 3 and "a.jpg" in page.results.summary.text()

    assert page.query.set_file(b)
    assert page.model.rowCount() == 0, "results of the previous example stayed under the new one"
    assert page.outcome is None
    assert "a.jpg" not in page.results.summary.text()
    assert "Search" in page.results.summary.text()

    # clearing the example, or typing text instead, also drops results that no longer answer it
    _show_results(page, items, QuerySpec(Modality.IMAGE, path=b))
    page.query.drop.clear()
    assert page.model.rowCount() == 0


def test_encoder_box_shows_its_whole_text(window, qtbot) -> None:
    from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionComboBox

    window.show_page("search")
    combo = window.search_page.query.encoder
    long_text = "Best available (efficientnet-lite0, whisper-tiny.en)"
    combo.insertItem(0, long_text, None)
    combo.setCurrentIndex(0)
    QApplication.processEvents()
    window.search_page.query.layout().activate()
    QApplication.processEvents()
    opt = QStyleOptionComboBox()
    combo.initStyleOption(opt)
    text_rect = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, combo)
    needed = combo.fontMetrics().horizontalAdvance(long_text)
    assert text_rect.width() >= needed, f"encoder box clipped: {text_rect.width()} px for {needed} px of text"


def test_video_example_preview_is_at_the_start_time(window, tmp_path: Path) -> None:
    from ui.actions import ResultItem
    from ui.models import thumb_spec

    video = tmp_path / "ex" / "clip.mp4"
    mf.make_video(video, duration_s=4.0, fps=8, size=(96, 64), seed=3)
    query = window.search_page.query
    assert query.set_file(video, start_s=2.5)
    assert query.drop.thumb.kind == "frame" and query.drop.thumb.start_s == pytest.approx(2.5)
    query.start.setValue(1.5)
    assert query.drop.thumb.start_s == pytest.approx(1.5), "the preview did not follow the start time"
    # a video hit previews (and searches with) its frame at the hit's time, not 0 s
    item = ResultItem(_hit(video, kind="video", start_s=3.0), "h")
    assert thumb_spec(item).start_s == pytest.approx(3.0)
    window.search_page.model.set_items([item])
    window.search_page.results.select_row(0)
    window.search_page.details.similar_button.click()
    assert query.file == video and query.start.value() == pytest.approx(3.0)
    assert query.drop.thumb.start_s == pytest.approx(3.0)


def test_secondary_text_and_badges_are_readable() -> None:
    from PySide6.QtGui import QColor, QPalette

    from ui.app import create_app, dark_palette, light_palette
    from ui.models import GRADE_COLOURS
    from ui.text import contrast, secondary_text

    create_app([])
    for pal in (light_palette(), dark_palette()):
        base = pal.color(QPalette.ColorRole.Base)
        muted = secondary_text(pal)
        assert contrast(muted, base) >= 4.5, (muted.name(), base.name())
        assert muted != pal.color(QPalette.ColorRole.Text)  # still visibly secondary
        window_bg = pal.color(QPalette.ColorRole.Window)
        assert contrast(secondary_text(pal, QPalette.ColorRole.WindowText), window_bg) >= 4.5
    for grade, colour in GRADE_COLOURS.items():
        assert contrast(colour, QColor("white")) >= 4.5, f"white on the grade {grade} badge is too faint"
    # the old score colour (Fusion's disabled text) was the faint one
    light = light_palette()
    old = light.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert contrast(old, light.color(QPalette.ColorRole.Base)) < 4.5


def test_score_text_on_a_card_is_dark_enough(window, tmp_path: Path) -> None:
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QImage, QPainter, QPalette
    from PySide6.QtWidgets import QStyleOptionViewItem

    from ui.actions import ResultItem
    from ui.text import contrast

    results = window.search_page.results
    results.model.set_items([ResultItem(_hit(tmp_path / "missing.jpg", score=0.123), "h")])
    delegate = results.delegate
    size = delegate.card_size()
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, size.width(), size.height())
    option.palette = results.list.palette()
    delegate.paint(painter, option, results.model.index(0))
    painter.end()
    # the score line: the band above the card's bottom padding, left of the grade chips
    fh = results.list.fontMetrics().height()
    band = [QColor(image.pixel(x, y)) for y in range(size.height() - 6 - fh - 4, size.height() - 6)
            for x in range(8, size.width() // 2)]
    darkest = min(band, key=lambda c: c.lightness())
    base = option.palette.color(QPalette.ColorRole.Base)
    assert contrast(darkest, base) >= 4.5, f"score text {darkest.name()} on {base.name()}"


def test_dark_palette_restyles_the_sidebar_and_its_icons(window, qtbot) -> None:
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QApplication

    from ui.app import apply_palette

    def sidebar_background() -> QColor:
        image = window.sidebar.grab().toImage()
        return QColor(image.pixel(4, image.height() - 4))

    def icon_lightness(row: int) -> int:
        image = window.sidebar.item(row).icon().pixmap(28).toImage()
        values = [QColor.fromRgba(image.pixel(x, y)) for x in range(image.width()) for y in range(image.height())]
        opaque = [c for c in values if c.alpha() > 200]
        assert opaque
        return max(c.lightness() for c in opaque)

    assert sidebar_background().lightness() > 180
    window.act_dark.trigger()
    QApplication.processEvents()
    try:
        assert window.act_dark.isChecked()
        assert sidebar_background().lightness() < 90, "the sidebar stayed light in the dark palette"
        assert icon_lightness(1) > 170, "sidebar icons stayed dark on the dark sidebar"
        from PySide6.QtGui import QPalette

        from ui.text import contrast
        from ui.widgets import HintLabel

        bg = QApplication.palette().color(QPalette.ColorRole.Window)
        for label in window.findChildren(HintLabel):
            assert contrast(label.palette().color(QPalette.ColorRole.WindowText), bg) >= 4.5, label.text()
        window.act_dark.trigger()
        QApplication.processEvents()
        assert sidebar_background().lightness() > 180
        assert icon_lightness(1) < 100
    finally:
        apply_palette(QApplication.instance(), dark=False)


QUIT_SCRIPT = r"""
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from ui.app import create_app, main

create_app([])

def go():
    from ui.main_window import MainWindow
    from ui.workers import CallWorker
    w = next(x for x in QApplication.topLevelWidgets() if isinstance(x, MainWindow))
    def stubborn(_lib, _report, _cancel):
        time.sleep(30)  # like a model still loading: it cannot look at its cancel token
        return "late"
    w.ctx.start(CallWorker(w.ctx.settings, stubborn, title="stubborn", needs_library=False))
    def quit_():
        print("QUIT", time.monotonic(), flush=True)
        w.act_quit.trigger()
    QTimer.singleShot(300, quit_)

QTimer.singleShot(200, go)
code = main(["--library", sys.argv[1], "--settings-file", sys.argv[2]])
print("RETURNED", time.monotonic(), flush=True)
sys.exit(code)
"""


def test_quit_is_quick_with_a_job_that_ignores_cancel(tmp_path: Path) -> None:
    ini = tmp_path / "ui.ini"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", QUIT_SCRIPT, str(tmp_path / "lib"), str(ini)], env=env,
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    ended = time.monotonic()
    assert proc.returncode == 0, proc.stderr
    quit_at = float(next(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("QUIT")))
    took = ended - quit_at
    assert took < 1.5, f"quitting took {took:.2f} s (the job would have held it {30 - (quit_at - t0):.0f} s)"
    assert "window" in ini.read_text(), "the window layout was not saved on quit"


def test_models_page_sizes_agree_with_the_cli(qtbot, tmp_path: Path, shared_models: Path) -> None:
    from mediasearch.cli_models import format_bytes
    from mediasearch.config import Settings
    from ui.app import build_window, create_app
    from ui.prefs import Prefs

    create_app([])
    settings = Settings(library_dir=tmp_path / "library", model_dir=shared_models)
    w = build_window(settings, Prefs.from_file(tmp_path / "ui.ini"), dark=False)
    qtbot.addWidget(w)
    env = {**os.environ, "MEDIASEARCH_MODEL_DIR": str(shared_models), "MEDIASEARCH_HOME": str(tmp_path / "library")}
    proc = subprocess.run([sys.executable, "-m", "mediasearch.cli", "models", "list", "--json"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    cli = {m["name"]: m for m in json.loads(proc.stdout)["models"]}
    table = w.models_view.table
    headers = [table.source.table.headers[c] for c in range(len(table.source.table.headers))]
    disk_col, size_col = headers.index("On disk"), headers.index("Published size")
    installed = 0
    for row in range(table.proxy.rowCount()):
        name = table.cell_text(row, 0)
        on_disk, published = table.cell_text(row, disk_col), table.cell_text(row, size_col)
        m = cli[name]
        assert "unknown" not in (on_disk + published)
        if m["size_on_disk"]:
            installed += 1
            assert on_disk == format_bytes(m["size_on_disk"]), name
        else:
            assert on_disk == "—", name
        assert published == (format_bytes(m["size"]) if m["size"] else "—"), name
    assert installed >= 2, "the shared model folder should hold installed weights"
    w.close()


def test_display_problem_rules() -> None:
    from ui.app import display_problem

    assert display_problem({}, "linux") is not None
    assert "xvfb-run" in display_problem({}, "linux") and "QT_QPA_PLATFORM=offscreen" in display_problem({}, "linux")
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "minimal"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "xcb"}, "linux") is not None
    assert display_problem({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux") is not None
    assert display_problem({}, "win32") is None and display_problem({}, "darwin") is None


def test_gui_without_a_display_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["MEDIASEARCH_HOME"] = str(tmp_path / "library")
    for command in (["-m", "mediasearch.cli", "gui"], ["-m", "ui.app"]):
        proc = subprocess.run([sys.executable, *command], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert proc.returncode == 2, (command, proc.returncode, proc.stderr)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, proc.stderr
        assert "DISPLAY" in lines[0] and "xvfb-run" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0]
        assert "Reinstalling" not in proc.stderr


def test_chart_legend_does_not_cover_bars() -> None:
    pytest.importorskip("matplotlib")
    from ui.charts import metric_bars, metric_bars_figure

    metrics = ["P@1", "P@5", "R@10", "MAP", "NDCG@10"]
    table = {"efficientnet-lite0": {m: 1.0 for m in metrics}, "baseline-image": {m: 0.95 for m in metrics}}
    fig = metric_bars_figure(table, metrics, "图片查询 → 图片")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [patch.get_window_extent(renderer) for patch in ax.patches]
    assert len(bars) == 10
    covered = [b for b in bars if b.overlaps(legend)]
    assert not covered, f"the legend covers {len(covered)} bars"
    assert metric_bars(table, metrics, "x")[:8] == b"\x89PNG\r\n\x1a\n"


def test_in_app_playback_seeks_once_the_media_has_loaded(qtbot) -> None:
    """QMediaPlayer drops a position set before the media loads: the player seeks again then."""
    multimedia = pytest.importorskip("PySide6.QtMultimedia")
    from ui.app import create_app
    from ui.player import AudioPlayer

    create_app([])

    class FakeMediaPlayer:
        def __init__(self) -> None:
            self.pos = 0
            self.seeks: list[int] = []

        def position(self) -> int:
            return self.pos

        def setPosition(self, ms: int) -> None:  # noqa: N802 - Qt API
            self.seeks.append(ms)

    player = AudioPlayer()
    fake = FakeMediaPlayer()
    player._player = fake
    player._seek_ms = 6000  # play() asked for 6 s before the media had loaded
    status = multimedia.QMediaPlayer.MediaStatus
    player._on_media_status(status.LoadingMedia)
    assert fake.seeks == []
    player._on_media_status(status.LoadedMedia)
    assert fake.seeks == [6000] and player._seek_ms is None
    player._on_media_status(status.BufferedMedia)
    assert fake.seeks == [6000], "seeks only once"


def test_a_damaged_catalog_is_kept_aside_and_repair_offered(qtbot, tmp_path: Path) -> None:
    """The GUI's error dialog does what the CLI does for a malformed catalog: keep a copy, offer repair."""
    import sqlite3

    from ui import errors

    catalog = tmp_path / "library" / "catalog.sqlite"
    catalog.parent.mkdir()
    catalog.write_bytes(b"SQLite format 3\0" + bytes(range(256)) * 64)
    box = errors.show_error(None, sqlite3.DatabaseError("database disk image is malformed"), catalog_path=catalog)
    try:
        assert "damaged" in box.text() and "mediasearch repair" in box.informativeText()
        kept = list((catalog.parent / "damaged").glob("catalog-*.sqlite"))
        assert len(kept) == 1 and kept[0].read_bytes() == catalog.read_bytes()
        assert str(kept[0]) in box.informativeText()
    finally:
        box.close()
