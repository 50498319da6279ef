"""Load still images as RGB Pillow images, whatever their mode, orientation or format.

Formats: JPEG, PNG, GIF (first frame), WebP, TIFF, BMP (and AVIF where Pillow has it).
Every image comes back in mode ``RGB``: EXIF orientation applied, CMYK / 16-bit / palette /
greyscale converted, transparency composited on white. JPEGs are decoded at a reduced
scale (libjpeg's DCT scaling, 2.5x faster on 12 MP photos) when the caller says how
small it needs the result.

The decompression-bomb limit is checked here, per call, against ``max_pixels`` before
any pixel is decoded; Pillow's own process-wide check (a warning between 89 and 179 MP,
an error above) is switched off on import because it cannot be set per call and its
warning is easy to miss.
"""

from __future__ import annotations

import io
import logging
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mediasearch.errors import DecodeError, UnsupportedMediaError

logger = logging.getLogger(__name__)

__all__ = ["load_image", "image_size", "DEFAULT_MAX_PIXELS"]

#: the default decompression-bomb limit in pixels (same as Settings.max_image_pixels)
DEFAULT_MAX_PIXELS = 120_000_000

# Our per-call check below replaces Pillow's global one (see the module docstring).
Image.MAX_IMAGE_PIXELS = None

# Only these parsers ever see a file (camera MPO files open through the JPEG one).
_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF")

# Exceptions Pillow raises for truncated or corrupt data while decoding.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)

# EXIF orientations that swap width and height (transpose, rotate 90/270, transverse).
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}


def load_image(
    path: Path | str, *, target_size: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """Decode ``path`` into an RGB image, upright (EXIF orientation applied).

    ``target_size``: the shorter side, in pixels, the caller will resize to. JPEGs are then
    decoded at the smallest DCT scale (1/2, 1/4 or 1/8) that keeps both sides at least
    ``2 * target_size``, so a later antialiased resize still has detail to work with; other
    formats are returned at full size. ``max_pixels``: width * height above which the image
    is refused before decoding.

    Raises UnsupportedMediaError (not an image, too large, unreadable) or DecodeError
    (an image whose data is truncated or corrupt), each with a reason.
    """
    path = Path(path)
    with _open(path) as img:
        _check_size(path, img, max_pixels)
        if target_size is not None and img.format in ("JPEG", "MPO"):
            side = 2 * int(target_size)
            full = img.size
            img.draft("RGB", (side, side))
            if img.size != full:
                logger.debug("%s: draft decode %s -> %s", path, full, img.size)
        try:
            img.load()
            upright = _exif_transpose(path, img)
            return _to_rgb(upright)
        except _DECODE_ERRORS as exc:
            raise DecodeError(path, _decode_reason(img.format, exc)) from exc


def image_size(path: Path | str) -> tuple[int, int]:
    """(width, height) in pixels as displayed (EXIF orientation applied), from the header only."""
    path = Path(path)
    with _open(path) as img:
        width, height = img.size
        try:
            orientation = img.getexif().get(0x0112)
        except _DECODE_ERRORS:
            orientation = None
        if orientation in _SWAPPING_ORIENTATIONS:
            return height, width
        return width, height


def _open(path: Path) -> Image.Image:
    """Open lazily (header only) and map failures to typed errors."""
    from mediasearch.decode.source import held

    data = held(path)  # a file the pipeline already read (and hashed) is decoded from that buffer
    try:
        return Image.open(io.BytesIO(data) if data is not None else path, formats=_FORMATS)
    except FileNotFoundError:
        raise UnsupportedMediaError(path, "file not found") from None
    except PermissionError:
        raise UnsupportedMediaError(path, "permission denied") from None
    except IsADirectoryError:
        raise UnsupportedMediaError(path, "not a regular file") from None
    except UnidentifiedImageError as exc:
        raise _not_identified(path) from exc
    except Image.DecompressionBombError as exc:  # someone set Pillow's global limit again
        raise UnsupportedMediaError(path, f"image too large: {exc}") from None
    except _DECODE_ERRORS as exc:
        raise DecodeError(path, f"unreadable image header: {exc}") from exc


def _not_identified(path: Path) -> Exception:
    """Pillow did not recognise the file: corrupt image, or not an image at all?"""
    from mediasearch.decode.probe import sniff

    try:
        found = sniff(path)
    except OSError as exc:
        return UnsupportedMediaError(path, f"cannot read file: {exc.strerror or exc}")
    if found.format == "empty":
        return UnsupportedMediaError(path, "empty file (0 bytes)")
    if found.kind is not None and found.format in ("jpeg", "png", "gif", "webp", "tiff", "bmp", "avif"):
        return DecodeError(path, f"corrupt {found.format.upper()} header")
    if found.kind is not None:
        return UnsupportedMediaError(path, f"not an image ({found.kind.value} file, {found.format})")
    return UnsupportedMediaError(path, found.reason or "unrecognised file format")


def _check_size(path: Path, img: Image.Image, max_pixels: int) -> None:
    width, height = img.size
    if width <= 0 or height <= 0:
        raise DecodeError(path, f"invalid image size {width} x {height} px")
    if width * height > max_pixels:
        raise UnsupportedMediaError(path, f"image too large: {width} x {height} px > limit {max_pixels} px")


def _exif_transpose(path: Path, img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block leaves the pixels as stored."""
    try:
        ImageOps.exif_transpose(img, in_place=True)  # in place: no 36 MB copy for a 12 MP photo
        return img
    except (SyntaxError, ValueError, TypeError, struct.error, KeyError) as exc:
        logger.warning("%s: ignoring unreadable EXIF orientation (%s)", path, exc)
        return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency composited on white, 16/32-bit scaled to 8 bits."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        samples = np.asarray(img)
        # 16-bit data is scaled by its bit depth; 32-bit ints and floats by their range.
        sixteen = mode.startswith("I;16") or (mode == "I" and samples.min() >= 0 and samples.max() <= 0xFFFF)
        grey = _scale_to_uint8(samples, bits=16 if sixteen else None)
        return Image.fromarray(grey).convert("RGB")
    if mode == "P":
        has_alpha = "transparency" in img.info or img.palette.mode == "RGBA"
        img = img.convert("RGBA" if has_alpha else "RGB")
    elif mode in ("PA", "LA", "La", "RGBa"):
        img = img.convert("RGBA")
    elif mode in ("L", "1") and "transparency" in img.info:
        img = img.convert("LA").convert("RGBA")
    if img.mode == "RGBA":
        white = Image.new("RGB", img.size, (255, 255, 255))
        white.paste(img, mask=img.getchannel("A"))
        return white
    return img.convert("RGB")


def _scale_to_uint8(values: np.ndarray, *, bits: int | None) -> np.ndarray:
    """(h, w) integer/float samples -> (h, w) uint8: by bit depth, or min-max for floats."""
    values = values.astype(np.float32)
    if bits is None:
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        if 0.0 <= lo and hi <= 1.0:
            lo, hi = 0.0, 1.0
        scaled = (values - lo) / max(hi - lo, 1e-12) * 255.0
    else:
        scaled = values / ((1 << bits) - 1) * 255.0
    return np.clip(np.nan_to_num(scaled) + 0.5, 0, 255).astype(np.uint8)


def _decode_reason(fmt: str | None, exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    kind = f"{fmt} " if fmt else ""
    if "truncated" in message.lower():
        return f"truncated {kind}file ({message})"
    return f"corrupt {kind}data ({message})"
