"""open_clip SigLIP ViT-B/16 (WebLI): image and text towers in one 768-d space.

Everything is read from the model store folder of ``siglip-vit-b16-webli`` (a copy of the
Hugging Face repo ``timm/ViT-B-16-SigLIP``); nothing is downloaded:

- weights: ``open_clip_model.safetensors``, else ``open_clip_pytorch_model.safetensors``,
  else ``open_clip_pytorch_model.bin`` (read with ``weights_only=True``). open_clip builds
  the built-in architecture ``options["architecture"]`` and loads the file strictly
  (``create_model_and_transforms(arch, pretrained=<file path>)``).
- preprocessing: open_clip's own eval transform for the architecture with the image
  settings of its pretrained tag ``options["pretrained"]`` (``get_pretrained_cfg``; for
  webli: squash-resize to 224 bicubic, mean = std = 0.5), the same transform
  ``create_model_and_transforms(arch, pretrained="webli")`` returns.
- tokenizer: open_clip's ``HFTokenizer`` (what ``get_tokenizer`` picks for this model)
  pointed at the folder, with the model config's context length (64) and cleaning; it needs
  ``tokenizer.json`` (transformers' fast T5 tokenizer; ``spiece.model`` alone would need
  sentencepiece), ``tokenizer_config.json`` and ``special_tokens_map.json``.
  ``open_clip_config.json`` may be present; it is not needed. The tokenizer is loaded on
  the first text query.

The same class serves every open_clip model of the registry's table (CLIP ViT-B/32 and
ViT-L/14 with OpenAI's weights, SigLIP 2): ``options["architecture"]`` and
``options["pretrained"]`` pick the model and its tag's preprocessing. OpenAI's weights are
TorchScript archives (``ViT-B-32.pt``): their state dict is read with ``torch.jit.load``
and loaded strictly into open_clip's model, built with QuickGELU as the tag says; their
tokenizer is open_clip's own BPE tokenizer (its vocabulary ships with open_clip).

Loading runs inside :func:`torch_utils.offline_hub`, so a missing file fails fast instead
of reaching for the hub.

Each tower may run on ONNX Runtime instead of torch (:func:`onnx_engine.module_session`):
exported from the loaded weights on first use, cached by their sha256 and the export
settings, used where it matches torch fp32 (cosine >= 0.9999) and measured faster than the
tower's torch path on this machine (``MEDIASEARCH_IMAGE_ENGINE`` = auto | torch | onnx).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import open_clip
import torch
from open_clip.tokenizer import HFTokenizer

from mediasearch.encoders import precision, torch_utils
from mediasearch.encoders.base import Encoder, EncoderSpec, l2_normalise
from mediasearch.encoders.device import batch_size_for
from mediasearch.encoders.precision import PrecisionDecision
from mediasearch.errors import ModelUnavailableError
from mediasearch.modelstore.store import how_to_get

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from mediasearch.config import Settings

logger = logging.getLogger(__name__)


class _Tower(torch.nn.Module):
    """One tower of an open_clip model as a module (``encode_image`` or ``encode_text``), for export."""

    def __init__(self, model: torch.nn.Module, method: str) -> None:
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(x)

#: checkpoint names in the hub repo, in order of preference
WEIGHTS_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.safetensors", "open_clip_pytorch_model.bin")


def preprocess_overrides(architecture: str, tag: str) -> dict[str, Any]:
    """The image settings of open_clip's pretrained tag, as ``create_model_and_transforms``
    keyword arguments (image_mean, image_std, image_interpolation, image_resize_mode)."""
    cfg = open_clip.get_pretrained_cfg(architecture, tag)
    if not cfg:
        raise ValueError(f"open_clip has no pretrained tag {tag!r} for {architecture}")
    return {
        "image_mean": cfg.get("mean"),
        "image_std": cfg.get("std"),
        "image_interpolation": cfg.get("interpolation"),
        "image_resize_mode": cfg.get("resize_mode"),
    }


def load_tokenizer(folder: Path, architecture: str) -> HFTokenizer:
    """open_clip's tokenizer for ``architecture``: the HF tokenizer read from the local
    ``folder`` only, or, for models without one (OpenAI CLIP), open_clip's own BPE
    tokenizer, whose vocabulary ships inside the open_clip package."""
    text_cfg = (open_clip.get_model_config(architecture) or {}).get("text_cfg", {})
    if not text_cfg.get("hf_tokenizer_name"):
        return open_clip.get_tokenizer(architecture)  # SimpleTokenizer: no files, no network
    with torch_utils.offline_hub():
        return HFTokenizer(
            str(folder),
            context_length=text_cfg.get("context_length", 64),
            tokenizer_mode=text_cfg.get("tokenizer_mode"),
            local_files_only=True,
            **text_cfg.get("tokenizer_kwargs", {}),
        )


#: entries of a CLIP TorchScript archive's state dict that are not weights: OpenAI's
#: settings, and the causal mask (a constant open_clip rebuilds; traced archives keep it)
_OPENAI_JIT_EXTRAS = ("input_resolution", "context_length", "vocab_size", "attn_mask")


def torchscript_state_dict(path: Path) -> dict[str, torch.Tensor] | None:
    """The weights of a TorchScript archive (OpenAI's CLIP ``.pt`` files), None for any other
    file. ``torch.load(weights_only=True)`` refuses TorchScript archives; ``torch.jit.load``
    reads them without unpickling Python objects. Only the state dict is kept."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        if not any(n.endswith("/constants.pkl") or "/code/" in n for n in archive.namelist()):
            return None
    module = torch.jit.load(str(path), map_location="cpu")
    return {k: v for k, v in module.state_dict().items() if k not in _OPENAI_JIT_EXTRAS}


class SiglipEncoder(Encoder):
    """SigLIP image + text encoder: images or query strings -> (n, 768) float32, L2-normalised.

    ``spec.options``: ``architecture`` (open_clip name, default ViT-B-16-SigLIP),
    ``pretrained`` (open_clip tag whose preprocessing applies, default webli). Each tower's
    numeric path is decided on its own (:mod:`mediasearch.encoders.precision`): the image
    tower's at load, the text tower's on the first text query.
    """

    def __init__(self, spec: EncoderSpec, settings: Settings, model_paths: Mapping[str, Path]) -> None:
        super().__init__(spec, settings, model_paths)
        torch_utils.configure_threads(settings)
        self.architecture = str(spec.options.get("architecture", "ViT-B-16-SigLIP"))
        tag = str(spec.options.get("pretrained", "webli"))
        folder = Path(self.model_paths[spec.models[0]])
        if folder.is_file():  # a bare checkpoint: look for the tokenizer beside it
            weights_path, folder = folder, folder.parent
        else:
            weights_path = torch_utils.find_weights_file(folder, preferred=WEIGHTS_FILES)

        jit_state = torchscript_state_dict(weights_path) if weights_path.suffix == ".pt" else None
        with torch_utils.offline_hub():
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.architecture,
                pretrained=None if jit_state is not None else str(weights_path),
                weights_only=True,
                # OpenAI's CLIP weights were trained with QuickGELU: open_clip's tag says so
                force_quick_gelu=bool((open_clip.get_pretrained_cfg(self.architecture, tag) or {}).get("quick_gelu")),
                **preprocess_overrides(self.architecture, tag),
            )
        if jit_state is not None:
            model.load_state_dict(jit_state, strict=True)
        self.device = torch_utils.load_device(spec.name, settings)
        self.model = model.eval().to(self.device)  # moved once, kept there
        self.batch_size = batch_size_for(settings, self.device)
        self.preprocess = preprocess
        self.folder = folder
        self.weights_path = weights_path
        self._tokenizer: HFTokenizer | None = None
        self._tokenizer_lock = threading.Lock()
        self.precision = torch_utils.decide_image_precision(
            settings,
            component=f"{spec.name}/image",
            device=self.device,
            preprocess=self.preprocess,
            forward=self._encode_image,
            weights_path=weights_path,
        )
        self._text_precision: PrecisionDecision | None = None
        #: the image tower on ONNX Runtime (None: torch) and how that was decided
        self.onnx, self.engine = torch_utils.decide_image_engine(
            settings, component=f"{spec.name}/image", model=_Tower(self.model, "encode_image"), device=self.device,
            preprocess=self.preprocess, weights_path=weights_path, chosen=self.precision,
        )
        self._text_onnx: Any = None
        self.text_engine: dict[str, Any] | None = None
        logger.info(
            "loaded %s (%s) from %s on %s; image tower %s on %s: %s",
            spec.name, self.architecture, weights_path, self.device, self.precision.precision, self.engine["engine"], self.precision.reason,
        )

    @property
    def tokenizer(self) -> HFTokenizer:
        """The text tokenizer, loaded on first use (importing transformers takes seconds,
        and indexing images never needs it)."""
        with self._tokenizer_lock:
            if self._tokenizer is None:
                try:
                    self._tokenizer = load_tokenizer(self.folder, self.architecture)
                except (OSError, ValueError) as exc:
                    model = self.spec.models[0]
                    raise ModelUnavailableError(
                        model, f"no usable tokenizer in {self.folder} ({exc}); {how_to_get(model)}", encoder=self.name
                    ) from exc
            return self._tokenizer

    @property
    def text_precision(self) -> PrecisionDecision:
        """The text tower's numeric path, decided (measured when auto) on the first text query."""
        with self._tokenizer_lock:
            decision = self._text_precision
        if decision is None:
            tokens = self.tokenizer(list(precision.CALIBRATION_TEXTS))

            def run(dtype_name: str) -> np.ndarray:
                with torch.inference_mode(), torch_utils.autocast(self.device, dtype_name):
                    return self.model.encode_text(tokens.to(self.device)).float().cpu().numpy()

            decision = precision.decide(
                self.settings,
                component=f"{self.spec.name}/text",
                device=self.device,
                run=run,
                items=len(precision.CALIBRATION_TEXTS),
                weights_path=self.weights_path,
            )
            session, engine = self._decide_text_engine(tokens, run, decision)
            with self._tokenizer_lock:
                self._text_precision = decision
                self._text_onnx, self.text_engine = session, engine
        return decision

    def _decide_text_engine(self, tokens: torch.Tensor, run: Any, decision: PrecisionDecision) -> tuple[Any, dict[str, Any]]:
        """The text tower on ONNX Runtime where faster and faithful (see :func:`onnx_engine.module_session`)."""
        from mediasearch.encoders import onnx_engine

        return onnx_engine.module_session(
            self.settings, component=f"{self.spec.name}/text", export_kind="text-tower", module=_Tower(self.model, "encode_text"),
            weights_path=self.weights_path, example=(tokens[:2].cpu(),), inputs={"tokens": tokens.cpu().numpy()},
            input_names=["tokens"], output_names=["features"], dynamic_axes={"tokens": {0: "batch"}, "features": {0: "batch"}},
            torch_run=run, torch_precision=decision, device_type=self.device.type, export_extra={"context": int(tokens.shape[1])},
        )

    def _encode_image(self, batch: torch.Tensor) -> torch.Tensor:
        onnx = getattr(self, "onnx", None)  # None while the torch path is being calibrated
        return onnx(batch) if onnx is not None else self.model.encode_image(batch)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """RGB PIL images -> (n, 768) float32, L2-normalised."""
        return torch_utils.embed_image_batches(
            images,
            preprocess=self.preprocess,
            forward=self._encode_image,
            dim=self.spec.dim,
            batch_size=self.batch_size,
            device=self.device if self.onnx is None else torch.device("cpu"),
            dtype_name=self.precision.precision if self.onnx is None else "fp32",
        )

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Query strings -> (n, 768) float32, L2-normalised."""
        if len(texts) == 0:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        chunks: list[np.ndarray] = []
        dtype_name = self.text_precision.precision
        onnx = self._text_onnx
        with torch.inference_mode(), torch_utils.autocast(self.device, dtype_name if onnx is None else "fp32"):
            for chunk in torch_utils.batched(list(texts), self.batch_size):
                tokens = self.tokenizer(list(chunk))
                if onnx is not None:
                    chunks.append(onnx.run({"tokens": tokens.cpu().numpy()}))
                else:
                    chunks.append(self.model.encode_text(tokens.to(self.device)).float().cpu().numpy())
        return l2_normalise(np.concatenate(chunks, axis=0))
