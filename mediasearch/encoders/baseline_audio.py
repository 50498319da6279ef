"""Weight-free audio descriptor (spectral texture statistics + a landmark fingerprint), and
the windowing shared by every audio-similarity encoder.

:class:`WindowedAudioEncoder` streams a file (or a video's soundtrack) in windows of
``settings.audio_window_s`` seconds every ``settings.audio_hop_s`` (a file no longer than a
window is one clip), embeds them in batches, and returns them as segments with their times.

:class:`BaselineAudioEncoder` describes a clip at 16 kHz with two parts (1234 numbers):

- *texture* (210, weight 0.4 of the cosine), from a 48-band log-mel spectrogram (32 ms
  frames every 10 ms, floored 60 dB under the clip's loudest bins, so gain and faint
  background do not count): the spectral envelope (48 band means), how much each band
  moves (48 log standard deviations) and how fast (48 log mean absolute deltas),
  spectral contrast in six octave bands (peak minus valley, mean and std: 12), a
  modulation spectrum (energy of 8 band-group envelopes in six bands from 0.5 to 32 Hz:
  rhythm and roughness, 48) and spectral centroid, bandwidth and flatness (mean and
  std: 6). Each of the 210 values is z-scored with *fixed* constants (``TEXTURE_MEAN``,
  ``TEXTURE_STD`` in :mod:`mediasearch.encoders.baseline_audio_norm`, computed once from a
  generic generated corpus unrelated to any test set), each group is L2-normalised and
  weighted, so no group owns the cosine because of its units;
- *landmarks* (1024, weight 0.6): the fingerprint of
  :mod:`mediasearch.encoders.fingerprint_audio`, which finds the same recording again
  after noise, a time shift or a trip through another sample rate.

The cosine of two descriptors is 0.4 x texture cosine + 0.6 x landmark cosine. Nothing
depends on the other items of a library: a query and a library window go through the same
function with the same constants, so vectors stay comparable as a library grows.

No downloads; it is the baseline the learned encoders are compared with.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from mediasearch.decode.audio import NoAudioStreamError, iter_windows, window_spans
from mediasearch.encoders.base import AssetEncoding, EncodedSegment, Encoder, l2_normalise
from mediasearch.errors import MediaSearchError
from mediasearch.media import MediaKind

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.progress import CancelToken

logger = logging.getLogger(__name__)


class WindowedAudioEncoder(Encoder):
    """An audio encoder that indexes fixed-length windows of every file.

    Subclasses implement :meth:`embed_windows`; ``embed_audio`` embeds each query waveform
    whole (one vector per waveform).
    """

    owns_segments = True

    @property
    def window_s(self) -> float:
        return float(self.spec.options.get("window_s", self.settings.audio_window_s))

    @property
    def hop_s(self) -> float:
        return float(self.spec.options.get("hop_s", self.settings.audio_hop_s))

    def embed_windows(self, windows: Sequence[np.ndarray]) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """Waveforms at ``spec.sample_rate`` -> ((n, dim) float32 L2-normalised, labels per window)."""
        raise NotImplementedError

    def embed_audio(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Mono float32 waveforms at ``spec.sample_rate`` -> (n, dim) float32, L2-normalised.

        A waveform no longer than a window is embedded whole; a longer one is cut into
        windows as files are, and its vector is the normalised mean of theirs (bounded
        memory for long query clips).
        """
        if not waveforms:
            return np.zeros((0, self.spec.dim), np.float32)
        sr = int(self.spec.sample_rate or 16_000)
        size = max(int(self.settings.batch_size), 1)
        out = []
        for waveform in waveforms:
            samples = np.asarray(waveform, dtype=np.float32).reshape(-1)
            spans = window_spans(samples.size, sr, window_s=self.window_s, hop_s=self.hop_s) or [(0, 0)]
            if len(spans) == 1:
                out.append(self.embed_windows([samples])[0])
                continue
            total = np.zeros(self.spec.dim, np.float64)
            for i in range(0, len(spans), size):
                by_len: dict[int, list[np.ndarray]] = {}
                for a, b in spans[i : i + size]:
                    by_len.setdefault(b - a, []).append(samples[a:b])
                for group in by_len.values():
                    total += self.embed_windows(group)[0].sum(axis=0)
            out.append(l2_normalise(total[None, :]))
        return np.concatenate(out, axis=0).astype(np.float32)

    def encode_asset(self, path: Path, kind: MediaKind, *, cancel: "CancelToken | None" = None) -> AssetEncoding:
        """Windows of the file's audio (a video's soundtrack) as segments with vectors and labels.

        A video without an audio stream gives an empty encoding; undecodable audio raises
        DecodeError / UnsupportedMediaError with the reason.
        """
        for _, result, _ in self.encode_files([(Path(path), kind)], cancel=cancel):
            if isinstance(result, BaseException):
                raise result
            return result
        raise AssertionError("encode_files gives one result per file")  # pragma: no cover

    def encode_files(
        self,
        items: Sequence[tuple[Path, MediaKind]],
        *,
        cancel: "CancelToken | None" = None,
        on_start: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[int, "AssetEncoding | Exception", float]]:
        """:meth:`encode_asset` for each of ``items`` ((path, kind)), with batches that span
        files: windows of consecutive files fill one batch of ``settings.batch_size`` (100
        five-second clips are 13 batches of 8, not 100 batches of one).

        Yields (index into ``items``, its encoding or the exception :meth:`encode_asset`
        would raise for it, seconds spent on it: its decoding plus its share of the batches
        it was in), in ``items`` order, each as soon as its last window is embedded.
        ``on_start(i)`` is called when item ``i`` starts decoding (to read the next one
        ahead, or report progress). A model failure on a batch is retried file by file, so
        only the file that fails gets the error; cancellation raises CancelledError.
        """
        from mediasearch.errors import CancelledError

        size = max(int(self.settings.batch_size), 1)
        open_files: deque[_FileWindows] = deque()  # read or being read, not yet handed out
        batch: list[tuple[_FileWindows, float, float, np.ndarray]] = []

        def embed() -> None:
            if cancel is not None:
                cancel.raise_if_cancelled(f"{self.name} encoding")
            t0 = time.monotonic()
            self._embed_batch(batch)
            share = (time.monotonic() - t0) / max(len(batch), 1)
            for f, *_ in batch:
                f.seconds += share
                f.pending -= 1
            batch.clear()

        def finished() -> Iterator[tuple[int, "AssetEncoding | Exception", float]]:
            while open_files and open_files[0].read and open_files[0].pending == 0:
                f = open_files.popleft()
                yield f.index, f.result(), f.seconds

        for i, (path, kind) in enumerate(items):
            if on_start is not None:
                on_start(i)
            f = _FileWindows(i, Path(path), kind)
            open_files.append(f)
            t_read = time.monotonic()
            try:
                # a cut file keeps the windows that decoded (truncation is found from the
                # header and the tail before decoding, and reported as the partial reason)
                windows = iter_windows(
                    f.path, self.spec.sample_rate, window_s=self.window_s, hop_s=self.hop_s, cancel=cancel, keep_partial=True
                )
                for start_s, end_s, samples in windows:
                    batch.append((f, start_s, end_s, samples))
                    f.pending += 1
                    if len(batch) >= size:
                        f.seconds += time.monotonic() - t_read
                        embed()
                        t_read = time.monotonic()
                        yield from finished()
                f.partial = getattr(windows, "truncated_reason", None)
            except CancelledError:
                raise
            except Exception as exc:  # this file's error; the others go on
                f.fail(exc)
                f.pending -= sum(1 for g, *_ in batch if g is f)
                batch[:] = [w for w in batch if w[0] is not f]
            f.seconds += time.monotonic() - t_read
            f.read = True
            yield from finished()
        if batch:
            embed()
        yield from finished()

    def _embed_batch(self, batch: list[tuple["_FileWindows", float, float, np.ndarray]]) -> None:
        """Embed the windows of ``batch`` ((file, start s, end s, samples)) and add them to
        their files as segments, in order. Windows of one length are embedded together (a
        clip shorter than a window and an end-aligned tail differ in length)."""
        vectors = np.zeros((len(batch), self.spec.dim), np.float32)
        labels: list[list[tuple[str, float]]] = [[] for _ in batch]
        by_len: dict[int, list[int]] = {}
        for i, (_, _, _, samples) in enumerate(batch):
            by_len.setdefault(samples.size, []).append(i)
        for rows in by_len.values():
            try:
                vecs, labs = self.embed_windows([batch[i][3] for i in rows])
            except MediaSearchError:
                raise
            except Exception as exc:
                files = list(dict.fromkeys(batch[i][0] for i in rows))
                if len(files) == 1:
                    files[0].fail(exc)
                    continue
                logger.warning("%s failed on a batch of %d files (%s); retrying file by file", self.name, len(files), exc)
                for f in files:
                    self._embed_batch([w for w in (batch[i] for i in rows) if w[0] is f])
                rows.clear()  # each file's windows are in already (or it failed)
                continue
            vectors[rows] = vecs
            for i, lab in zip(rows, labs):
                labels[i] = lab
        placed = {i for rows in by_len.values() for i in rows}
        for i, (f, start_s, end_s, _) in enumerate(batch):
            if i in placed and f.error is None:
                f.segments.append(EncodedSegment(start_s=start_s, end_s=end_s, vector=vectors[i], labels=labels[i]))


class _FileWindows:
    """One file's windows as :meth:`WindowedAudioEncoder.encode_files` collects them."""

    def __init__(self, index: int, path: Path, kind: MediaKind) -> None:
        self.index = index
        self.path = path
        self.kind = kind
        self.segments: list[EncodedSegment] = []
        self.pending = 0  # windows in the batch not embedded yet
        self.read = False  # all its windows have been taken (or its decoding failed)
        self.error: Exception | None = None
        self.partial: str | None = None
        self.seconds = 0.0

    def fail(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc
        self.segments.clear()

    def result(self) -> "AssetEncoding | Exception":
        if isinstance(self.error, NoAudioStreamError) and self.kind == MediaKind.VIDEO:
            return AssetEncoding(segments=[], media_s=0.0)  # a silent video: nothing to embed
        if self.error is not None:
            return self.error
        if self.partial and not self.segments:
            from mediasearch.errors import DecodeError

            return DecodeError(self.path, self.partial)
        segments = sorted(self.segments, key=lambda seg: seg.start_s)  # a retried batch adds out of turn
        media_s = max((seg.end_s for seg in segments), default=0.0)
        return AssetEncoding(segments=segments, media_s=media_s, partial=self.partial)


# -- the baseline descriptor -----------------------------------------------------------------
_N_FFT = 512
_HOP = 160  # 10 ms at 16 kHz
_N_MELS = 48
_FLOOR_DB = 60.0
_EPS = 1e-10
_CONTRAST_EDGES = (0, 8, 16, 32, 64, 128, 257)  # FFT bins: octaves from 250 Hz up
_MOD_EDGES_HZ = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
_MOD_GROUPS = 8
#: texture groups, their sizes (in this order in the vector) and weights in the texture cosine
TEXTURE_GROUPS: dict[str, int] = {"envelope": 48, "spread": 48, "motion": 48, "contrast": 12, "modulation": 48, "shape": 6}
TEXTURE_WEIGHTS: dict[str, float] = {"envelope": 1.0, "spread": 0.5, "motion": 0.5, "contrast": 0.5, "modulation": 0.5, "shape": 0.3}
TEXTURE_DIM = sum(TEXTURE_GROUPS.values())
#: share of the landmark fingerprint in the cosine of two descriptors (the texture has the rest)
FINGERPRINT_WEIGHT = 0.6


class TextureFeatures:
    """Raw texture statistics of a clip (before normalisation): the 16 kHz front end."""

    def __init__(self, sr: int = 16_000) -> None:
        import librosa

        self.sr = sr
        self._mel = librosa.filters.mel(sr=sr, n_fft=_N_FFT, n_mels=_N_MELS, fmin=40.0, fmax=sr / 2).astype(np.float64)
        self._window = np.hanning(_N_FFT + 1)[:-1]
        self._freqs = np.linspace(0.0, 1.0, _N_FFT // 2 + 1)  # fraction of Nyquist

    def power_spectrogram(self, samples: np.ndarray) -> np.ndarray:
        """(samples,) -> (frames, 257) float64 power spectrum, 32 ms Hann frames every 10 ms."""
        from scipy.fft import rfft

        samples = np.asarray(samples, dtype=np.float64).reshape(-1)
        if samples.size < _N_FFT:
            samples = np.pad(samples, (0, _N_FFT - samples.size))
        samples = np.pad(samples, (_N_FFT // 2, _N_FFT // 2), mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(samples, _N_FFT)[::_HOP]
        return np.square(np.abs(rfft(frames * self._window, axis=1)))

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """(samples,) float32 at 16 kHz -> (210,) float64 raw statistics, groups in TEXTURE_GROUPS order."""
        power = self.power_spectrogram(samples)
        db = 10.0 * np.log10(power @ self._mel.T + _EPS)  # (frames, 48)
        db = np.maximum(db, np.percentile(db, 99) - _FLOOR_DB)
        envelope = db.mean(axis=0)
        envelope = envelope - envelope.mean()  # the shape of the spectrum, not its loudness
        delta = np.diff(db, axis=0) if db.shape[0] > 1 else np.zeros_like(db)
        spread = np.log(db.std(axis=0) + 1.0)
        motion = np.log(np.abs(delta).mean(axis=0) + 0.1)

        contrast = []
        for a, b in zip(_CONTRAST_EDGES[:-1], _CONTRAST_EDGES[1:]):
            band = np.sort(10.0 * np.log10(power[:, a:b] + _EPS), axis=1)
            k = max(1, (b - a) // 5)
            contrast.append(band[:, -k:].mean(axis=1) - band[:, :k].mean(axis=1))
        contrast_t = np.asarray(contrast).T / 20.0  # (frames, 6)

        groups = db.reshape(db.shape[0], _MOD_GROUPS, -1).mean(axis=2)
        groups = groups - groups.mean(axis=0)
        n = groups.shape[0]
        spectrum = np.square(np.abs(np.fft.rfft(groups * np.hanning(n)[:, None], axis=0)))
        mod_freqs = np.fft.rfftfreq(n, _HOP / self.sr)
        modulation = []
        for a, b in zip(_MOD_EDGES_HZ[:-1], _MOD_EDGES_HZ[1:]):
            sel = (mod_freqs >= a) & (mod_freqs < b)
            modulation.append(spectrum[sel].sum(axis=0) if sel.any() else np.zeros(_MOD_GROUPS))
        modulation_db = np.log(np.asarray(modulation) + 1e-3 * n)  # (6 bands, 8 groups)

        total = power.sum(axis=1) + _EPS
        centroid = (power @ self._freqs) / total
        bandwidth = np.sqrt(np.clip((power @ np.square(self._freqs)) / total - np.square(centroid), 0.0, None))
        flatness = np.log(np.exp(np.log(power + _EPS).mean(axis=1)) / (power.mean(axis=1) + _EPS) + _EPS) / 10.0
        shape = [centroid.mean(), bandwidth.mean(), flatness.mean(), centroid.std(), bandwidth.std(), flatness.std()]
        features = np.concatenate(
            [
                envelope, spread, motion,
                contrast_t.mean(axis=0), contrast_t.std(axis=0),
                (modulation_db - modulation_db.mean()).ravel(), shape,
            ]
        )
        return np.nan_to_num(features)


def normalise_texture(raw: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(210,) raw statistics -> (210,) float64: z-scored with the fixed constants, each group
    L2-normalised and scaled by the square root of its share, unit length overall."""
    z = (raw - mean) / std
    parts, start = [], 0
    total_weight = sum(TEXTURE_WEIGHTS.values())
    for name, size in TEXTURE_GROUPS.items():
        part = z[start : start + size]
        norm = float(np.linalg.norm(part))
        parts.append(np.sqrt(TEXTURE_WEIGHTS[name] / total_weight) * (part / norm if norm > 1e-9 else part))
        start += size
    out = np.concatenate(parts)
    norm = float(np.linalg.norm(out))
    return out / norm if norm > 1e-9 else out


class BaselineAudioEncoder(WindowedAudioEncoder):
    """Texture statistics + landmark fingerprint, 1234-d, 16 kHz (see the module docstring)."""

    def __init__(self, spec, settings, model_paths) -> None:  # type: ignore[no-untyped-def]
        super().__init__(spec, settings, model_paths)
        from mediasearch.encoders import fingerprint_audio
        from mediasearch.encoders.baseline_audio_norm import TEXTURE_MEAN, TEXTURE_STD

        self.sr = int(spec.sample_rate or 16_000)
        self._texture = TextureFeatures(self.sr)
        self._fingerprint = fingerprint_audio.fingerprint
        self._fp_dim = int(spec.dim) - TEXTURE_DIM
        self._mean = np.asarray(TEXTURE_MEAN, np.float64)
        self._std = np.asarray(TEXTURE_STD, np.float64)

    def embed_windows(self, windows: Sequence[np.ndarray]) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        vectors = np.stack([self.describe(w) for w in windows]) if windows else np.zeros((0, self.spec.dim), np.float32)
        return vectors, [[] for _ in windows]

    def describe(self, samples: np.ndarray) -> np.ndarray:
        """(samples,) float32 at 16 kHz -> (1234,) float32, L2-normalised."""
        texture = normalise_texture(self._texture(samples), self._mean, self._std)
        landmarks = self._fingerprint(samples, self._fp_dim)
        out = np.concatenate([np.sqrt(1.0 - FINGERPRINT_WEIGHT) * texture, np.sqrt(FINGERPRINT_WEIGHT) * landmarks])
        return l2_normalise(out[None, :])[0]
