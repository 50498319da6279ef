"""What the app remembers between runs (QSettings): window layout, last library, choices.

Per-library choices (the folders it indexes, the encoders picked per media type) are
kept under a key derived from the library folder, so switching libraries switches them.
Tests and the screenshot script pass an INI file of their own so they never touch the
user's settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

log = logging.getLogger(__name__)

ORGANISATION = "mediasearch"
APPLICATION = "mediasearch"


class Prefs:
    """Typed access to the app's QSettings."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.qs = qsettings or QSettings(ORGANISATION, APPLICATION)

    @classmethod
    def from_file(cls, path: Path | str) -> "Prefs":
        """Settings kept in an INI file (tests, scripts, portable installs)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    def sync(self) -> None:
        self.qs.sync()

    # -- plain values ---------------------------------------------------------------
    def get(self, key: str, default: Any = None, kind: type | None = None) -> Any:
        value = self.qs.value(key, default)
        if value is None or kind is None:
            return value
        try:
            if kind is bool:
                return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}
            return kind(value)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        self.qs.setValue(key, value)

    def get_bytes(self, key: str) -> QByteArray | None:
        value = self.qs.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # -- the library ----------------------------------------------------------------
    @property
    def last_library(self) -> Path | None:
        value = self.get("library/last")
        return Path(value) if value else None

    @last_library.setter
    def last_library(self, path: Path) -> None:
        self.set("library/last", str(path))
        recent = [p for p in self.recent_libraries if p != Path(path)]
        self.set("library/recent", json.dumps([str(path)] + [str(p) for p in recent[:7]]))

    @property
    def recent_libraries(self) -> list[Path]:
        try:
            return [Path(p) for p in json.loads(self.get("library/recent", "[]") or "[]")]
        except (TypeError, ValueError):
            return []

    def _lib_key(self, library_dir: Path, name: str) -> str:
        digest = hashlib.sha1(str(Path(library_dir).resolve()).encode()).hexdigest()[:16]
        return f"libraries/{digest}/{name}"

    def folders(self, library_dir: Path) -> list[Path]:
        """The folders this library indexes, in the order they were added."""
        raw = self.get(self._lib_key(library_dir, "folders"), "[]")
        try:
            return [Path(p) for p in json.loads(raw or "[]")]
        except (TypeError, ValueError):
            return []

    def set_folders(self, library_dir: Path, folders: list[Path]) -> None:
        self.set(self._lib_key(library_dir, "folders"), json.dumps([str(p) for p in folders]))

    def encoders(self, library_dir: Path) -> list[str] | None:
        """The encoders picked for this library (None: never chosen)."""
        raw = self.get(self._lib_key(library_dir, "encoders"))
        if raw is None:
            return None
        try:
            return list(json.loads(raw))
        except (TypeError, ValueError):
            return None

    def set_encoders(self, library_dir: Path, encoders: list[str]) -> None:
        self.set(self._lib_key(library_dir, "encoders"), json.dumps(list(encoders)))
