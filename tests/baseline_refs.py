"""Trivial reference descriptors and the leave-one-out MAP the baseline quality checks use.

The references live here, not in the library: they are what a new weight-free baseline
must beat. The MFCC reference z-scores each dimension over the set being searched (it sees
the whole set; a real index could not), which makes it stronger, not weaker.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mfcc_mean_std(clips: Sequence[np.ndarray], *, sr: int = 16_000, n_mfcc: int = 40) -> np.ndarray:
    """``n_mfcc`` MFCC means + standard deviations (librosa defaults: 2048-point FFT, hop 512,
    128 mel bands), each dimension z-scored over the set, rows L2-normalised:
    (n, 2 * n_mfcc) float32."""
    import librosa

    feats = []
    for clip in clips:
        mfcc = librosa.feature.mfcc(y=np.asarray(clip, np.float32), sr=sr, n_mfcc=n_mfcc)
        feats.append(np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)]))
    return zscore_rows(np.asarray(feats, np.float64))


def zscore_rows(features: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, d) float32: each column z-scored over the rows, then rows L2-normalised."""
    features = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-9)
    return (features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-12)).astype(np.float32)


def colour_histogram(images: Sequence, *, bins: int = 8) -> np.ndarray:
    """Joint RGB histogram (``bins`` per channel) of each image, square-rooted (Hellinger),
    rows L2-normalised: (n, bins ** 3) float32."""
    out = []
    for image in images:
        rgb = np.asarray(image.convert("RGB").resize((64, 64)), dtype=np.int64) * bins // 256
        index = (rgb[..., 0] * bins + rgb[..., 1]) * bins + rgb[..., 2]
        hist = np.bincount(index.ravel(), minlength=bins**3).astype(np.float64)
        out.append(np.sqrt(hist / hist.sum()))
    return np.asarray(out, np.float32)


def tiny_thumbnail(images: Sequence, *, side: int = 8) -> np.ndarray:
    """Each image squashed to side x side RGB, centred, rows L2-normalised: (n, 3 * side**2) float32."""
    out = []
    for image in images:
        pixels = np.asarray(image.convert("RGB").resize((side, side)), dtype=np.float64).ravel()
        out.append(pixels - pixels.mean())
    out = np.asarray(out)
    return (out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-12)).astype(np.float32)


def leave_one_out_map(vectors: np.ndarray, labels: Sequence[str]) -> float:
    """Every item queries all the others (ranked by inner product, ties broken by index);
    relevant = the others with its label. Mean average precision over the queries that have
    at least one relevant item."""
    labels = np.asarray(labels)
    scores = vectors.astype(np.float64) @ vectors.astype(np.float64).T
    aps = []
    for q in range(len(labels)):
        order = np.argsort(-scores[q], kind="stable")
        order = order[order != q]
        flags = labels[order] == labels[q]
        if not flags.any():
            continue
        ranks = np.flatnonzero(flags) + 1
        aps.append(float(np.mean(np.arange(1, ranks.size + 1) / ranks)))
    return float(np.mean(aps))
