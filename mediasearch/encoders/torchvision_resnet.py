"""torchvision ResNet50 (IMAGENET1K_V2 weights): pooled 2048-d image features.

Weights: the official torchvision checkpoint ``resnet50-11ad3fa6.pth`` (a plain state dict,
read with ``torch.load(..., weights_only=True)``; a ``.safetensors`` export of the same
state dict also works), found at the model store path of ``resnet50-imagenet1k-v2`` (the
file itself, or a folder holding it). The model is built with ``weights=None`` so
torchvision never downloads; the state dict is loaded strictly, then ``fc`` becomes
``Identity`` so the output is the 2048-d global-average-pooled feature.

Preprocessing is ``ResNet50_Weights.IMAGENET1K_V2.transforms()`` itself (resize 232
bilinear, centre crop 224, ImageNet mean/std), which needs no network.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torchvision
from torch import nn

from mediasearch.encoders import torch_utils
from mediasearch.encoders.base import Encoder, EncoderSpec

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

#: the official torchvision file name, looked for when the model path is a folder
WEIGHTS_FILE = "resnet50-11ad3fa6.pth"


def resnet50_transform(weights_name: str = "IMAGENET1K_V2") -> nn.Module:
    """torchvision's own inference transform for the named ResNet50 weights (offline)."""
    return torchvision.models.ResNet50_Weights[weights_name].transforms()


class ResNet50Encoder(Encoder):
    """ResNet50 image encoder: RGB images -> (n, 2048) float32, L2-normalised.

    ``spec.options``: ``weights`` (torchvision enum member, default IMAGENET1K_V2),
    ``channels_last`` (default True). The device and the numeric path (fp32 or bf16/fp16
    autocast) come from ``settings.device`` / ``settings.precision``
    (:mod:`mediasearch.encoders.precision`).
    """

    def __init__(self, spec: EncoderSpec, settings: Settings, model_paths: Mapping[str, Path]) -> None:
        super().__init__(spec, settings, model_paths)
        torch_utils.configure_threads(settings)
        weights_path = torch_utils.find_weights_file(self.model_paths[spec.models[0]], preferred=(WEIGHTS_FILE,))
        state = torch_utils.load_state_dict_file(weights_path)

        model = torchvision.models.resnet50(weights=None)
        model.load_state_dict(state, strict=True)
        model.fc = nn.Identity()
        self.channels_last = bool(spec.options.get("channels_last", True))
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.preprocess = resnet50_transform(str(spec.options.get("weights", "IMAGENET1K_V2")))
        placed = torch_utils.place_image_model(
            settings, component=spec.name, model=model, preprocess=self.preprocess,
            weights_path=weights_path, channels_last=self.channels_last,
        )
        self.model, self.device, self.batch_size = placed.model, placed.device, placed.batch_size
        self.precision, self.onnx, self.engine = placed.precision, placed.onnx, placed.engine
        logger.info(
            "loaded %s from %s on %s (%s: %s; channels_last=%s)",
            spec.name, weights_path, self.device, self.precision.precision, self.precision.reason, self.channels_last,
        )

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """RGB PIL images -> (n, 2048) float32, L2-normalised."""
        return torch_utils.embed_image_batches(
            images,
            preprocess=self.preprocess,
            forward=self.onnx or self.model,
            dim=self.spec.dim,
            batch_size=self.batch_size,
            channels_last=self.channels_last and self.onnx is None,
            device=self.device if self.onnx is None else torch.device("cpu"),
            dtype_name=self.precision.precision if self.onnx is None else "fp32",
        )
