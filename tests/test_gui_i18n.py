"""The Chinese interface is complete: every page in zh_CN shows no untranslated string, and the .ts sources match the code."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QProgressBar,
    QTabWidget,
    QTreeWidget,
    QWidget,
)

import media_factory as mf  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)] if importlib.util.find_spec("pytest_timeout") else [pytest.mark.gui]

ROOT = Path(__file__).resolve().parents[1]
TS = ROOT / "ui" / "i18n" / "mediasearch_zh_CN.ts"

#: words that stay as they are in any language: the app's name, formats, metrics, keys, units
ALLOWED_WORDS = {
    "mediasearch", "English", "HTML", "CSV", "JSON", "PNG", "MAP", "NDCG", "AP", "P@k", "R@k", "judged@k", "k", "d",
    "p50", "p95", "p99", "ms", "s", "px", "B", "KB", "MB", "GB", "Ctrl", "Shift", "Esc", "Enter", "Space", "Backspace",
    "F5", "O", "L", "R", "E", "F", "D", "Q", "id", "mAP", "MIT", "Apache-2.0", "CC-BY-4.0", "BSD-3-Clause",
}
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.@'-]*")


def _allowed_names() -> set[str]:
    from mediasearch.encoders.registry import REGISTRY
    from mediasearch.modelstore import ModelStore

    names = set(REGISTRY)
    store = ModelStore(Path("/nonexistent-model-dir"))
    names |= {s.name for s in store.statuses()}
    names |= {store.entry(s.name).library for s in store.statuses()}
    return names


def untranslated(text: str, names: set[str]) -> list[str]:
    """The parts of ``text`` that hold English words and no Chinese (paths, names and units aside)."""
    text = re.sub(r"<br\s*/?>|</?(p|li|h\d|tr|td|ul)>", "\n", text or "")
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\(&?[A-Z0-9]\)", "", text.replace("&nbsp;", " "))  # mnemonics: 文件(&F)
    text = text.replace("&", "")
    text = re.sub(r"\S*[/\\]\S*", " ", text)  # paths
    text = re.sub(r"[\w.=+-]*\w\.[A-Za-z0-9]{1,12}\b", " ", text)  # file names (photo01.jpg, Cnn14_mAP=0.431.pth)
    bad = []
    for part in re.split(r" · |\n|; |—| – |, |: ", text):
        if not part.strip() or CJK.search(part):
            continue
        words = [w.rstrip(".'-") for w in WORD.findall(part)]
        words = [w for w in words if w and w not in ALLOWED_WORDS and w not in names and not re.fullmatch(r"[a-z]", w)]
        if words:
            bad.append(part.strip())
    return bad


def visible_texts(window) -> list[tuple[str, str]]:  # noqa: ANN001 - MainWindow
    """(where, text) for every string the window shows now: widgets, items, headers, menus, tooltips."""
    out: list[tuple[str, str]] = [("window title", window.windowTitle())]
    widgets = [w for w in window.findChildren(QWidget) if w.isVisible()]

    def add(where: QWidget | str, text: str | None) -> None:
        if isinstance(text, str) and text:
            out.append((where if isinstance(where, str) else f"{type(where).__name__}#{where.objectName()}", text))

    for w in widgets:
        add(w, w.toolTip())
        if isinstance(w, QLabel):
            add(w, w.text())
        elif isinstance(w, QAbstractButton):
            add(w, w.text())
        elif isinstance(w, QGroupBox):
            add(w, w.title())
        elif isinstance(w, QLineEdit):
            add(w, w.placeholderText())
        elif isinstance(w, QComboBox):
            for i in range(w.count()):
                add(w, w.itemText(i))
        elif isinstance(w, QTabWidget):
            for i in range(w.count()):
                add(w, w.tabText(i))
                add(w, w.tabToolTip(i))
        elif isinstance(w, QProgressBar):
            add(w, w.text())
        elif isinstance(w, QAbstractSpinBox):
            add(w, w.specialValueText())
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            from PySide6.QtCore import QModelIndex, Qt

            model = w.model()
            try:
                columns = model.columnCount(QModelIndex())
            except TypeError:  # a list model: one column
                columns = 1
            rows = model.rowCount(QModelIndex())
            for c in range(columns):
                add(w, model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole))
                add(w, model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole))
            if isinstance(w, QTreeWidget):
                stack = [w.topLevelItem(i) for i in range(w.topLevelItemCount())]
                while stack:
                    item = stack.pop()
                    for c in range(columns):
                        add(w, item.text(c))
                        add(w, item.toolTip(c))
                    stack.extend(item.child(i) for i in range(item.childCount()))
            elif isinstance(w, QListWidget):
                for i in range(w.count()):
                    add(w, w.item(i).text())
                    add(w, w.item(i).toolTip())
            else:
                for r in range(min(rows, 200)):
                    for c in range(columns):
                        index = model.index(r, c)
                        add(w, index.data(Qt.ItemDataRole.DisplayRole) if isinstance(index.data(), str) else None)
                        add(w, index.data(Qt.ItemDataRole.ToolTipRole))

    def menu(m: QMenu, where: str) -> None:
        add(where, m.title())
        for action in m.actions():
            add(f"{where} > action", action.text())
            add(f"{where} > tooltip", action.toolTip() if action.toolTip() != action.text().replace("&", "") else "")
            add(f"{where} > status tip", action.statusTip())
            if action.menu() is not None:
                menu(action.menu(), f"{where} > {action.text()}")

    for action in window.menuBar().actions():
        if action.menu() is not None:
            menu(action.menu(), "menu")
    add("status bar", window.statusBar().currentMessage())
    return out


def clipped(window) -> list[str]:  # noqa: ANN001 - MainWindow
    """Visible widgets whose text does not fit: combo boxes, buttons, one-line labels, group titles."""
    from PySide6.QtWidgets import QCheckBox, QPushButton, QStyle, QStyleOptionComboBox, QToolButton

    out = []
    for w in window.findChildren(QWidget):
        if not w.isVisible() or w.width() <= 1:
            continue
        fm = w.fontMetrics()
        if isinstance(w, QComboBox) and w.currentText():
            opt = QStyleOptionComboBox()
            w.initStyleOption(opt)
            field = w.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, w)
            icon = w.iconSize().width() + 4 if not w.itemIcon(w.currentIndex()).isNull() else 0
            need = fm.horizontalAdvance(w.currentText()) + icon
            if field.width() < need:
                out.append(f"combo {w.objectName() or w.currentText()!r}: {field.width()} px for {need} px")
        elif isinstance(w, (QPushButton, QCheckBox, QToolButton)) and w.text():
            if w.width() < w.minimumSizeHint().width() - 1:
                out.append(f"button {w.text()!r}: {w.width()} px for {w.minimumSizeHint().width()} px")
        elif isinstance(w, QLabel) and w.text() and not w.wordWrap() and w.textFormat() != Qt.TextFormat.RichText and "<" not in w.text():
            need = max(fm.horizontalAdvance(line) for line in w.text().splitlines())
            if w.contentsRect().width() < need:
                out.append(f"label {w.text()!r}: {w.contentsRect().width()} px for {need} px")
        elif isinstance(w, QGroupBox) and w.title():
            need = fm.horizontalAdvance(w.title()) + 16
            if w.width() < need:
                out.append(f"group {w.title()!r}: {w.width()} px for {need} px")
    return out


def _window(qtbot, tmp_path: Path, settings, lang: str):  # noqa: ANN001
    from ui.app import build_window, create_app, install_language
    from ui.prefs import Prefs

    app = create_app([])
    install_language(app, lang)
    if lang != "en":
        assert app._mediasearch_translators, f"the {lang} translation did not load (pyside6-lrelease missing?)"
    window = build_window(settings, Prefs.from_file(tmp_path / "ui.ini"), dark=False)
    # closed by the tests themselves (a language switch deletes the first window)
    window.resize(1280, 820)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_page_clips_its_text(qtbot, tmp_path: Path, settings, lang: str) -> None:
    from PySide6.QtWidgets import QApplication

    from ui import errors
    from ui.app import create_app, install_language

    window = _window(qtbot, tmp_path, settings, lang)
    try:
        video = tmp_path / "ex" / "clip.mp4"
        mf.make_video(video, duration_s=2.0, fps=8, size=(96, 64), seed=3)
        problems = []
        for key in ("search", "library", "evaluate", "models"):
            window.show_page(key)
            if key == "search":
                window.search_page.query.set_file(video, start_s=1.0)
            QApplication.processEvents()
            problems += [f"{key}: {p}" for p in clipped(window)]
        assert not problems, f"clipped in {lang}:\n" + "\n".join(problems)
    finally:
        window.close()
        for box in list(errors.shown):
            box.close()
        install_language(create_app([]), "en")


@pytest.fixture
def zh_window(qtbot, tmp_path: Path, settings):
    """The main window in Simplified Chinese over an empty library."""
    from ui import errors
    from ui.app import create_app, install_language

    from shiboken6 import isValid

    window = _window(qtbot, tmp_path, settings, "zh_CN")
    ctx = window.ctx
    yield window
    for w in (window, ctx.window):  # a language switch replaces the window
        if isValid(w):
            w.close()
    for box in list(errors.shown):
        box.close()
    install_language(create_app([]), "en")


def _assert_translated(window, names: set[str], where: str) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    problems = []
    for widget, text in visible_texts(window):
        for part in untranslated(text, names):
            problems.append(f"{where}: {widget}: {part!r}  (in {text[:80]!r})")
    assert not problems, "untranslated strings:\n" + "\n".join(sorted(set(problems)))


def test_every_page_is_chinese(zh_window, qtbot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QMessageBox

    window = zh_window
    names = _allowed_names() | {window.ctx.settings.library_dir.name}  # a folder name
    assert window.sidebar.item(0).text() == "搜索"
    for key in ("search", "library", "evaluate", "models"):
        window.show_page(key)
        _assert_translated(window, names, key)

    # the states a page goes through: an example image, a video example, a model selected, a tab switched
    window.show_page("search")
    photo = mf.make_photo_like(tmp_path / "ex" / "photo.jpg", seed=1, size=(160, 120))
    assert window.search_page.query.set_file(photo)
    _assert_translated(window, names, "search with an image example")
    video = tmp_path / "ex" / "clip.mp4"
    mf.make_video(video, duration_s=2.0, fps=8, size=(96, 64), seed=3)
    assert window.search_page.query.set_file(video, start_s=1.0)
    _assert_translated(window, names, "search with a video example")
    window.show_page("models")
    window.models_view.table.selectRow(0)
    _assert_translated(window, names, "models with a selection")
    window.show_page("evaluate")
    for i in range(window.eval_view.tabs.count()):
        window.eval_view.tabs.setCurrentIndex(i)
        _assert_translated(window, names, f"evaluation tab {i}")

    # a dialog: Qt's own buttons come from qtbase_zh_CN
    window._show_shortcuts()
    box = next(b for b in window.findChildren(QMessageBox) if b.isVisible())
    qtbot.waitExposed(box)
    _assert_translated(window, names, "shortcuts dialog")
    box.close()


def test_checker_catches_english() -> None:
    names = {"efficientnet-lite0"}
    assert untranslated("Index now", names) == ["Index now"]
    assert untranslated("已索引 · 3 images", names) == ["3 images"]
    assert untranslated("最佳可用（efficientnet-lite0）", names) == []
    assert untranslated("efficientnet-lite0 · 12 ms · photo01.jpg · /tmp/x/y", names) == []
    assert untranslated("Ctrl+F", names) == []


def _messages(path: Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(path).getroot()
    return {
        (ctx.findtext("name"), m.findtext("source")): m.find("translation")
        for ctx in root.iter("context")
        for m in ctx.iter("message")
    }


def test_ts_is_complete_and_matches_the_code(tmp_path: Path) -> None:
    from ui.i18n import sources, tool

    messages = _messages(TS)
    unfinished = [k for k, t in messages.items() if t.get("type") in ("unfinished", "vanished", "obsolete") or not (t.text or "").strip()]
    assert not unfinished, f"untranslated in {TS.name}: {unfinished[:10]}"
    for (_ctx, source), t in messages.items():
        assert sorted(re.findall(r"\{\w*\}", source)) == sorted(re.findall(r"\{\w*\}", t.text)), source

    lupdate = tool("pyside6-lupdate")
    if lupdate is None:
        pytest.skip("pyside6-lupdate not installed")
    fresh = tmp_path / "fresh.ts"
    subprocess.run([lupdate, "-silent", "-locations", "none", *map(str, sources()), "-ts", str(fresh)], check=True, timeout=120)
    in_code = set(_messages(fresh))
    missing = sorted(in_code - set(messages))
    assert not missing, f"strings in the code but not in {TS.name} (run python -m ui.i18n --update): {missing[:10]}"


def test_core_strings_cover_the_registry_and_manifest() -> None:
    from ui.i18n import __main__ as tools
    from ui.i18n import core_strings

    for name, wanted in tools.core_strings().items():
        have = set(getattr(core_strings, name))
        lost = sorted(set(wanted) - have)
        assert not lost, f"{name} lacks {lost} (run python -m ui.i18n --update --core, then translate)"


def test_language_choice() -> None:
    from ui import i18n

    assert i18n.normalise("zh_CN.UTF-8") == "zh_CN"
    assert i18n.normalise("zh-Hans") == "zh_CN"
    assert i18n.normalise("en_GB.UTF-8") == "en"
    assert i18n.normalise("fr_FR") is None
    assert i18n.choose_language("zh_CN", "en") == "zh_CN"
    assert i18n.choose_language(None, "zh_CN") == "zh_CN"
    assert i18n.choose_language("system", "en") == i18n.system_language()


def test_system_locale_picks_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import i18n

    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.choose_language(None, None) == "zh_CN"
    assert i18n.choose_language(None, i18n.SYSTEM) == "zh_CN"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert i18n.choose_language(None, None) == "en"


def test_compiles_into_the_cache_when_no_qm_is_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import i18n

    if i18n.tool("pyside6-lrelease") is None:
        pytest.skip("pyside6-lrelease not installed")
    monkeypatch.setattr(i18n, "HERE", tmp_path / "pkg")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / TS.name).write_bytes(TS.read_bytes())
    monkeypatch.setattr(i18n, "cache_dir", lambda: tmp_path / "cache")
    qm = i18n.qm_path("zh_CN")
    assert qm == tmp_path / "cache" / "mediasearch_zh_CN.qm" and qm.stat().st_size > 1000
    from PySide6.QtCore import QTranslator

    t = QTranslator()
    assert t.load(str(qm))
    assert t.translate("MainWindow", "&Quit") == "退出(&Q)"


def test_language_menu_switches_live_and_remembers(zh_window, qtbot) -> None:
    from PySide6.QtWidgets import QApplication

    from ui import i18n

    window = zh_window
    assert set(window.language_actions) == {i18n.SYSTEM, *i18n.LANGUAGES}
    import threading

    from ui.workers import CallWorker

    ctx = window.ctx
    release = threading.Event()
    window.language_actions["en"].trigger()
    english = ctx.window
    try:
        assert ctx.prefs.get(i18n.PREF_KEY) == "en"
        assert english is not window and english.isVisible()
        assert english.sidebar.item(0).text() == "Search"
        assert english.menuBar().actions()[0].text() == "&File"
        QApplication.processEvents()
        english.language_actions["zh_CN"].trigger()
        chinese = ctx.window
        assert chinese.sidebar.item(0).text() == "搜索" and ctx.prefs.get(i18n.PREF_KEY) == "zh_CN"
        # the shared context survived both switches, and the replaced windows are gone from its signals
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        ctx.library_updated.emit()
        ctx.queries_changed.emit()
        ctx.thumbnails.ready.emit("no-such-key")
        assert chinese.library_panel.summary.text()
        # with work running, the switch waits for the next start
        chinese.ctx.start(CallWorker(ctx.settings, lambda *_: release.wait(10), title="t", needs_library=False))
        chinese.language_actions["en"].trigger()
        assert ctx.window is chinese and "下次启动" in chinese.statusBar().currentMessage()
        release.set()
        qtbot.waitUntil(lambda: not ctx.launcher.running(), timeout=5000)
    finally:
        release.set()


def test_gui_subcommand_forwards_the_language(tmp_path: Path) -> None:
    import os
    import sys

    from mediasearch.cli import build_parser

    args = build_parser().parse_args(["gui", "--lang", "zh_CN", "--", "--dark", "--page", "models"])
    assert args.lang == "zh_CN" and args.gui_args == ["--dark", "--page", "models"]
    out = tmp_path / "zh.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MEDIASEARCH_HOME": str(tmp_path / "library")}
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch.cli", "gui", "--lang", "zh_CN", "--",
         "--settings-file", str(tmp_path / "ui.ini"), "--page", "models", "--screenshot", str(out)],
        env=env, capture_output=True, text=True, timeout=90, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000
