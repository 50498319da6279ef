"""Where the torch encoders run: device resolution, batch size and moving tensors.

``settings.device`` is ``auto`` (CUDA, then Apple MPS, then CPU), ``cpu``, ``cuda``
(optionally ``cuda:N``) or ``mps``. A model is moved to its device once, when the encoder
loads, and stays there; decoding and preprocessing stay on the CPU and only the stacked
batch crosses to the device (pinned memory on CUDA), so the GPU's critical path holds
nothing but the forward pass. On a GPU the batch size is raised to
``settings.gpu_batch_size`` (a GPU is underused at the CPU's batch of 8).

Imported only by torch-based encoder modules.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

from mediasearch.errors import MediaSearchError

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceUnavailableError(MediaSearchError):
    """A device was asked for that this machine (or this torch build) does not have."""

    def __init__(self, requested: str, reason: str) -> None:
        self.requested = requested
        self.reason = reason
        super().__init__(f"device {requested!r} is not available: {reason}")


def mps_available() -> bool:
    """True when torch reports a usable Apple MPS backend."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(requested: str | None = "auto") -> torch.device:
    """The torch device for ``requested`` (``auto``/``cpu``/``cuda[:N]``/``mps``; None = auto).

    ``auto`` prefers CUDA, then MPS, then the CPU. An explicit device that is missing
    raises DeviceUnavailableError; an unknown name raises ValueError.
    """
    name = (requested or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.partition(":")[0]
    if kind not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {requested!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(name, "torch.cuda.is_available() is False (no GPU, or a CPU-only torch build)")
    if kind == "mps" and not mps_available():
        raise DeviceUnavailableError(name, "torch.backends.mps.is_available() is False")
    return torch.device(name)


def is_gpu(device: torch.device) -> bool:
    """True for CUDA and MPS devices."""
    return device.type in ("cuda", "mps")


def batch_size_for(settings: Settings, device: torch.device) -> int:
    """The inference batch size: ``settings.batch_size`` on the CPU, at least
    ``settings.gpu_batch_size`` on a GPU."""
    if is_gpu(device):
        return max(int(settings.batch_size), int(settings.gpu_batch_size))
    return int(settings.batch_size)


def to_device(batch: torch.Tensor, device: torch.device, *, channels_last: bool = False) -> torch.Tensor:
    """A CPU batch on ``device`` (pinned and copied asynchronously on CUDA), optionally channels_last."""
    if device.type == "cuda":
        batch = batch.pin_memory().to(device, non_blocking=True)
    elif device.type != "cpu":
        batch = batch.to(device)
    if channels_last and batch.dim() == 4:
        batch = batch.contiguous(memory_format=torch.channels_last)
    return batch


def describe(device: torch.device) -> str:
    """A human-readable device name ("cpu", "cuda:0 (NVIDIA H200)", "mps")."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type
