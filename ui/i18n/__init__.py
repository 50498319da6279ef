"""The app's languages: Qt translators for the UI (``mediasearch_<lang>.qm``) and Qt's own
strings (``qtbase_<lang>.qm`` shipped with PySide6, for standard dialogs and buttons).

The ``.ts`` sources live beside this module and are edited with Qt Linguist or by hand;
``pyside6-lupdate`` refreshes them from the code (``python -m ui.i18n --update``) and
``pyside6-lrelease`` compiles them (``python -m ui.i18n``; scripts/setup.sh runs it). When the
compiled ``.qm`` is missing or older than its ``.ts`` (a fresh clone, an edited translation),
the app compiles it into the user cache on first use.

The language is, in order: ``--lang``, the choice in View → Language (remembered), the
system locale. English is the source language and needs no file.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
UI_ROOT = HERE.parent
#: languages offered in View → Language: code -> name in that language
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
SYSTEM = "system"
PREF_KEY = "view/language"


def ts_path(lang: str) -> Path:
    return HERE / f"mediasearch_{lang}.ts"


def cache_dir() -> Path:
    """Where translations compiled at run time go (the user cache; XDG_CACHE_HOME honoured)."""
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("mediasearch")) / "i18n"
    except ImportError:  # pragma: no cover - platformdirs is a core dependency
        return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mediasearch" / "i18n"


def tool(name: str) -> str | None:
    """A PySide6 tool (pyside6-lrelease, pyside6-lupdate): beside the interpreter, else on PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.is_file():
        return str(beside)
    return shutil.which(name)


def normalise(lang: str | None) -> str | None:
    """'zh_CN', 'zh-CN', 'zh_CN.UTF-8', 'zh', 'zh_Hans' -> 'zh_CN'; 'en_GB' -> 'en'; unknown -> None."""
    if not lang:
        return None
    code = lang.split(".")[0].split("@")[0].replace("-", "_")
    if code in LANGUAGES:
        return code
    base = code.split("_")[0].lower()
    if base == "zh":
        return "zh_CN"  # the one Chinese translation (Simplified)
    if base in ("en", "c", "posix"):
        return "en"
    return None


def system_language() -> str:
    """The system locale's language among LANGUAGES (English when there is no translation)."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            # LANGUAGE is a priority list (zh_CN:en); the others are one locale
            for part in value.split(":"):
                code = normalise(part)
                if code:
                    return code
            break
    from PySide6.QtCore import QLocale

    return normalise(QLocale.system().name()) or "en"


def choose_language(cli: str | None, saved: str | None) -> str:
    """The language to use: the command line's, else the saved choice, else the system's."""
    for choice in (cli, saved):
        if choice and choice != SYSTEM:
            code = normalise(choice)
            if code:
                return code
            log.warning("no translation for %r; languages: %s", choice, ", ".join(LANGUAGES))
    return system_language()


def compile_ts(ts: Path, qm: Path) -> bool:
    """Compile ``ts`` to ``qm`` with pyside6-lrelease; False (logged) when that is not possible."""
    lrelease = tool("pyside6-lrelease") or tool("lrelease")
    if lrelease is None:
        log.warning("pyside6-lrelease not found: cannot compile %s", ts.name)
        return False
    qm.parent.mkdir(parents=True, exist_ok=True)
    tmp = qm.with_name(f".{qm.name}.{os.getpid()}.tmp")
    try:
        subprocess.run([lrelease, "-silent", str(ts), "-qm", str(tmp)], check=True, capture_output=True, timeout=60)
        os.replace(tmp, qm)
        return True
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not compile %s: %s", ts.name, exc)
        tmp.unlink(missing_ok=True)
        return False


def qm_path(lang: str) -> Path | None:
    """The compiled translation for ``lang``: the installed one when current, else one
    compiled into the cache now; None when there is none (English, or no compiler)."""
    ts = ts_path(lang)
    installed = HERE / f"mediasearch_{lang}.qm"
    if not ts.is_file():
        return installed if installed.is_file() else None
    # a little slack: an installer writes the .qm and the .ts moments apart, in either order
    stamp = ts.stat().st_mtime - 2.0
    if installed.is_file() and installed.stat().st_mtime >= stamp:
        return installed
    cached = cache_dir() / f"mediasearch_{lang}.qm"
    if cached.is_file() and cached.stat().st_mtime >= stamp:
        return cached
    return cached if compile_ts(ts, cached) else None


def install(app, lang: str) -> list:  # noqa: ANN001 - QCoreApplication -> list[QTranslator]
    """Load the UI's and Qt's translations for ``lang`` into ``app``; returns the translators
    (kept by the caller: a translator that is garbage-collected stops translating)."""
    from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

    QLocale.setDefault(QLocale(lang if lang != "en" else "en_US"))
    translators = []
    if lang == "en":
        return translators
    qm = qm_path(lang)
    ui = QTranslator(app)
    if qm is not None and ui.load(str(qm)):
        app.installTranslator(ui)
        translators.append(ui)
    else:
        log.warning("no compiled translation for %s; the interface stays in English", lang)
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for name in ("qtbase", "qtmultimedia"):
        qt = QTranslator(app)
        if qt.load(f"{name}_{lang}", qt_dir):
            app.installTranslator(qt)
            translators.append(qt)
    return translators


def uninstall(app, translators: list) -> None:  # noqa: ANN001
    for t in translators:
        app.removeTranslator(t)
    translators.clear()


def sources() -> list[Path]:
    """The Python files whose strings are translated (what lupdate reads)."""
    return sorted(p for p in UI_ROOT.rglob("*.py") if "__pycache__" not in p.parts)
