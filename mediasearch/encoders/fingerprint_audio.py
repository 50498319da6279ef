"""A landmark audio fingerprint as one fixed-length vector (weight-free).

Audio-fingerprinting systems (Wang's Shazam paper, "An Industrial-Strength Audio Search
Algorithm", 2003) describe a recording by *landmarks*: pairs of spectrogram peaks, each
hashed as (anchor frequency, target frequency, time between them). A peak that rises
above its neighbourhood survives added noise, a gain change and a change of sample rate;
a pair's hash holds no absolute time, so it survives a time shift.

An inner-product vector index needs one fixed-length vector per clip, so the bag of
landmark hashes is folded into ``DIM`` dimensions with *signed* feature hashing (each hash
adds +1 or -1 to one dimension, both chosen by the hash): the inner product of two folded
bags is an unbiased estimate of the number of hashes they share, and two unrelated clips
score about 0 (standard deviation ~ 1 / sqrt(DIM)). Counts are square-rooted first, so a
stationary sound that repeats one landmark a thousand times does not own the vector.

Peaks are looked for between 150 Hz and 3.8 kHz only: a copy that went through an 8 kHz
file has nothing above 4 kHz, and hum below 150 Hz is mostly mains and rumble.

Every clip is described on its own, with fixed constants: a library item and a query go
through exactly the same function, so they can be compared.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy.fft import rfft

from mediasearch.encoders.baseline_audio import WindowedAudioEncoder
from mediasearch.encoders.base import l2_normalise

logger = logging.getLogger(__name__)

SR = 16_000
DIM = 1024
N_FFT = 1024  # 64 ms
HOP = 256  # 16 ms
F_LO_HZ, F_HI_HZ = 150.0, 3800.0
PEAK_FREQ_BINS, PEAK_FRAMES = 9, 9  # neighbourhood a peak must top (~140 Hz x ~144 ms)
FLOOR = 1.0  # log units above the clip's median magnitude (~2.7x): not a noise ripple
TIME_SLACK = 0.5
BLOCK_FRAMES, PEAKS_PER_BLOCK = 16, 6  # ~0.26 s blocks
FAN_OUT = 6
DT_MAX = 40  # frames (~0.64 s) from anchor to target
DF_MAX = 128  # bins (2 kHz) from anchor to target
FREQ_QUANT = 2  # bins per hashed frequency step (~31 Hz): tolerates a one-bin peak wobble
_BINS = np.arange(N_FFT // 2 + 1) * SR / N_FFT
_LO, _HI = int(np.searchsorted(_BINS, F_LO_HZ)), int(np.searchsorted(_BINS, F_HI_HZ))
_WINDOW = np.hanning(N_FFT + 1)[:-1].astype(np.float32)


def log_spectrogram(samples: np.ndarray) -> np.ndarray:
    """(samples,) float32 at 16 kHz -> (frames, bins) float32 log-magnitude between 150 Hz and 3.8 kHz."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if samples.size < N_FFT:
        samples = np.pad(samples, (0, N_FFT - samples.size))
    frames = np.lib.stride_tricks.sliding_window_view(samples, N_FFT)[::HOP]
    magnitude = np.abs(rfft(frames * _WINDOW, axis=1))[:, _LO:_HI]
    return np.log(magnitude + 1e-6).astype(np.float32)


def peaks(spectrogram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectral peaks of a log spectrogram: (frame indices, bin indices), time order.

    A peak is a local maximum along frequency (within ``PEAK_FREQ_BINS``) that comes
    within ``TIME_SLACK`` (log units) of the maximum over ``PEAK_FRAMES`` frames around it
    (so a slowly decaying partial stays a peak while it lasts) and stands ``FLOOR`` above
    the clip's median level; in every block of ``BLOCK_FRAMES`` frames the
    ``PEAKS_PER_BLOCK`` strongest are kept, so loud passages cannot starve quiet ones.
    """
    from scipy.ndimage import maximum_filter

    if spectrogram.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    along_freq = maximum_filter(spectrogram, size=(1, PEAK_FREQ_BINS), mode="constant", cval=-np.inf)
    around = maximum_filter(spectrogram, size=(PEAK_FRAMES, PEAK_FREQ_BINS), mode="constant", cval=-np.inf)
    floor = np.median(spectrogram) + FLOOR
    is_peak = (spectrogram == along_freq) & (spectrogram >= around - TIME_SLACK) & (spectrogram > floor)
    frames, bins = np.nonzero(is_peak)
    if frames.size == 0:
        return frames, bins
    strength = spectrogram[frames, bins]
    block = frames // BLOCK_FRAMES
    order = np.lexsort((-strength, block))  # by block, strongest first
    block_sorted = block[order]
    first = np.searchsorted(block_sorted, block_sorted, side="left")
    rank_in_block = np.arange(order.size) - first
    chosen = order[rank_in_block < PEAKS_PER_BLOCK]
    frames, bins = frames[chosen], bins[chosen]
    order = np.lexsort((bins, frames))
    return frames[order], bins[order]


def landmarks(frames: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Pairs of peaks -> (pairs,) int64 landmark codes of (anchor bin, target bin, frames apart).

    Each peak anchors up to ``FAN_OUT`` later peaks within ``DT_MAX`` frames and ``DF_MAX`` bins.
    """
    codes: list[int] = []
    n = frames.size
    for i in range(n):
        taken = 0
        for j in range(i + 1, n):
            dt = int(frames[j] - frames[i])
            if dt > DT_MAX:
                break
            if (bins[j] == bins[i] and dt < PEAK_FRAMES) or abs(int(bins[j]) - int(bins[i])) > DF_MAX:
                continue
            f1, f2 = int(bins[i]) // FREQ_QUANT, int(bins[j]) // FREQ_QUANT
            codes.append((f1 * 256 + f2) * 64 + dt)
            taken += 1
            if taken == FAN_OUT:
                break
    return np.asarray(codes, dtype=np.int64)


def _mix(codes: np.ndarray) -> np.ndarray:
    """A fixed 64-bit integer hash (splitmix64's finaliser) of each code: (n,) uint64."""
    with np.errstate(over="ignore"):
        x = codes.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def fold(codes: np.ndarray, dim: int = DIM) -> np.ndarray:
    """Landmark codes -> (dim,) float32: square-rooted code counts, signed-hashed into ``dim``
    dimensions, L2-normalised (all zero when there are no landmarks)."""
    out = np.zeros(dim, np.float64)
    if codes.size:
        unique, counts = np.unique(codes, return_counts=True)
        mixed = _mix(unique)
        slots = (mixed % np.uint64(dim)).astype(np.int64)
        signs = np.where((mixed >> np.uint64(63)) == 1, -1.0, 1.0)
        np.add.at(out, slots, signs * np.sqrt(counts))
    norm = np.linalg.norm(out)
    return (out / norm if norm > 0 else out).astype(np.float32)


def fingerprint(samples: np.ndarray, dim: int = DIM) -> np.ndarray:
    """(samples,) float32 at 16 kHz -> (dim,) float32 landmark vector, L2-normalised (zero for silence)."""
    frames, bins = peaks(log_spectrogram(samples))
    return fold(landmarks(frames, bins), dim)


class FingerprintAudioEncoder(WindowedAudioEncoder):
    """Landmark fingerprints of audio windows: (n, 1024) float32, L2-normalised.

    Finds the same recording (re-encoded, noisier, shifted); says nothing about what kind
    of sound it is: two different dogs score about 0.
    """

    def embed_windows(self, windows: Sequence[np.ndarray]) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        if not windows:
            return np.zeros((0, self.spec.dim), np.float32), []
        vectors = np.stack([fingerprint(w, self.spec.dim) for w in windows])
        # a silent window has no landmarks: give it a fixed unit vector so every row is unit length
        silent = ~np.any(vectors, axis=1)
        vectors[silent, 0] = 1.0
        return l2_normalise(vectors), [[] for _ in windows]
