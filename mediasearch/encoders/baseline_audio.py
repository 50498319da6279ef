"""Weight-free audio descriptor (MFCC and spectral statistics), and the windowing shared
by every audio-similarity encoder.

:class:`WindowedAudioEncoder` streams a file (or a video's soundtrack) in windows of
``settings.audio_window_s`` seconds every ``settings.audio_hop_s`` (a file no longer than a
window is one clip), embeds them in batches, and returns them as segments with their times.

:class:`BaselineAudioEncoder` describes a clip at 16 kHz with 128 numbers, in four blocks,
each centred and L2-normalised, then weighted and L2-normalised together:

- 40: MFCC means (c1..c39: timbre) and the c0 mean (loudness, squashed)
- 40: log standard deviations of the 40 MFCCs (how much timbre moves)
- 40: log standard deviations of their deltas (how fast it moves)
- 8: spectral centroid, bandwidth, rolloff (fractions of Nyquist) and log flatness, mean and std

No downloads; it is the baseline the learned encoders are compared with.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from mediasearch.decode.audio import NoAudioStreamError, iter_windows, window_spans
from mediasearch.encoders.base import AssetEncoding, EncodedSegment, Encoder, l2_normalise
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

    def _batches(
        self, path: Path, cancel: "CancelToken | None"
    ) -> Iterator[list[tuple[float, float, np.ndarray]]]:
        batch: list[tuple[float, float, np.ndarray]] = []
        size = max(int(self.settings.batch_size), 1)
        for window in iter_windows(path, self.spec.sample_rate, window_s=self.window_s, hop_s=self.hop_s, cancel=cancel):
            batch.append(window)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def encode_asset(self, path: Path, kind: MediaKind, *, cancel: "CancelToken | None" = None) -> AssetEncoding:
        """Windows of the file's audio (a video's soundtrack) as segments with vectors and labels.

        A video without an audio stream gives an empty encoding; undecodable audio raises
        DecodeError / UnsupportedMediaError with the reason.
        """
        segments: list[EncodedSegment] = []
        media_s = 0.0
        try:
            for batch in self._batches(Path(path), cancel):
                if cancel is not None:
                    cancel.raise_if_cancelled(f"{self.name} encoding")
                # the single-clip case and an end-aligned tail may differ in length: embed per length
                vectors = np.zeros((len(batch), self.spec.dim), np.float32)
                labels: list[list[tuple[str, float]]] = [[] for _ in batch]
                by_len: dict[int, list[int]] = {}
                for i, (_, _, samples) in enumerate(batch):
                    by_len.setdefault(samples.size, []).append(i)
                for rows in by_len.values():
                    vecs, labs = self.embed_windows([batch[i][2] for i in rows])
                    vectors[rows] = vecs
                    for i, lab in zip(rows, labs):
                        labels[i] = lab
                for (start_s, end_s, _), vec, lab in zip(batch, vectors, labels):
                    segments.append(EncodedSegment(start_s=start_s, end_s=end_s, vector=vec, labels=lab))
                    media_s = max(media_s, end_s)
        except NoAudioStreamError:
            if kind == MediaKind.VIDEO:
                return AssetEncoding(segments=[], media_s=0.0)
            raise
        return AssetEncoding(segments=segments, media_s=media_s)


# -- the baseline descriptor -----------------------------------------------------------------
_N_FFT = 512
_HOP = 160  # 10 ms at 16 kHz
_N_MELS = 64
_N_MFCC = 40
_EPS = 1e-10
#: block weights: timbre matters most, then its spread and the coarse spectral shape
_WEIGHTS = (1.0, 0.6, 0.4, 0.6)


class BaselineAudioEncoder(WindowedAudioEncoder):
    """MFCC + spectral statistics, 128-d, 16 kHz (see the module docstring)."""

    def __init__(self, spec, settings, model_paths) -> None:  # type: ignore[no-untyped-def]
        super().__init__(spec, settings, model_paths)
        import librosa

        self.sr = int(spec.sample_rate or 16_000)
        self._mel = librosa.filters.mel(sr=self.sr, n_fft=_N_FFT, n_mels=_N_MELS, fmin=20.0, fmax=self.sr / 2).astype(
            np.float32
        )
        self._window = np.hanning(_N_FFT + 1)[:-1].astype(np.float32)
        self._freqs = np.linspace(0.0, 1.0, _N_FFT // 2 + 1, dtype=np.float32)  # fraction of Nyquist

    def embed_windows(self, windows: Sequence[np.ndarray]) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        vectors = np.stack([self.describe(w) for w in windows]) if windows else np.zeros((0, self.spec.dim), np.float32)
        return vectors, [[] for _ in windows]

    def _power_spectrogram(self, samples: np.ndarray) -> np.ndarray:
        """(samples,) -> (frames, 257) float32 power spectrum, 32 ms Hann frames every 10 ms."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if samples.size < _N_FFT:
            samples = np.pad(samples, (0, _N_FFT - samples.size))
        samples = np.pad(samples, (_N_FFT // 2, _N_FFT // 2), mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(samples, _N_FFT)[::_HOP]
        return np.square(np.abs(np.fft.rfft(frames * self._window, axis=1))).astype(np.float32)

    def describe(self, samples: np.ndarray) -> np.ndarray:
        """(samples,) float32 at 16 kHz -> (128,) float32, L2-normalised."""
        from scipy.fft import dct

        power = self._power_spectrogram(samples)
        log_mel = 10.0 * np.log10(power @ self._mel.T + _EPS)  # (frames, 64) dB
        mfcc = dct(log_mel, type=2, norm="ortho", axis=1)[:, :_N_MFCC]
        delta = np.diff(mfcc, axis=0) if mfcc.shape[0] > 1 else np.zeros_like(mfcc)

        timbre = mfcc[:, 1:].mean(axis=0) / 10.0
        loudness = np.tanh((mfcc[:, 0].mean() / np.sqrt(_N_MELS) + 40.0) / 20.0)
        block_timbre = np.concatenate([timbre, [loudness]])
        block_spread = np.log(mfcc.std(axis=0) + 1e-3)
        block_motion = np.log(delta.std(axis=0) + 1e-3)

        total = power.sum(axis=1) + _EPS
        centroid = (power @ self._freqs) / total
        bandwidth = np.sqrt((power @ np.square(self._freqs)) / total - np.square(centroid)).clip(0.0)
        cumulative = np.cumsum(power, axis=1)
        rolloff = self._freqs[np.argmax(cumulative >= 0.85 * cumulative[:, -1:], axis=1)]
        flatness = np.exp(np.log(power + _EPS).mean(axis=1)) / (power.mean(axis=1) + _EPS)
        log_flat = np.log10(flatness + _EPS) / 5.0
        block_spectral = np.array(
            [
                centroid.mean() - 0.25,
                bandwidth.mean() - 0.2,
                rolloff.mean() - 0.4,
                log_flat.mean() + 0.4,
                centroid.std(),
                bandwidth.std(),
                rolloff.std(),
                log_flat.std(),
            ]
        )
        blocks = (block_timbre, block_spread - block_spread.mean(), block_motion - block_motion.mean(), block_spectral)
        parts = [w * _unit(np.nan_to_num(b.astype(np.float32))) for w, b in zip(_WEIGHTS, blocks)]
        return l2_normalise(np.concatenate(parts)[None, :])[0]


def _unit(block: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(block))
    return block / norm if norm > 1e-8 else block
