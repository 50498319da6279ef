"""Shared PyTorch helpers for the learned encoders: threads, weights files, batching, precision, device.

Imported only by torch-based encoder modules (themselves imported on first use), so
importing torch here costs nothing at start-up.

- :func:`configure_threads` applies ``settings.inference_threads`` (all cores but one by default).
- :func:`load_state_dict_file` reads a ``.safetensors`` or ``.pth``/``.bin`` state dict
  without executing pickled code (``weights_only=True``).
- :func:`embed_image_batches` runs preprocess -> model in ``settings.batch_size`` chunks
  under ``torch.inference_mode()`` and returns (n, dim) float32 L2-normalised rows.
- :func:`decide_image_precision` measures fp32 against bf16/fp16 autocast on a fixed
  calibration batch (via :mod:`mediasearch.encoders.precision`, cached per machine);
  :func:`load_device` resolves ``settings.device`` (:mod:`mediasearch.encoders.device`).
- :func:`offline_hub` keeps Hugging Face libraries from reaching the network while a
  model or tokenizer is being loaded from a local folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch

from mediasearch.encoders import device as device_mod
from mediasearch.encoders import precision
from mediasearch.encoders.base import l2_normalise

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

_WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


# -- threads ---------------------------------------------------------------------------


def configure_threads(settings: Settings) -> int:
    """Set torch's intra-op thread count to ``settings.inference_threads``; returns it."""
    threads = settings.inference_threads
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


# -- numeric path and device ----------------------------------------------------------


def cpu_flags() -> frozenset[str]:
    """The CPU's relevant feature flags (see :mod:`mediasearch.encoders.precision`)."""
    return precision.cpu_info().flags


def cpu_supports_bf16() -> bool:
    """True when the CPU computes bf16 natively (avx512_bf16 or AMX)."""
    return precision.cpu_info().bf16_native


def autocast(device: torch.device | str, dtype_name: str) -> contextlib.AbstractContextManager:
    """Autocast for ``dtype_name`` ("fp32": none, "bf16", "fp16") on ``device``."""
    return precision.autocast(device, dtype_name)


def load_device(encoder_name: str, settings: Settings) -> torch.device:
    """The device ``settings.device`` resolves to, logged once per encoder."""
    resolved = device_mod.resolve_device(settings.device)
    logger.debug("%s runs on %s", encoder_name, resolved)
    return resolved


def decide_image_precision(
    settings: Settings,
    *,
    component: str,
    device: torch.device,
    preprocess: Callable[[Image.Image], torch.Tensor],
    forward: Callable[[torch.Tensor], torch.Tensor],
    weights_path: Path | None,
    channels_last: bool = False,
) -> precision.PrecisionDecision:
    """The precision an image model runs at, measured on :func:`precision.calibration_images`
    (4 images on the CPU, one GPU batch on a GPU) when ``settings.precision`` is auto."""
    count = 4 if device.type == "cpu" else min(device_mod.batch_size_for(settings, device), 16)
    batch = torch.stack([preprocess(im) for im in precision.calibration_images(count)])

    def run(dtype_name: str) -> np.ndarray:
        with torch.inference_mode(), autocast(device, dtype_name):
            out = forward(device_mod.to_device(batch, device, channels_last=channels_last))
            return out.float().reshape(count, -1).cpu().numpy()

    return precision.decide(settings, component=component, device=device, run=run, items=count, weights_path=weights_path)


class OnnxForward:
    """``forward`` for :func:`embed_image_batches` on an ONNX Runtime session: (b, 3, H, W) -> (b, d)."""

    def __init__(self, session: object) -> None:
        self.session = session

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        pixels = np.ascontiguousarray(batch.detach().to("cpu").contiguous().numpy(), dtype=np.float32)
        return torch.from_numpy(self.session.run({"images": pixels}))


def decide_image_engine(
    settings: Settings,
    *,
    component: str,
    model: torch.nn.Module,
    device: torch.device,
    preprocess: Callable[[Image.Image], torch.Tensor],
    weights_path: Path | None,
    chosen: precision.PrecisionDecision,
    channels_last: bool = False,
) -> tuple[OnnxForward | None, dict]:
    """ONNX Runtime for an image backbone where it beats the torch path ``chosen`` (see
    :func:`mediasearch.encoders.onnx_engine.image_session`): (forward or None, decision)."""
    from mediasearch.encoders import onnx_engine

    batch = torch.stack([preprocess(im) for im in precision.calibration_images(4)])

    def run(dtype_name: str) -> np.ndarray:
        with torch.inference_mode(), autocast(device, dtype_name):
            return model(device_mod.to_device(batch, device, channels_last=channels_last)).float().reshape(4, -1).cpu().numpy()

    session, decision = onnx_engine.image_session(
        settings, component=component, model=model, weights_path=weights_path, batch=batch,
        torch_run=run, torch_precision=chosen, device_type=device.type,
    )
    return (OnnxForward(session) if session is not None else None), decision


@dataclass
class PlacedImageModel:
    """An image backbone moved to its device once, with the numeric path and engine chosen."""

    model: torch.nn.Module
    device: torch.device
    batch_size: int
    precision: precision.PrecisionDecision
    onnx: "OnnxForward | None"
    engine: dict


def place_image_model(
    settings: Settings,
    *,
    component: str,
    model: torch.nn.Module,
    preprocess: Callable[[Image.Image], torch.Tensor],
    weights_path: Path | None,
    channels_last: bool,
) -> PlacedImageModel:
    """What every torch image backbone does after building its model: pick the device,
    move the model there once, size the batch, and choose precision then engine."""
    device = load_device(component, settings)
    model = model.eval().to(device)  # moved once, kept there
    chosen = decide_image_precision(
        settings, component=component, device=device, preprocess=preprocess, forward=model,
        weights_path=weights_path, channels_last=channels_last,
    )
    onnx, engine = decide_image_engine(
        settings, component=component, model=model, device=device, preprocess=preprocess,
        weights_path=weights_path, chosen=chosen, channels_last=channels_last,
    )
    return PlacedImageModel(model, device, device_mod.batch_size_for(settings, device), chosen, onnx, engine)


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
    device: torch.device | None = None,
    dtype_name: str = "fp32",
) -> np.ndarray:
    """Images -> (n, dim) float32, L2-normalised.

    ``preprocess`` maps one RGB PIL image to a (3, H, W) float tensor on the CPU; ``forward``
    maps a (b, 3, H, W) batch on ``device`` (default CPU) to (b, dim) features. Runs under
    ``torch.inference_mode()`` and the autocast of ``dtype_name``, ``batch_size`` images at
    a time; only the stacked batch crosses to the device.
    """
    if len(images) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    device = device or torch.device("cpu")
    chunks: list[np.ndarray] = []
    with torch.inference_mode(), autocast(device, dtype_name):
        for chunk in batched(images, batch_size):
            batch = torch.stack([preprocess(to_rgb(im)) for im in chunk])
            features = forward(device_mod.to_device(batch, device, channels_last=channels_last))
            chunks.append(features.float().reshape(len(chunk), -1).cpu().numpy())
    vectors = np.concatenate(chunks, axis=0)
    if vectors.shape[1] != dim:
        raise ValueError(f"model gave {vectors.shape[1]}-d features, expected {dim}")
    return l2_normalise(vectors)
