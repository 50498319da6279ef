"""Any timm image backbone as an encoder: pooled features, preprocessing from its pretrained cfg.

The model is ``timm.create_model(options["architecture"], pretrained=False, num_classes=0)``
(so timm never downloads, and ``forward`` returns the pooled ``num_features`` vector); the
weights are a timm state dict (``.safetensors``, or a ``.pth`` read with
``weights_only=True``) at the model store path, loaded strictly after dropping the
classifier's keys (named by the model's ``pretrained_cfg["classifier"]``).

Preprocessing is timm's own: ``resolve_data_config({}, model=model)`` from the pretrained
cfg of the architecture (pick a tag with ``"architecture": "name.tag"`` when the weights
are not timm's default tag), then ``create_transform(**cfg)``. ``options["data_config"]``
may override fields (input_size, interpolation, crop_pct, crop_mode, mean, std). For
``tf_efficientnet_lite0`` this resolves to: shorter side 256 bicubic, centre crop 224,
mean = std = 0.5 (ImageNet mean/std would be wrong for Google's TF weights).

Adding another timm model takes one manifest entry (its weights file) and one registry
entry, for example::

    EncoderSpec(
        name="convnext-tiny",
        family="timm",
        streams=_VISUAL,
        query_modalities=_IMG,
        dim=768,                                   # the model's num_features
        factory="mediasearch.encoders.timm_backbone:TimmBackboneEncoder",
        description="timm convnext_tiny (ImageNet-1k), pooled 768-d features",
        licence="Apache-2.0",
        preprocessing="timm pretrained cfg of convnext_tiny.fb_in1k",
        models=("convnext-tiny-fb-in1k",),         # manifest entry: one .safetensors file
        image_size=224,
        options={"architecture": "convnext_tiny.fb_in1k"},
    )

A ``dim`` that differs from the model's ``num_features`` is caught when the encoder loads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import timm
import torch
from timm.data import create_transform, resolve_data_config

from mediasearch.encoders import torch_utils
from mediasearch.encoders.base import Encoder, EncoderSpec

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from mediasearch.config import Settings

logger = logging.getLogger(__name__)


def classifier_prefixes(model: torch.nn.Module) -> tuple[str, ...]:
    """State-dict key prefixes of the model's classifier head(s), from its pretrained cfg."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    names = cfg.get("classifier") or ()
    if isinstance(names, str):
        names = (names,)
    return tuple(f"{name}." for name in names)


def strip_classifier(state: Mapping[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict without the classifier keys (the headless model has none)."""
    prefixes = classifier_prefixes(model)
    return {k: v for k, v in state.items() if not k.startswith(prefixes)}


def data_config(model: torch.nn.Module, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """timm's resolved inference data config for ``model`` (input_size, interpolation,
    mean, std, crop_pct, crop_mode), with ``overrides`` applied."""
    cfg = resolve_data_config(dict(overrides or {}), model=model)
    return dict(cfg)


def build_transform(model: torch.nn.Module, overrides: Mapping[str, Any] | None = None) -> Any:
    """timm's eval transform (PIL RGB -> (3, H, W) float tensor) for ``model``."""
    return create_transform(**data_config(model, overrides), is_training=False)


class TimmBackboneEncoder(Encoder):
    """A timm backbone: RGB images -> (n, num_features) float32, L2-normalised.

    ``spec.options``: ``architecture`` (timm name, optionally ``name.tag``; required),
    ``data_config`` (overrides of the resolved preprocessing), ``channels_last`` (default
    True). The device and the numeric path (fp32 or bf16/fp16 autocast) come from
    ``settings.device`` / ``settings.precision`` (:mod:`mediasearch.encoders.precision`).
    """

    def __init__(self, spec: EncoderSpec, settings: Settings, model_paths: Mapping[str, Path]) -> None:
        super().__init__(spec, settings, model_paths)
        torch_utils.configure_threads(settings)
        architecture = str(spec.options["architecture"])
        weights_path = torch_utils.find_weights_file(self.model_paths[spec.models[0]])
        state = torch_utils.load_state_dict_file(weights_path)

        model = timm.create_model(architecture, pretrained=False, num_classes=0)
        model.load_state_dict(strip_classifier(state, model), strict=True)
        if model.num_features != spec.dim:
            raise ValueError(f"{spec.name}: {architecture} gives {model.num_features}-d features, spec says {spec.dim}")
        self.channels_last = bool(spec.options.get("channels_last", True))
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        overrides = spec.options.get("data_config")
        self.data_config = data_config(model, overrides)  # type: ignore[arg-type]
        self.preprocess = create_transform(**self.data_config, is_training=False)
        placed = torch_utils.place_image_model(
            settings, component=spec.name, model=model, preprocess=self.preprocess,
            weights_path=weights_path, channels_last=self.channels_last,
        )
        self.model, self.device, self.batch_size = placed.model, placed.device, placed.batch_size
        self.precision, self.onnx, self.engine = placed.precision, placed.onnx, placed.engine
        logger.info(
            "loaded %s (%s) from %s on %s; preprocessing %s; %s: %s",
            spec.name, architecture, weights_path, self.device, self.data_config,
            self.precision.precision, self.precision.reason,
        )

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """RGB PIL images -> (n, dim) float32, L2-normalised."""
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
