"""Safe loaders for installed weights: no pickled code runs, no network is touched.

``.safetensors`` files are read with safetensors; anything else goes through
``torch.load(weights_only=True)``, which refuses pickles that would run code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def load_torch_checkpoint(path: Path | str) -> Any:
    """A torch checkpoint (tensors, dicts, lists, numbers, strings) on the CPU, ``weights_only=True``."""
    import torch

    return torch.load(Path(path), map_location="cpu", weights_only=True)


def load_torch_state_dict(path: Path | str) -> dict[str, Any]:
    """A state dict (name -> tensor, on the CPU) from a ``.safetensors`` file or a torch checkpoint.

    A checkpoint that wraps its weights (``{"model": ...}``, ``{"state_dict": ...}``,
    ``{"model_state_dict": ...}``) is unwrapped.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    checkpoint = load_torch_checkpoint(path)
    if isinstance(checkpoint, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = checkpoint.get(key)
            if isinstance(inner, dict):
                logger.debug("%s: using the checkpoint's %r entry", path, key)
                return inner
    if not isinstance(checkpoint, dict):
        raise TypeError(f"{path}: not a state dict (got {type(checkpoint).__name__})")
    return checkpoint
