"""Playing hits: in-app audio (QtMultimedia, when installed and there is an output
device) and "open in the system player at this time" for videos.

QtMultimedia ships in PySide6-Addons, not PySide6-Essentials, and machines without
sound hardware have no output device, so :class:`AudioPlayer` builds its QMediaPlayer
lazily and degrades to the external player. Opening at a time uses a player known to
take a start time on its command line (mpv, vlc, celluloid, ffplay) and otherwise the
desktop's default application (which starts at the beginning).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, QProcess, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from ui.actions import fmt_time

log = logging.getLogger(__name__)

#: (executable, argument template for the start time in seconds)
_PLAYERS: list[tuple[str, list[str]]] = [
    ("mpv", ["--start={t}"]),
    ("vlc", ["--start-time={t}"]),
    ("celluloid", ["--mpv-start={t}"]),
    ("ffplay", ["-ss", "{t}", "-autoexit"]),
]

#: replaced in tests so nothing is launched: (command list or None for the desktop default, path, start)
Opener = Callable[[list[str] | None, Path, float | None], bool]


def player_command(path: Path, start_s: float | None) -> list[str] | None:
    """A command line that opens ``path`` at ``start_s`` seconds, or None when no known player is installed."""
    for exe, args in _PLAYERS:
        found = shutil.which(exe)
        if found:
            t = f"{max(start_s or 0.0, 0.0):.3f}"
            return [found, *(a.format(t=t) for a in args), str(path)]
    return None


def _default_opener(command: list[str] | None, path: Path, start_s: float | None) -> bool:
    if command is not None:
        result = QProcess.startDetached(command[0], command[1:])
        return bool(result[0] if isinstance(result, tuple) else result)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


opener: Opener = _default_opener


def open_at(path: Path, start_s: float | None = None) -> str:
    """Open ``path`` in the system player at ``start_s``; returns a status-bar message."""
    command = player_command(path, start_s) if start_s else None
    ok = opener(command, path, start_s)
    if not ok:
        return QCoreApplication.translate("player", "Could not open {name}").format(name=path.name)
    if command is None and start_s:
        return QCoreApplication.translate("player", "Opened {name} (seek to {time}: the default player cannot be told where to start)").format(
            name=path.name, time=fmt_time(start_s))
    if start_s:
        return QCoreApplication.translate("player", "Opened {name} at {time}").format(name=path.name, time=fmt_time(start_s))
    return QCoreApplication.translate("player", "Opened {name}").format(name=path.name)


class AudioPlayer(QObject):
    """Plays a stretch of a file in the app, or falls back to the system player."""

    state_changed = Signal(bool)  # playing
    message = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._player = None
        self._output = None
        self._end_ms: int | None = None
        self._seek_ms: int | None = None
        self._tried = False
        self.current: tuple[str, float | None] | None = None

    @property
    def available(self) -> bool:
        """Whether in-app playback works here (QtMultimedia and an audio output device)."""
        return self._ensure() is not None

    def _ensure(self):  # -> QMediaPlayer | None
        if self._tried:
            return self._player
        self._tried = True
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer
        except ImportError:
            log.info("QtMultimedia is not installed (PySide6-Addons): playing in the system player")
            return None
        try:
            if QMediaDevices.defaultAudioOutput().isNull():
                log.info("no audio output device: playing in the system player")
                return None
            self._output = QAudioOutput(self)
            self._player = QMediaPlayer(self)
            self._player.setAudioOutput(self._output)
            self._player.positionChanged.connect(self._on_position)
            self._player.mediaStatusChanged.connect(self._on_media_status)
            self._player.playbackStateChanged.connect(self._on_state)
        except Exception:  # noqa: BLE001 - a broken multimedia backend must not break the app
            log.warning("QtMultimedia unusable", exc_info=True)
            self._player = None
        return self._player

    def play(self, path: Path, start_s: float | None = None, end_s: float | None = None) -> None:
        """Play [start_s, end_s) of ``path``; the same call while playing stops it."""
        if self.current == (str(path), start_s) and self.is_playing():
            self.stop()
            return
        player = self._ensure()
        self.current = (str(path), start_s)
        if player is None:
            self.message.emit(open_at(Path(path), start_s))
            return
        player.setSource(QUrl.fromLocalFile(str(path)))
        self._end_ms = int(end_s * 1000) if end_s else None
        # a position set before the media has loaded is dropped (playback would start at 0 s):
        # seek now and again once it has loaded
        self._seek_ms = int(start_s * 1000) if start_s else None
        if self._seek_ms:
            player.setPosition(self._seek_ms)
        player.play()
        if start_s:
            self.message.emit(QCoreApplication.translate("player", "Playing {name} from {time}").format(name=Path(path).name, time=fmt_time(start_s)))
        else:
            self.message.emit(QCoreApplication.translate("player", "Playing {name}").format(name=Path(path).name))

    def _on_media_status(self, status) -> None:  # noqa: ANN001 - QMediaPlayer.MediaStatus
        from PySide6.QtMultimedia import QMediaPlayer

        loaded = (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia)
        if status in loaded and self._seek_ms and self._player is not None:
            if abs(self._player.position() - self._seek_ms) > 250:
                self._player.setPosition(self._seek_ms)
            self._seek_ms = None

    def is_playing(self) -> bool:
        if self._player is None:
            return False
        from PySide6.QtMultimedia import QMediaPlayer

        return self._player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()
        self.current = None

    def _on_position(self, ms: int) -> None:
        if self._end_ms is not None and ms >= self._end_ms:
            self.stop()

    def _on_state(self, _state) -> None:  # noqa: ANN001
        self.state_changed.emit(self.is_playing())
