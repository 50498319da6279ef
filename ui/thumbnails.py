"""Thumbnails made off the UI thread and cached on disk and in memory.

Pictures come from the core's decoders (``decode.image.load_image``, a video frame at
the hit's time); sounds become a spectrogram with the waveform's envelope drawn over it
(numpy + QPainter on a QImage, which is safe outside the UI thread). Each thumbnail is
a QRunnable on a private QThreadPool; finished images are written under
``settings.thumbs_dir`` (named by a hash of the file's path, size, mtime and the time
range) and kept in a small in-memory LRU of QPixmaps. :class:`ThumbnailCache.ready`
says when a requested thumbnail can be drawn.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

log = logging.getLogger(__name__)

#: longest side of a picture thumbnail on disk, in pixels (cards draw it at up to half, 2x DPI)
PICTURE_PX = 320
#: size of a sound thumbnail on disk (width, height) in pixels
SOUND_SIZE = (480, 128)
#: sample rate sounds are decoded at for their thumbnails, Hz
SOUND_SR = 16_000
#: seconds of sound drawn when a hit has no time range
SOUND_DEFAULT_S = 10.0
#: bump when the look of thumbnails changes, so old disk copies are not reused
STYLE_VERSION = "2"


@dataclass(frozen=True)
class ThumbSpec:
    """What to draw: ``kind`` "image" (a still), "frame" (a video frame at ``start_s``)
    or "sound" (the stretch [start_s, end_s) of an audio file or a video's soundtrack)."""

    path: str
    kind: str
    start_s: float | None = None
    end_s: float | None = None

    @property
    def key(self) -> str:
        def t(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f}"

        return f"{self.kind}|{t(self.start_s)}|{t(self.end_s)}|{self.path}"


def disk_name(spec: ThumbSpec) -> str:
    """The cache file name: changes when the file changes (size, mtime) or the look does."""
    try:
        st = os.stat(spec.path)
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    digest = hashlib.sha1(f"{STYLE_VERSION}|{spec.key}|{stamp}".encode()).hexdigest()
    return f"{digest[:2]}/{digest}.png"


# -- rendering (runs on pool threads) ------------------------------------------------------


def pil_to_qimage(img) -> QImage:  # img: PIL.Image (RGB)
    """An RGB PIL image as a QImage that owns its pixels."""
    img = img.convert("RGB")
    data = img.tobytes("raw", "RGB")
    q = QImage(data, img.width, img.height, 3 * img.width, QImage.Format.Format_RGB888)
    return q.copy()


def render_picture(spec: ThumbSpec) -> QImage:
    """A still image, or the video frame at ``spec.start_s``, shrunk to :data:`PICTURE_PX`."""
    from mediasearch.decode.image import load_image

    if spec.kind == "frame":
        img = video_frame(Path(spec.path), spec.start_s or 0.0, target_size=PICTURE_PX)
    else:
        img = load_image(spec.path, target_size=PICTURE_PX)
    img.thumbnail((PICTURE_PX, PICTURE_PX))
    return pil_to_qimage(img)


def video_frame(path: Path, t_s: float, *, target_size: int | None = None):  # -> PIL.Image
    """The frame shown at ``t_s`` seconds: the decoder's ``frame_at`` when it exists, else PyAV directly."""
    try:
        from mediasearch.decode.video import frame_at
    except ImportError:
        frame_at = None
    if frame_at is not None:
        return frame_at(path, t_s, target_size=target_size)
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if t_s > 0 and stream.time_base:
            container.seek(int(t_s / stream.time_base), stream=stream, backward=True)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is None or frame.time + 1e-3 >= t_s:
                break
        if chosen is None:
            raise ValueError(f"{path}: no video frame at {t_s:.2f} s")
        return chosen.to_image()


def _colour_lut() -> np.ndarray:
    """(256, 3) uint8: matplotlib's magma when available, else a dark-to-warm ramp."""
    try:
        from matplotlib import colormaps

        return (colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    except Exception:  # matplotlib is optional for the GUI
        x = np.linspace(0, 1, 256)[:, None]
        return (np.hstack([x**0.7, x**1.6, 0.35 + 0.3 * np.sin(np.pi * x)]) * 255).clip(0, 255).astype(np.uint8)


def spectrogram(samples: np.ndarray, *, columns: int, n_fft: int = 512) -> np.ndarray:
    """(n_fft // 2 + 1, columns) float32 log power in [0, 1] (80 dB range), low frequencies first."""
    if samples.size < n_fft:
        samples = np.pad(samples, (0, n_fft - samples.size))
    hop = max((samples.size - n_fft) // max(columns - 1, 1), 1)
    starts = np.arange(0, samples.size - n_fft + 1, hop)[:columns]
    frames = np.stack([samples[s : s + n_fft] for s in starts]) * np.hanning(n_fft).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    db = 10 * np.log10(power + 1e-10)
    db = np.clip(db - db.max() + 80.0, 0.0, 80.0) / 80.0
    return db.T.astype(np.float32)


def render_sound(spec: ThumbSpec) -> QImage:
    """A spectrogram of the stretch with its waveform envelope on top, :data:`SOUND_SIZE`."""
    from mediasearch.decode.audio import load_audio

    start = spec.start_s or 0.0
    end = spec.end_s if spec.end_s is not None and spec.end_s > start else start + SOUND_DEFAULT_S
    samples = load_audio(spec.path, SOUND_SR, start_s=start if start > 0 else None, end_s=end)
    return draw_sound(np.asarray(samples, dtype=np.float32))


def draw_sound(samples: np.ndarray) -> QImage:
    """Draw (samples,) float32 mono as a spectrogram plus waveform envelope QImage."""
    width, height = SOUND_SIZE
    spec = spectrogram(samples, columns=width)
    # frequencies up to 8 kHz, log-ish: keep the lower 3/4 of the bins, where most energy is
    spec = spec[: max(int(spec.shape[0] * 0.75), 2)]
    rgb = _colour_lut()[(spec[::-1] * 255).astype(np.uint8)]
    rgb = np.ascontiguousarray(rgb)
    img = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1], QImage.Format.Format_RGB888).copy()
    img = img.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
    img = img.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    if samples.size:
        chunks = np.array_split(samples, width)
        peak = max(float(np.abs(samples).max()), 1e-6)
        lo = np.array([c.min() if c.size else 0.0 for c in chunks]) / peak
        hi = np.array([c.max() if c.size else 0.0 for c in chunks]) / peak
        painter = QPainter(img)
        painter.setPen(QPen(QColor(255, 255, 255, 110), 1))
        mid = height / 2
        amp = height * 0.42
        for x in range(width):
            painter.drawLine(x, int(mid - hi[x] * amp), x, int(mid - lo[x] * amp))
        painter.end()
    return img


class _Signals(QObject):
    done = Signal(str, QImage)
    failed = Signal(str, str)


class _Job(QRunnable):
    def __init__(self, spec: ThumbSpec, cache_dir: Path | None, signals: _Signals) -> None:
        super().__init__()
        self.spec = spec
        self.cache_dir = cache_dir
        self.signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:
        spec = self.spec
        try:
            target = self.cache_dir / disk_name(spec) if self.cache_dir else None
            image = QImage(str(target)) if target is not None and target.is_file() else QImage()
            if image.isNull():
                image = render_sound(spec) if spec.kind == "sound" else render_picture(spec)
                if target is not None:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.png")
                    if image.save(str(tmp), "PNG"):
                        os.replace(tmp, target)
            self.signals.done.emit(spec.key, image)
        except Exception as exc:  # noqa: BLE001 - a bad file gets a placeholder, not a crash
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            log.debug("thumbnail of %s failed: %s", spec.path, reason)
            self.signals.failed.emit(spec.key, str(reason))


class ThumbnailCache(QObject):
    """Asynchronous thumbnails: :meth:`get` returns a pixmap, or None and starts making it."""

    ready = Signal(str)  # key, now available (or failed for good)

    def __init__(self, cache_dir: Path | None, *, max_items: int = 600, threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache_dir = cache_dir
        self.max_items = max_items
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads or max(2, min(4, (os.cpu_count() or 2) - 1)))
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._failed: dict[str, str] = {}
        self._signals = _Signals()
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)

    def set_cache_dir(self, cache_dir: Path | None) -> None:
        """Another library: its own disk cache; the memory cache is cleared."""
        self.cache_dir = cache_dir
        self._pixmaps.clear()
        self._failed.clear()

    def get(self, spec: ThumbSpec) -> QPixmap | None:
        key = spec.key
        pixmap = self._pixmaps.get(key)
        if pixmap is not None:
            self._pixmaps.move_to_end(key)
            return pixmap
        if key not in self._pending and key not in self._failed:
            self._pending.add(key)
            self.pool.start(_Job(spec, self.cache_dir, self._signals))
        return None

    def failure(self, spec: ThumbSpec) -> str | None:
        """Why the thumbnail could not be made (None if it could, or is not done yet)."""
        return self._failed.get(spec.key)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Block until every queued thumbnail is made (tests and the screenshot mode)."""
        return self.pool.waitForDone(msecs)

    @Slot(str, QImage)
    def _on_done(self, key: str, image: QImage) -> None:
        self._pending.discard(key)
        self._pixmaps[key] = QPixmap.fromImage(image)
        while len(self._pixmaps) > self.max_items:
            self._pixmaps.popitem(last=False)
        self.ready.emit(key)

    @Slot(str, str)
    def _on_failed(self, key: str, reason: str) -> None:
        self._pending.discard(key)
        self._failed[key] = reason
        self.ready.emit(key)
