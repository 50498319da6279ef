"""The weight-free image baseline: colour histograms, Haar wavelet layout, local binary
patterns and a Fourier power spectrum.

Every learned encoder is compared against this one, so it is built to be what a careful
non-learned image matcher would be: deterministic, fast (pure NumPy/Pillow/SciPy) and
robust to JPEG re-encoding, resizing, small crops and small rotations, while still saying
something about what kind of picture it is (texture, layout, spectrum), not only its colours.

The image is squashed to a 64x64 thumbnail (box filter, so the whole frame counts and the
result barely depends on the input resolution); texture uses a 128x128 grey version.
Five blocks, 1220 dims in all:

- ``hsv`` (576): joint HSV histogram, 16 hue x 6 saturation x 6 value bins with linear
  soft binning (hue circular), so small colour shifts move mass smoothly between bins; hue
  is ignored for the least saturated bin (the hue of greys is JPEG noise). Square-rooted
  (Hellinger), so the block's dot product is the Bhattacharyya coefficient.
- ``rgb`` (512): joint RGB histogram, 8 levels a channel, square-rooted: hard bins, finer
  where the HSV grid is coarse (dark and grey colours).
- ``wavelet`` (64): spatial layout of Haar detail energy at three scales of the 64x64 grey
  thumbnail (level 2: 3 orientations x 4x4 cells; level 3: 3 x 2x2; level 4: 3 x 1; plus
  the overall contrast), as centred log-RMS values.
- ``lbp`` (20): rotation-invariant uniform local binary patterns (8 neighbours at radius 1
  and 2 of the 128x128 grey image), square-rooted histograms: micro-texture.
- ``fourier`` (48): power spectrum of the windowed 64x64 grey thumbnail pooled in 8
  log-spaced radial x 6 orientation bins, log and centred: which scales and directions the
  picture's structure has, wherever it is in the frame (a crop or shift leaves it).

Each block is L2-normalised and scaled by the square root of its weight (weights sum to
1), so the cosine of two descriptors is the weighted mean of the blocks' cosines; the
concatenation is L2-normalised again (it only matters when a block is all zero). Every
image is described on its own: nothing depends on the rest of a library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from mediasearch.encoders.base import Encoder, EncoderSpec, l2_normalise

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

THUMB = 64
TEXTURE_SIDE = 128
H_BINS, S_BINS, V_BINS = 16, 6, 6
COLOUR_DIM = H_BINS * S_BINS * V_BINS
RGB_LEVELS = 8
RGB_DIM = RGB_LEVELS**3
WAVELET_DIM = 64
LBP_RADII = (1, 2)
LBP_DIM = 10 * len(LBP_RADII)
FOURIER_RADII, FOURIER_ANGLES = 8, 6
FOURIER_DIM = FOURIER_RADII * FOURIER_ANGLES
DIM = COLOUR_DIM + RGB_DIM + WAVELET_DIM + LBP_DIM + FOURIER_DIM

#: share of each block in the cosine of two descriptors (sums to 1)
BLOCK_WEIGHTS: dict[str, float] = {"hsv": 0.3 / 1.1, "rgb": 0.2 / 1.1, "wavelet": 0.2 / 1.1, "lbp": 0.1 / 1.1, "fourier": 0.3 / 1.1}


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
    """(576,) float64: square-rooted joint HSV soft histogram (unit L2 norm)."""
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


def rgb_block(thumb: Image.Image) -> np.ndarray:
    """(512,) float64: square-rooted joint RGB histogram, 8 levels a channel (unit L2 norm)."""
    rgb = np.asarray(thumb, dtype=np.int64) * RGB_LEVELS // 256
    index = (rgb[..., 0] * RGB_LEVELS + rgb[..., 1]) * RGB_LEVELS + rgb[..., 2]
    hist = np.bincount(index.ravel(), minlength=RGB_DIM).astype(np.float64)
    return np.sqrt(hist / max(hist.sum(), 1e-12))


def lbp_block(grey: np.ndarray) -> np.ndarray:
    """(20,) float64: rotation-invariant uniform LBP histograms (8 neighbours, radius 1 and 2)
    of a (128, 128) grey image in [0, 1], square-rooted; codes 0-8 count the set bits of a
    uniform pattern, 9 collects the non-uniform ones."""
    out = []
    for r in LBP_RADII:
        centre = grey[r:-r, r:-r]
        rows, cols = grey.shape
        offsets = ((-r, -r), (-r, 0), (-r, r), (0, r), (r, r), (r, 0), (r, -r), (0, -r))
        # a neighbour counts as brighter only past a small threshold: flat areas stay flat under JPEG noise
        bits = np.stack([grey[r + dy : rows - r + dy, r + dx : cols - r + dx] >= centre + 0.01 for dy, dx in offsets]).astype(np.int8)
        transitions = np.abs(np.diff(np.concatenate([bits, bits[:1]]), axis=0)).sum(axis=0)
        codes = np.where(transitions <= 2, bits.sum(axis=0), 9)
        hist = np.bincount(codes.ravel(), minlength=10).astype(np.float64)
        out.append(np.sqrt(hist / max(hist.sum(), 1e-12)))
    return np.concatenate(out)


def _fourier_bins() -> tuple[np.ndarray, np.ndarray]:
    """Flat bin index (radial * angles + angle) and validity mask of a 64x64 shifted spectrum."""
    half = THUMB // 2
    yy, xx = np.mgrid[-half:half, -half:half]
    radius = np.hypot(yy, xx)
    angle = np.mod(np.arctan2(yy, xx), np.pi)
    radial = np.floor(np.log2(np.maximum(radius, 1.0)) / np.log2(half) * FOURIER_RADII).astype(np.int64)
    angular = np.minimum((angle / np.pi * FOURIER_ANGLES).astype(np.int64), FOURIER_ANGLES - 1)
    valid = (radius >= 1.0) & (radius < half)
    return (radial * FOURIER_ANGLES + angular)[valid], valid


_FOURIER_INDEX, _FOURIER_VALID = _fourier_bins()
_FOURIER_WINDOW = np.outer(np.hanning(THUMB), np.hanning(THUMB))


def fourier_block(grey: np.ndarray) -> np.ndarray:
    """(48,) float64: log power of a (64, 64) grey thumbnail's spectrum (mean removed,
    Hann-windowed) in 8 log-radial x 6 orientation bins, centred."""
    power = np.square(np.abs(np.fft.fftshift(np.fft.fft2((grey - grey.mean()) * _FOURIER_WINDOW))))
    pooled = np.bincount(_FOURIER_INDEX, weights=power[_FOURIER_VALID], minlength=FOURIER_DIM)
    values = np.log(pooled + 1e-6)
    return values - values.mean()


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
    """One image -> (1220,) float32 descriptor, L2-normalised."""
    thumb = thumbnail(image)
    grey = np.asarray(thumb.convert("L"), dtype=np.float64) / 255.0
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    texture = np.asarray(rgb.convert("L").resize((TEXTURE_SIDE, TEXTURE_SIDE), Image.Resampling.BOX, reducing_gap=3.0), dtype=np.float64) / 255.0
    blocks = {
        "hsv": colour_block(thumb),
        "rgb": rgb_block(thumb),
        "wavelet": wavelet_block(grey),
        "lbp": lbp_block(texture),
        "fourier": fourier_block(grey),
    }
    parts = []
    for name, block in blocks.items():
        norm = np.linalg.norm(block)
        unit = block / norm if norm > 1e-12 else block
        parts.append(unit * np.sqrt(BLOCK_WEIGHTS[name]))
    return np.concatenate(parts).astype(np.float32)


class BaselineImageEncoder(Encoder):
    """Weight-free image descriptor: RGB images -> (n, 1220) float32, L2-normalised."""

    def __init__(self, spec: EncoderSpec, settings: Settings, model_paths: Mapping[str, Path]) -> None:
        super().__init__(spec, settings, model_paths)
        if spec.dim != DIM:
            raise ValueError(f"{spec.name}: baseline descriptor is {DIM}-d, spec says {spec.dim}")

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """RGB PIL images -> (n, 1220) float32, L2-normalised."""
        if len(images) == 0:
            return np.zeros((0, DIM), dtype=np.float32)
        return l2_normalise(np.stack([describe(im) for im in images]))
