"""LAION-CLAP (HTSAT audio tower + RoBERTa text tower): sounds and text in one 512-d space.

A text query ("dog barking", "rain on a roof") finds sounds, and a sound finds sounds. The
model is transformers' ``ClapModel`` (the port of LAION-CLAP's HTSAT-unfused checkpoint,
Hugging Face repo ``laion/clap-htsat-unfused``); everything is read from the model store
folder of ``clap-htsat-unfused``, nothing is downloaded:

- ``config.json``: the ClapConfig (HTSAT: patch 4, embed 96, depths 2-2-6-2, heads
  4-8-16-32, window 8, spec size 256, 64 mel bins, no fusion; RoBERTa-base: 12 layers,
  768 wide, vocabulary 50265, 514 positions; both projected to 512 dims). The model is
  built with ``ClapModel(config)`` and the weights are loaded strictly by our code
  (``model.safetensors``, else ``pytorch_model.bin`` read with ``weights_only=True``):
  every parameter must be present with its shape; recomputed constant buffers the model
  computes itself (``position_ids``, ``token_type_ids``, ``relative_position_index``) may be
  present or absent, as transformers versions differ in saving them.
- ``preprocessor_config.json``: the ``ClapFeatureExtractor`` (48 kHz; 1024-point FFT, hop
  480, 64 Slaney mel bins 50-14000 Hz, dB; ``repeatpad`` to 10 s, ``rand_trunc``). Windows
  are never longer than 10 s (480 000 samples), so the random crop of ``rand_trunc``
  never fires and embeddings are deterministic.
- ``vocab.json`` + ``merges.txt``: the RoBERTa byte-level BPE tokenizer, built directly
  from those two files (``RobertaTokenizer(vocab=..., merges=...)``); texts are truncated
  to 77 tokens as LAION-CLAP does.

Files are cut into 10 s windows every 5 s (as for PANNs CNN14); each window's vector is
``get_audio_features`` (audio projection), L2-normalised; a text is ``get_text_features``,
L2-normalised. CLAP has no class head here, so windows carry no labels.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from mediasearch.encoders.base import EncoderSpec, l2_normalise
from mediasearch.encoders.baseline_audio import WindowedAudioEncoder
from mediasearch.errors import ModelUnavailableError

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
#: CLAP's input length: 10 s at 48 kHz (``nb_max_samples``)
WINDOW_SAMPLES = 480_000
#: LAION-CLAP tokenises captions to at most 77 tokens
MAX_TEXT_TOKENS = 77
#: weights file names in the hub repo, in order of preference
WEIGHTS_FILES = ("model.safetensors", "pytorch_model.bin")
#: buffers the model recomputes; checkpoints saved by older transformers versions include them
RECOMPUTED_BUFFERS = ("position_ids", "token_type_ids", "relative_position_index")

#: ``preprocessor_config.json`` of laion/clap-htsat-unfused (what the feature extractor reads)
PREPROCESSOR_CONFIG: dict[str, Any] = {
    "chunk_length_s": 10,
    "feature_extractor_type": "ClapFeatureExtractor",
    "feature_size": 64,
    "fft_window_size": 1024,
    "frequency_max": 14000,
    "frequency_min": 50,
    "hop_length": 480,
    "max_length_s": 10,
    "n_fft": 1024,
    "nb_frequency_bins": 513,
    "nb_max_frames": 1000,
    "nb_max_samples": 480000,
    "padding": "repeatpad",
    "padding_side": "right",
    "padding_value": 0.0,
    "processor_class": "ClapProcessor",
    "return_attention_mask": False,
    "sampling_rate": 48000,
    "top_db": None,
    "truncation": "rand_trunc",
}


def official_config() -> Any:  # -> transformers.ClapConfig
    """The ClapConfig of laion/clap-htsat-unfused: transformers' documented defaults
    (``ClapConfig()``, the HTSAT-base + RoBERTa-base architecture) with fusion off."""
    from transformers import ClapAudioConfig, ClapConfig, ClapTextConfig

    audio = ClapAudioConfig(enable_fusion=False)
    text = ClapTextConfig()
    return ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=512)


def load_config(folder: Path) -> Any:
    """The ClapConfig in ``folder/config.json``."""
    from transformers import ClapConfig

    path = folder / "config.json"
    if not path.is_file():
        raise FileNotFoundError(path)
    return ClapConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))


def load_feature_extractor(folder: Path) -> Any:  # -> ClapFeatureExtractor
    """The ClapFeatureExtractor of ``folder/preprocessor_config.json`` (no hub)."""
    from transformers import ClapFeatureExtractor

    data = json.loads((folder / "preprocessor_config.json").read_text(encoding="utf-8"))
    fields = {k: v for k, v in data.items() if k not in ("feature_extractor_type", "processor_class")}
    return ClapFeatureExtractor(**fields)


def read_bpe_files(folder: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(vocabulary, merges) of a byte-level BPE tokenizer from ``vocab.json`` + ``merges.txt``."""
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    merges: list[tuple[str, str]] = []
    for line in (folder / "merges.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#version"):
            continue
        first, _, second = line.partition(" ")
        merges.append((first, second))
    return vocab, merges


def load_tokenizer(folder: Path) -> Any:  # -> RobertaTokenizer
    """The RoBERTa BPE tokenizer built from ``folder/vocab.json`` and ``folder/merges.txt``."""
    from transformers import RobertaTokenizer

    vocab, merges = read_bpe_files(folder)
    return RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=512)


def load_weights(model: Any, path: Path, *, name: str = "clap-htsat-unfused") -> None:
    """Load a ClapModel state dict file into ``model``: every parameter and buffer with its
    shape, except the constant buffers of RECOMPUTED_BUFFERS, which may be absent or extra.
    Raises ModelUnavailableError naming what does not fit."""
    from mediasearch.encoders import torch_utils

    state = torch_utils.load_state_dict_file(path)
    expected = model.state_dict()
    state = {k: v for k, v in state.items() if k in expected or not k.endswith(RECOMPUTED_BUFFERS)}
    missing = sorted(k for k in set(expected) - set(state) if not k.endswith(RECOMPUTED_BUFFERS))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        shown = (missing[:2] + unexpected[:2] + wrong[:2])
        raise ModelUnavailableError(
            name,
            f"{path} does not fit the CLAP config ({len(missing)} missing, {len(unexpected)} unexpected, "
            f"{len(wrong)} wrong-shape keys, e.g. {shown})",
        )
    model.load_state_dict(state, strict=False)  # every other key was checked above


class ClapEncoder(WindowedAudioEncoder):
    """CLAP: 10 s windows at 48 kHz or query texts -> (n, 512) float32, L2-normalised.

    ``spec.models[0]`` is the model folder (config.json, preprocessor_config.json,
    vocab.json, merges.txt and a weights file). Each tower's numeric path is decided on its
    own by :func:`mediasearch.encoders.precision.decide` (component ``<name>/audio`` at
    load, ``<name>/text`` on the first text query), as SigLIP's towers are.
    """

    def __init__(self, spec: EncoderSpec, settings: "Settings", model_paths: Mapping[str, Path]) -> None:
        super().__init__(spec, settings, model_paths)
        from transformers import ClapModel

        from mediasearch.encoders import torch_utils

        folder = Path(self.model_paths[spec.models[0]])
        model_name = spec.models[0]
        try:
            with torch_utils.offline_hub():
                config = load_config(folder)
                self.feature_extractor = load_feature_extractor(folder)
            weights = torch_utils.find_weights_file(folder, preferred=WEIGHTS_FILES)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelUnavailableError(model_name, f"{folder} is not a CLAP model folder ({exc})", encoder=spec.name) from exc
        model = ClapModel(config)
        load_weights(model, weights, name=model_name)
        self.folder = folder
        self._setup(model, weights)
        logger.info("loaded %s from %s on %s (%s)", spec.name, weights, self.device, self.precision.precision)

    def _setup(self, model: Any, weights_path: Path | None) -> None:
        import torch

        from mediasearch.encoders import device as device_mod
        from mediasearch.encoders import precision, torch_utils

        torch_utils.configure_threads(self.settings)
        self.device = torch_utils.load_device(self.spec.name, self.settings)
        self.model = model.eval().to(self.device)
        self.batch_size = device_mod.batch_size_for(self.settings, self.device)
        if self.batch_size != self.settings.batch_size:  # the window batching reads settings.batch_size
            self.settings = self.settings.with_(batch_size=self.batch_size)
        self._torch = torch
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._text_precision: Any = None  # precision.PrecisionDecision, on the first text query
        self.weights_path = weights_path
        sr = int(self.spec.sample_rate or SAMPLE_RATE)
        if sr != int(self.feature_extractor.sampling_rate):
            raise ModelUnavailableError(
                self.spec.models[0] if self.spec.models else self.spec.name,
                f"preprocessor expects {self.feature_extractor.sampling_rate} Hz, the encoder feeds {sr} Hz",
            )
        self.precision = precision.PrecisionDecision("fp32", str(self.device), "forced", "calibrating")
        calibration = precision.calibration_waveforms(2, 5.0, sr)
        self.precision = precision.decide(
            self.settings,
            component=f"{self.spec.name}/audio",
            device=self.device,
            run=lambda dtype_name: self._audio_forward(list(calibration), dtype_name),
            items=len(calibration),
            weights_path=weights_path,
        )

    @property
    def tokenizer(self) -> Any:
        """The RoBERTa tokenizer, built on the first text query."""
        with self._lock:
            if self._tokenizer is None:
                try:
                    self._tokenizer = load_tokenizer(self.folder)
                except (OSError, ValueError) as exc:
                    model = self.spec.models[0] if self.spec.models else self.spec.name
                    raise ModelUnavailableError(model, f"no usable tokenizer in {self.folder} ({exc})", encoder=self.name) from exc
            return self._tokenizer

    @property
    def text_precision(self) -> Any:  # -> precision.PrecisionDecision
        """The text tower's numeric path, decided (measured when auto) on the first text query
        on :data:`precision.CALIBRATION_TEXTS`, cached per machine like the audio tower's."""
        from mediasearch.encoders import precision

        decision = self._text_precision
        if decision is None:
            texts = list(precision.CALIBRATION_TEXTS)
            decision = precision.decide(
                self.settings,
                component=f"{self.spec.name}/text",
                device=self.device,
                run=lambda dtype_name: self._text_forward(texts, dtype_name),
                items=len(texts),
                weights_path=self.weights_path,
            )
            self._text_precision = decision
        return decision

    def _text_forward(self, texts: Sequence[str], dtype_name: str) -> np.ndarray:
        """Texts -> (n, 512) float32 text projections (not normalised), under ``dtype_name`` autocast."""
        from mediasearch.encoders.precision import autocast

        torch = self._torch
        tokens = self.tokenizer(list(texts), padding=True, truncation=True, max_length=MAX_TEXT_TOKENS, return_tensors="pt")
        with self._lock, torch.inference_mode(), autocast(self.device, dtype_name):
            out = self.model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device), attention_mask=tokens["attention_mask"].to(self.device)
            )
        return out.pooler_output.float().cpu().numpy()

    def features(self, windows: Sequence[np.ndarray]) -> Any:
        """Waveforms at 48 kHz (each at most 10 s) -> the feature extractor's output:
        ``input_features`` (n, 1, 1001, 64) float32 log-mel (dB) and ``is_longer`` (n, 1)."""
        clips = [np.asarray(w, dtype=np.float32).reshape(-1)[:WINDOW_SAMPLES] for w in windows]
        clips = [c if c.size else np.zeros(1, np.float32) for c in clips]
        return self.feature_extractor(clips, sampling_rate=self.feature_extractor.sampling_rate, return_tensors="pt")

    def _audio_forward(self, windows: Sequence[np.ndarray], dtype_name: str) -> np.ndarray:
        from mediasearch.encoders.precision import autocast

        torch = self._torch
        inputs = self.features(windows)
        with torch.inference_mode(), autocast(self.device, dtype_name):
            out = self.model.get_audio_features(
                input_features=inputs["input_features"].to(self.device),
                is_longer=inputs["is_longer"].to(self.device),
            )
        return out.pooler_output.float().cpu().numpy()

    def embed_windows(self, windows: Sequence[np.ndarray]) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """Waveforms at 48 kHz (each at most 10 s; shorter ones are repeat-padded by the
        feature extractor) -> ((n, 512) float32 L2-normalised, no labels)."""
        if not windows:
            return np.zeros((0, self.spec.dim), np.float32), []
        with self._lock:
            vectors = self._audio_forward(windows, self.precision.precision)
        return l2_normalise(np.nan_to_num(vectors)), [[] for _ in windows]

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Query strings -> (n, 512) float32, L2-normalised (RoBERTa tokens, at most 77)."""
        if len(texts) == 0:
            return np.zeros((0, self.spec.dim), np.float32)
        dtype_name = self.text_precision.precision
        step = max(self.batch_size, 1)
        chunks = [self._text_forward(list(texts[i : i + step]), dtype_name) for i in range(0, len(texts), step)]
        return l2_normalise(np.concatenate(chunks, axis=0))
