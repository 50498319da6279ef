"""Start the desktop app: ``mediasearch gui`` or ``mediasearch-gui``.

``main(argv)`` builds the QApplication (Fusion style, high-DPI pass-through scaling,
light or dark palette), opens the library (``--library``, else the last one used, else
the default), and shows the main window. A few options script the app for demos and
the screenshot: ``--add-folder``, ``--encoders``, ``--index``, ``--demo-query`` /
``--demo-text``, ``--demo-grades`` and ``--screenshot OUT.png`` (grab the window once
all that is done and the thumbnails are drawn, then quit).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mediasearch-gui", description="The mediasearch desktop app.")
    p.add_argument("--library", metavar="DIR", help="library folder (default: the last one used, or $MEDIASEARCH_HOME)")
    p.add_argument("--model-dir", metavar="DIR", help="model store (default: $MEDIASEARCH_MODEL_DIR or the user cache)")
    theme = p.add_mutually_exclusive_group()
    theme.add_argument("--dark", action="store_true", help="dark palette")
    theme.add_argument("--light", action="store_true", help="light palette")
    p.add_argument("--settings-file", metavar="INI", help="keep the app's settings in this INI file instead of the user's")
    p.add_argument("--size", metavar="WxH", help="window size in pixels, e.g. 1280x800")
    p.add_argument("--page", choices=["search", "library", "evaluate", "models"], help="page to show first")
    p.add_argument("--lang", metavar="LANG", help="interface language: en, zh_CN or system (default: View → Language, else the system locale)")
    demo = p.add_argument_group("scripting (demos, screenshots)")
    demo.add_argument("--add-folder", action="append", default=[], metavar="DIR", help="add a folder to the library")
    demo.add_argument("--encoders", metavar="A,B", help="tick these encoders for indexing")
    demo.add_argument("--index", action="store_true", help="index the library's folders at start")
    demo.add_argument("--demo-query", metavar="FILE", help="search by this example file once ready")
    demo.add_argument("--demo-text", metavar="TEXT", help="search for this text once ready")
    demo.add_argument("--demo-encoder", metavar="NAME", help="encoder for the demo search")
    demo.add_argument("--demo-k", type=int, metavar="K", help="results for the demo search")
    demo.add_argument("--demo-grades", metavar="G,G,…", help="grade the first results (e.g. 2,1,1,0)")
    demo.add_argument("--demo-eval", action="store_true", help="run the evaluation after the demo search and grades")
    demo.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window when done, then quit")
    demo.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up scripted steps after S seconds")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    return p


# -- palettes ---------------------------------------------------------------------------------


def dark_palette():  # -> QPalette
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    c = QColor
    roles = {
        QPalette.ColorRole.Window: c(37, 39, 43),
        QPalette.ColorRole.WindowText: c(226, 228, 232),
        QPalette.ColorRole.Base: c(28, 30, 33),
        QPalette.ColorRole.AlternateBase: c(44, 47, 52),
        QPalette.ColorRole.ToolTipBase: c(52, 55, 61),
        QPalette.ColorRole.ToolTipText: c(232, 234, 238),
        QPalette.ColorRole.PlaceholderText: c(130, 134, 142),
        QPalette.ColorRole.Text: c(226, 228, 232),
        QPalette.ColorRole.Button: c(48, 51, 56),
        QPalette.ColorRole.ButtonText: c(226, 228, 232),
        QPalette.ColorRole.BrightText: c(255, 90, 90),
        QPalette.ColorRole.Light: c(70, 74, 80),
        QPalette.ColorRole.Midlight: c(58, 61, 67),
        QPalette.ColorRole.Mid: c(70, 74, 82),
        QPalette.ColorRole.Dark: c(22, 23, 26),
        QPalette.ColorRole.Shadow: c(10, 10, 12),
        QPalette.ColorRole.Highlight: c(59, 130, 246),
        QPalette.ColorRole.HighlightedText: c(255, 255, 255),
        QPalette.ColorRole.Link: c(96, 165, 250),
        QPalette.ColorRole.LinkVisited: c(167, 139, 250),
    }
    for role, colour in roles.items():
        pal.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, c(120, 124, 132))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, c(70, 74, 82))
    return pal


def light_palette():  # -> QPalette
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QStyleFactory

    pal = QStyleFactory.create("Fusion").standardPalette()
    pal.setColor(QPalette.ColorRole.Highlight, QColor(37, 99, 235))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(243, 244, 246))
    return pal


def apply_palette(app, *, dark: bool) -> None:  # noqa: ANN001 - QApplication
    """Switch the whole app between the light and dark palettes (icons follow)."""
    from PySide6.QtWidgets import QWidget

    app.setPalette(dark_palette() if dark else light_palette())
    for widget in app.allWidgets():
        if isinstance(widget, QWidget):
            widget.update()


#: Qt platform plugins that need no display server
HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"}


def display_problem(env: dict | None = None, platform: str | None = None) -> str | None:
    """Why Qt could not open a window here (one line, with what to do), or None when it can.

    Only Linux and the other X11/Wayland systems need a display server named in the
    environment; Windows and macOS always have one. Qt itself aborts the process when
    its platform plugin cannot connect, so this is checked before any QApplication exists.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform.startswith(("win", "darwin", "cygwin")):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa in HEADLESS_PLATFORMS:
        return None
    has_x = bool(env.get("DISPLAY"))
    has_wayland = bool(env.get("WAYLAND_DISPLAY"))
    if qpa == "xcb" and not has_x:
        missing = "QT_QPA_PLATFORM=xcb but DISPLAY is not set"
    elif qpa.startswith("wayland") and not has_wayland:
        missing = f"QT_QPA_PLATFORM={qpa} but WAYLAND_DISPLAY is not set"
    elif not qpa and not (has_x or has_wayland):
        missing = "no display: neither DISPLAY nor WAYLAND_DISPLAY is set"
    else:
        return None
    return (
        f"mediasearch-gui: {missing}. Run it in a desktop session (or set DISPLAY, e.g. DISPLAY=:0), "
        "under a virtual display with `xvfb-run mediasearch gui`, or without a window for scripts "
        "with QT_QPA_PLATFORM=offscreen."
    )


def install_language(app, lang: str) -> None:  # noqa: ANN001 - QApplication
    """Load the translations for ``lang`` (kept on the app so they stay alive)."""
    from ui import i18n

    previous = getattr(app, "_mediasearch_translators", None)
    if previous:
        i18n.uninstall(app, previous)
    app._mediasearch_translators = i18n.install(app, lang)
    app._mediasearch_language = lang


def create_app(argv: Sequence[str] | None = None):  # -> QApplication
    """The QApplication, set up once (Fusion, high-DPI pass-through, app identity)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from ui.prefs import APPLICATION, ORGANISATION
    from ui.resources import app_icon

    app = QApplication.instance()
    if app is None:
        # fractional scale factors (125 %, 150 %) as they are, not rounded
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication([sys.argv[0] if sys.argv else "mediasearch", *(argv or [])])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("mediasearch")
    app.setDesktopFileName("mediasearch")
    app.setStyle("Fusion")
    app.setWindowIcon(app_icon())
    return app


def build_window(settings, prefs, *, dark: bool | None = None):  # -> MainWindow
    """The context and main window over ``settings`` (used by main() and the tests)."""
    from PySide6.QtWidgets import QApplication

    from ui.context import AppContext
    from ui.main_window import MainWindow

    app = QApplication.instance()
    if dark is None:
        dark = bool(prefs.get("view/dark", False, bool))
    apply_palette(app, dark=dark)
    ctx = AppContext(settings, prefs)
    prefs.last_library = settings.library_dir
    window = MainWindow(ctx)
    window.act_dark.setChecked(dark)
    return window


def _settings(args: argparse.Namespace, prefs):  # noqa: ANN001
    from mediasearch.config import Settings

    settings = Settings()
    if args.library:
        settings = settings.with_(library_dir=Path(args.library).expanduser().resolve())
    elif not os.environ.get("MEDIASEARCH_HOME") and prefs.last_library is not None:
        settings = settings.with_(library_dir=prefs.last_library)
    if args.model_dir:
        settings = settings.with_(model_dir=Path(args.model_dir).expanduser())
    return settings


def _install_excepthook() -> None:
    """Unexpected exceptions in slots go to the app's error dialog instead of only stderr."""
    previous = sys.excepthook

    def hook(etype, value, tb):  # noqa: ANN001
        previous(etype, value, tb)
        try:
            from PySide6.QtWidgets import QApplication

            from ui import errors

            app = QApplication.instance()
            window = app.activeWindow() if app is not None else None
            errors.show_error(window, value)
        except Exception:  # noqa: BLE001
            traceback.print_exc()

    sys.excepthook = hook


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop app; returns the exit code."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    problem = display_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    try:
        from PySide6.QtWidgets import QApplication  # noqa: F401
    except ImportError as exc:  # pragma: no cover - install problem
        print(f"mediasearch-gui: PySide6 is not installed ({exc}); install mediasearch[gui]", file=sys.stderr)
        return 1
    app = create_app([])
    from ui import i18n
    from ui.prefs import Prefs

    prefs = Prefs.from_file(args.settings_file) if args.settings_file else Prefs()
    install_language(app, i18n.choose_language(args.lang, prefs.get(i18n.PREF_KEY, None)))
    settings = _settings(args, prefs)
    dark = True if args.dark else False if args.light else None
    window = build_window(settings, prefs, dark=dark)
    if args.size:
        w, _, h = args.size.lower().partition("x")
        window.resize(int(w), int(h))
    if args.page:
        window.show_page(args.page)
    _install_excepthook()
    window.show()
    script = Script(window, args)
    script.start()
    code = app.exec()
    code = script.exit_code if script.active else int(code)
    window = window.ctx.window  # a language switch builds the window again
    if window.abandoned:
        # Work that ignored its cancel token (a model loading, a frame decoding) would
        # hold the interpreter's exit; the window is closed and the settings are saved.
        log.info("exiting without waiting for %d running job(s)", window.abandoned)
        prefs.sync()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


class Script:
    """Runs the scripted steps of the command line in order, waiting on the app's signals."""

    def __init__(self, window, args: argparse.Namespace) -> None:  # noqa: ANN001
        self.window = window
        self.args = args
        self.active = bool(args.screenshot or args.index or args.demo_query or args.demo_text or args.add_folder)
        self.exit_code = 0
        self.t0 = time.monotonic()

    def start(self) -> None:
        if not self.active:
            return
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, self._folders)
        QTimer.singleShot(int(self.args.timeout * 1000), self._timed_out)

    def _folders(self) -> None:
        lib = self.window.library_panel
        if self.args.add_folder:
            lib.add_folders([Path(p) for p in self.args.add_folder])
        if self.args.encoders:
            lib.set_encoders([e.strip() for e in self.args.encoders.split(",") if e.strip()])
        if self.args.index:
            self.window.show_page("library")
            lib.indexing_finished.connect(self._indexed)
            lib.indexing_failed.connect(self._failed)
            if lib.start_indexing() is None:
                self._failed("indexing could not start")
        else:
            self._search()

    def _indexed(self, outcome) -> None:  # noqa: ANN001
        log.info("indexed: %s", outcome.summary.describe())
        self._search()

    def _search(self) -> None:
        page = self.window.search_page
        args = self.args
        if not (args.demo_query or args.demo_text):
            self._settle()
            return
        self.window.show_page("search")
        if args.demo_query:
            if not page.query.set_file(Path(args.demo_query)):
                self._failed("demo query file not usable")
                return
        else:
            page.query.set_text(args.demo_text)
        page.query.refresh_encoders()
        if args.demo_encoder:
            page.query.set_encoder(args.demo_encoder)
        if args.demo_k:
            page.query.k.setValue(args.demo_k)
        page.search_finished.connect(self._searched)
        page.search_failed.connect(self._failed)
        page.query.request_search()

    def _searched(self, outcome) -> None:  # noqa: ANN001
        page = self.window.search_page
        if self.args.demo_grades:
            grades = [int(g) for g in self.args.demo_grades.split(",") if g.strip()]
            page.results.advance.setChecked(False)
            for row, grade in enumerate(grades[: len(outcome.items)]):
                page.judge(row, grade)
            page.results.select_row(min(len(grades), len(outcome.items) - 1) if outcome.items else 0)
        if self.args.demo_eval:
            self._evaluate_when_saved()
            return
        self._settle()

    def _evaluate_when_saved(self) -> None:
        from PySide6.QtCore import QTimer

        if self.window.search_page._pending_grades:
            QTimer.singleShot(100, self._evaluate_when_saved)
            return
        view = self.window.eval_view
        self.window.show_page("evaluate")
        view.evaluation_finished.connect(lambda _outcome: self._settle())
        view.evaluation_failed.connect(self._failed)
        if view.run_evaluation() is None:
            self._failed("evaluation could not start")

    def _settle(self) -> None:
        """Wait for thumbnails (and judgements) to land, then finish."""
        from PySide6.QtCore import QTimer

        ctx = self.window.ctx
        if ctx.thumbnails.pending or self.window.search_page._pending_grades:
            QTimer.singleShot(200, self._settle)
            return
        QTimer.singleShot(400, self._finish)

    def _finish(self) -> None:
        from PySide6.QtWidgets import QApplication

        if self.args.page:
            self.window.show_page(self.args.page)
        if self.args.screenshot:
            out = Path(self.args.screenshot)
            out.parent.mkdir(parents=True, exist_ok=True)
            QApplication.processEvents()
            if not self.window.grab().save(str(out)):
                log.error("could not write %s", out)
                self.exit_code = 1
            else:
                print(f"wrote {out} after {time.monotonic() - self.t0:.1f} s", file=sys.stderr)
            self.window.close()
            QApplication.instance().exit(self.exit_code)

    def _failed(self, exc) -> None:  # noqa: ANN001
        log.error("scripted step failed: %s", exc)
        self.exit_code = 1
        self._settle()

    def _timed_out(self) -> None:
        if self.args.screenshot:
            log.error("scripted steps did not finish within %.0f s", self.args.timeout)
            self.exit_code = 1
            self._finish()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
