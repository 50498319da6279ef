"""The weight-free image baseline: colour histogram + DCT perceptual hash + Haar wavelet layout.

Every learned encoder is compared against this one, so it is built to be what a careful
non-learned near-duplicate finder would be: deterministic, fast (pure NumPy/Pillow/SciPy,
hundreds of images a second) and robust to JPEG re-encoding, resizing and small crops.

The image is squashed to a 64x64 thumbnail (box filter, so the whole frame counts and the
result barely depends on the input resolution). Three blocks, 256 dims in all:

- ``colour`` (128): joint HSV histogram, 8 hue x 4 saturation x 4 value bins with linear
  soft binning (hue circular), so small colour shifts move mass smoothly between bins; hue is
  ignored for the least saturated bin (the hue of greys is JPEG noise). Square-rooted
  (Hellinger), so the block's dot product is the Bhattacharyya coefficient.
- ``hash`` (64): DCT perceptual hash of the 32x32 grey thumbnail: the 64 lowest-frequency
  AC coefficients compared with their median, as +1/-1 (cosine = 1 - 2 * Hamming / 64).
- ``wavelet`` (64): spatial layout of Haar detail energy at three scales of the 64x64 grey
  thumbnail (level 2: 3 orientations x 4x4 cells; level 3: 3 x 2x2; level 4: 3 x 1; plus
  the overall contrast), as centred log-RMS values.

Each block is L2-normalised and scaled by the square root of its weight (weights sum to
1), so the cosine of two descriptors is the weighted mean of the blocks' cosines; the
concatenation is L2-normalised again (it only matters when a block is all zero).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from scipy.fft import dctn

from mediasearch.encoders.base import Encoder, EncoderSpec, l2_normalise

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

THUMB = 64
HASH_SIDE = 32
H_BINS, S_BINS, V_BINS = 8, 4, 4
COLOUR_DIM = H_BINS * S_BINS * V_BINS
HASH_DIM = 64
WAVELET_DIM = 64
DIM = COLOUR_DIM + HASH_DIM + WAVELET_DIM

#: share of each block in the cosine of two descriptors (sums to 1)
BLOCK_WEIGHTS: dict[str, float] = {"colour": 0.40, "hash": 0.35, "wavelet": 0.25}


def _zigzag_low_frequencies(side: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the ``count`` lowest-frequency AC coefficients of a side x side DCT,
    in order of u + v (then u)."""
    coords = sorted(((u, v) for u in range(side) for v in range(side) if (u, v) != (0, 0)), key=lambda c: (c[0] + c[1], c[0]))
    chosen = coords[:count]
    return np.array([c[0] for c in chosen]), np.array([c[1] for c in chosen])


_HASH_ROWS, _HASH_COLS = _zigzag_low_frequencies(HASH_SIDE, HASH_DIM)


def thumbnail(image: Image.Image, side: int = THUMB) -> Image.Image:
    """The whole image squashed to side x side RGB with an area (box) filter."""
    image = image if image.mode == "RGB" else image.convert("RGB")
    # reducing_gap lets Pillow shrink big images by integer factors first (fast, still area-averaged)
    return image.resize((side, side), Image.Resampling.BOX, reducing_gap=3.0)


def _soft_bins(values: np.ndarray, bins: int, *, circular: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Linear soft assignment of values in [0, 1) to ``bins`` bins centred at (i + 0.5) / bins.

    Returns (low bin, high bin, low weight, high weight), each shaped like ``values``.
    """
    pos = values * bins - 0.5
    low = np.floor(pos)
    frac = pos - low
    low = low.astype(np.int64)
    high = low + 1
    if circular:
        low %= bins
        high %= bins
    else:
        below, above = low < 0, high > bins - 1
        low = np.clip(low, 0, bins - 1)
        high = np.clip(high, 0, bins - 1)
        frac = np.where(below, 1.0, np.where(above, 0.0, frac))  # all weight on the edge bin
    return low, high, 1.0 - frac, frac


def colour_block(thumb: Image.Image) -> np.ndarray:
    """(128,) float64: square-rooted joint HSV soft histogram (unit L2 norm)."""
    hsv = np.asarray(thumb.convert("HSV"), dtype=np.float64).reshape(-1, 3) / 256.0
    h_lo, h_hi, h_wl, h_wh = _soft_bins(hsv[:, 0], H_BINS, circular=True)
    s_lo, s_hi, s_wl, s_wh = _soft_bins(hsv[:, 1], S_BINS, circular=False)
    v_lo, v_hi, v_wl, v_wh = _soft_bins(hsv[:, 2], V_BINS, circular=False)
    hist = np.zeros(COLOUR_DIM, dtype=np.float64)
    for h_idx, h_w in ((h_lo, h_wl), (h_hi, h_wh)):
        for s_idx, s_w in ((s_lo, s_wl), (s_hi, s_wh)):
            for v_idx, v_w in ((v_lo, v_wl), (v_hi, v_wh)):
                index = (h_idx * S_BINS + s_idx) * V_BINS + v_idx
                hist += np.bincount(index, weights=h_w * s_w * v_w, minlength=COLOUR_DIM)
    hist = hist.reshape(H_BINS, S_BINS, V_BINS)
    # greys: spread the least-saturated bin's mass evenly over hues (their hue is noise)
    hist[:, 0, :] = hist[:, 0, :].mean(axis=0, keepdims=True)
    hist = hist.ravel() / max(hist.sum(), 1e-12)
    return np.sqrt(hist)


def hash_block(grey: np.ndarray) -> np.ndarray:
    """(64,) float64 of +1/-1: DCT perceptual hash of a (64, 64) grey thumbnail in [0, 1]."""
    small = grey.reshape(HASH_SIDE, THUMB // HASH_SIDE, HASH_SIDE, THUMB // HASH_SIDE).mean(axis=(1, 3))
    coefficients = dctn(small, type=2, norm="ortho")[_HASH_ROWS, _HASH_COLS]
    return np.where(coefficients > np.median(coefficients), 1.0, -1.0)


def _haar_step(ll: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One 2-D Haar level: (LL, LH, HL, HH), each half the side of ``ll``."""
    a, b = ll[0::2, 0::2], ll[0::2, 1::2]
    c, d = ll[1::2, 0::2], ll[1::2, 1::2]
    return (a + b + c + d) / 2.0, (a - b + c - d) / 2.0, (a + b - c - d) / 2.0, (a - b - c + d) / 2.0


def _cell_rms(band: np.ndarray, cells: int) -> np.ndarray:
    """RMS of ``band`` in a cells x cells grid: (cells * cells,)."""
    side = band.shape[0] // cells
    return np.sqrt((band**2).reshape(cells, side, cells, side).mean(axis=(1, 3))).ravel()


def wavelet_block(grey: np.ndarray) -> np.ndarray:
    """(64,) float64: centred log-RMS Haar detail energies of a (64, 64) grey thumbnail."""
    ll = grey
    features: list[np.ndarray] = []
    for level, cells in ((1, 0), (2, 4), (3, 2), (4, 1)):
        ll, lh, hl, hh = _haar_step(ll)
        if cells:
            features.extend(_cell_rms(band, cells) for band in (lh, hl, hh))
    features.append(np.array([grey.std()]))
    values = np.log(np.concatenate(features) + 1e-3)
    return values - values.mean()


def describe(image: Image.Image) -> np.ndarray:
    """One image -> (256,) float32 descriptor, L2-normalised."""
    thumb = thumbnail(image)
    grey = np.asarray(thumb.convert("L"), dtype=np.float64) / 255.0
    blocks = {"colour": colour_block(thumb), "hash": hash_block(grey), "wavelet": wavelet_block(grey)}
    parts = []
    for name, block in blocks.items():
        norm = np.linalg.norm(block)
        unit = block / norm if norm > 1e-12 else block
        parts.append(unit * np.sqrt(BLOCK_WEIGHTS[name]))
    return np.concatenate(parts).astype(np.float32)


class BaselineImageEncoder(Encoder):
    """Weight-free image descriptor: RGB images -> (n, 256) float32, L2-normalised."""

    def __init__(self, spec: EncoderSpec, settings: Settings, model_paths: Mapping[str, Path]) -> None:
        super().__init__(spec, settings, model_paths)
        if spec.dim != DIM:
            raise ValueError(f"{spec.name}: baseline descriptor is {DIM}-d, spec says {spec.dim}")

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """RGB PIL images -> (n, 256) float32, L2-normalised."""
        if len(images) == 0:
            return np.zeros((0, DIM), dtype=np.float32)
        return l2_normalise(np.stack([describe(im) for im in images]))
