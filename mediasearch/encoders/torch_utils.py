"""Shared PyTorch helpers for the learned encoders: threads, weights files, batching, bf16.

Imported only by torch-based encoder modules (themselves imported on first use), so
importing torch here costs nothing at start-up.

- :func:`configure_threads` applies ``settings.inference_threads`` (all cores but one by default).
- :func:`load_state_dict_file` reads a ``.safetensors`` or ``.pth``/``.bin`` state dict
  without executing pickled code (``weights_only=True``).
- :func:`embed_image_batches` runs preprocess -> model in ``settings.batch_size`` chunks
  under ``torch.inference_mode()`` and returns (n, dim) float32 L2-normalised rows.
- :func:`use_bf16` is the gate for bf16 autocast: off unless asked for (env
  ``MEDIASEARCH_BF16=1`` or ``spec.options["bf16"]``) *and* the CPU has native bf16
  (``avx512_bf16`` or AMX). PERFORMANCE.md: bf16 shifts outputs by ~0.5 %; check
  retrieval with real weights before making it a default.
- :func:`offline_hub` keeps Hugging Face libraries from reaching the network while a
  model or tokenizer is being loaded from a local folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch

from mediasearch.encoders.base import l2_normalise

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from mediasearch.config import Settings
    from mediasearch.encoders.base import EncoderSpec

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: environment variable that turns on bf16 autocast where the CPU supports it
BF16_ENV = "MEDIASEARCH_BF16"
_TRUE = {"1", "true", "yes", "on"}
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "amx_tile"})
_WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


# -- threads ---------------------------------------------------------------------------


def configure_threads(settings: Settings) -> int:
    """Set torch's intra-op thread count to ``settings.inference_threads``; returns it."""
    threads = settings.inference_threads
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


# -- bf16 gate -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags from /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_supports_bf16() -> bool:
    """True when the CPU computes bf16 natively (avx512_bf16 or AMX)."""
    return bool(cpu_flags() & _BF16_FLAGS)


def bf16_requested(spec: EncoderSpec | None = None) -> bool:
    """True when bf16 was asked for: ``MEDIASEARCH_BF16=1`` or ``spec.options["bf16"]`` truthy."""
    if os.environ.get(BF16_ENV, "").strip().lower() in _TRUE:
        return True
    return bool(spec is not None and spec.options.get("bf16", False))


def use_bf16(spec: EncoderSpec | None = None) -> bool:
    """Whether to run under bf16 autocast: requested *and* supported by this CPU (default off)."""
    if not bf16_requested(spec):
        return False
    if not cpu_supports_bf16():
        logger.info("bf16 requested but this CPU has no avx512_bf16/AMX; running fp32")
        return False
    return True


def autocast(enabled: bool) -> contextlib.AbstractContextManager:
    """CPU bf16 autocast when ``enabled``, else a no-op context."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=torch.bfloat16)


# -- weights ---------------------------------------------------------------------------


def find_weights_file(path: Path, preferred: Sequence[str] = ()) -> Path:
    """The weights file at ``path``: the path itself if it is a file, else the first of
    ``preferred`` names present in the folder, else its only ``.safetensors``/``.pth``/``.bin``.

    Raises FileNotFoundError when there is none (or several and none is preferred).
    """
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"no weights at {path}")
    for name in preferred:
        if (path / name).is_file():
            return path / name
    candidates = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    if len(candidates) == 1:
        return candidates[0]
    raise FileNotFoundError(f"cannot tell which weights file to load in {path}: {[c.name for c in candidates]}")


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """A state dict via the model store's safe loader, without a DataParallel ``module.`` prefix."""
    from mediasearch.modelstore.loading import load_torch_state_dict

    state = load_torch_state_dict(path)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


# -- Hugging Face offline guard --------------------------------------------------------


@contextlib.contextmanager
def offline_hub() -> Iterator[None]:
    """Make huggingface_hub / transformers refuse network access inside the block.

    Sets ``HF_HUB_OFFLINE`` and ``TRANSFORMERS_OFFLINE`` (read when those libraries are
    first imported) and the already-imported ``huggingface_hub.constants.HF_HUB_OFFLINE``,
    restoring all of them afterwards so other components' explicit downloads still work.
    """
    saved_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    constants = None
    saved_const = None
    try:
        from huggingface_hub import constants

        saved_const = constants.HF_HUB_OFFLINE
        constants.HF_HUB_OFFLINE = True
    except (ImportError, AttributeError):  # pragma: no cover - optional
        constants = None
    try:
        yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if constants is not None:
            constants.HF_HUB_OFFLINE = saved_const


# -- batching --------------------------------------------------------------------------


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive chunks of at most ``size`` items."""
    size = max(1, int(size))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def to_rgb(image: Image.Image) -> Image.Image:
    """The image in RGB mode (decoders already give RGB; this guards direct callers)."""
    return image if image.mode == "RGB" else image.convert("RGB")


def embed_image_batches(
    images: Sequence[Image.Image],
    *,
    preprocess: Callable[[Image.Image], torch.Tensor],
    forward: Callable[[torch.Tensor], torch.Tensor],
    dim: int,
    batch_size: int,
    channels_last: bool = False,
    bf16: bool = False,
) -> np.ndarray:
    """Images -> (n, dim) float32, L2-normalised.

    ``preprocess`` maps one RGB PIL image to a (3, H, W) float tensor; ``forward`` maps a
    (b, 3, H, W) batch to (b, dim) features. Runs under ``torch.inference_mode()`` (and
    bf16 autocast when ``bf16``), ``batch_size`` images at a time.
    """
    if len(images) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    chunks: list[np.ndarray] = []
    with torch.inference_mode(), autocast(bf16):
        for chunk in batched(images, batch_size):
            batch = torch.stack([preprocess(to_rgb(im)) for im in chunk])
            if channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            features = forward(batch)
            chunks.append(features.float().reshape(len(chunk), -1).numpy())
    vectors = np.concatenate(chunks, axis=0)
    if vectors.shape[1] != dim:
        raise ValueError(f"model gave {vectors.shape[1]}-d features, expected {dim}")
    return l2_normalise(vectors)
