"""Dense sentence embeddings for transcript search (sentence-transformers, local folders only).

The default model is all-MiniLM-L6-v2 (English, 384-d); paraphrase-multilingual-MiniLM-L12-v2
(50+ languages, 384-d) is the multilingual choice. Which one a Whisper encoder uses comes
from ``MEDIASEARCH_TEXT_MODEL`` or the spec's ``options['text_model']`` (model-store names).
Models load from their installed folder with the Hugging Face hub switched offline, so
nothing is ever downloaded here.

A folder holding a plain BERT or XLM-RoBERTa (``config.json`` model_type ``bert`` or
``xlm-roberta``, ``model.safetensors``, ``tokenizer.json``) with mean or [CLS] pooling and
normalisation (all-MiniLM-L6-v2, the multilingual MiniLM, E5, BGE; see
:mod:`mediasearch.encoders.text_models` for which model pools how) runs on :mod:`mediasearch.encoders.minilm`: the same network in a
few dozen lines of torch with the Rust ``tokenizers`` library, which avoids importing
sentence-transformers and transformers (about 5 s of a cold text query) and gives the
same vectors (cosine >= 0.9999). Where onnxruntime is installed the same network runs on
ONNX Runtime instead (exported once from the weights, :mod:`mediasearch.encoders.onnx_engine`),
so a text query imports neither torch nor transformers. Other folders go through
sentence-transformers. ``MEDIASEARCH_TEXT_ENGINE`` picks one (onnx, torch, sentence-transformers).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from mediasearch.encoders.base import l2_normalise

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

DEFAULT_TEXT_MODEL = "all-minilm-l6-v2"
MULTILINGUAL_TEXT_MODEL = "paraphrase-multilingual-minilm-l12-v2"
TEXT_MODEL_ENV = "MEDIASEARCH_TEXT_MODEL"


def text_model_name(options: Mapping[str, object] | None = None) -> str:
    """The model-store name of the sentence model to use: env override, else the spec option, else the default."""
    env = os.environ.get(TEXT_MODEL_ENV, "").strip()
    if env:
        return env.lower()
    value = (options or {}).get("text_model")
    return str(value).lower() if value else DEFAULT_TEXT_MODEL


WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


#: the architectures the light path and the ONNX engine run (same layers; XLM-RoBERTa only
#: numbers positions from ``pad_token_id + 1``)
LIGHT_ARCHITECTURES = ("bert", "xlm-roberta")
POOLINGS = ("mean", "cls")


def folder_pooling(folder: Path) -> str | None:
    """"mean" or "cls": the pooling a sentence-transformers folder declares
    (``modules.json`` -> its Pooling module's ``config.json``); None when it declares none,
    or another kind (max, mean-sqrt-len, several at once)."""
    folder = Path(folder)
    try:
        modules = read_json(folder / "modules.json")
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith(".Pooling"))
        pooling = read_json(folder / pooling_dir / "config.json")
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return None
    modes = [k for k in ("pooling_mode_mean_tokens", "pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens") if pooling.get(k)]
    if modes == ["pooling_mode_mean_tokens"]:
        return "mean"
    if modes == ["pooling_mode_cls_token"]:
        return "cls"
    return None


def bert_folder_supported(folder: Path, pooling: str | None = None) -> bool:
    """True when ``folder`` is a BERT or XLM-RoBERTa sentence model with mean or [CLS]
    pooling (+ Normalize): what the light torch path and the ONNX engine run (no torch
    import to find out). ``pooling``: what the caller expects; a folder that declares a
    different one is not supported, and a folder without ``modules.json`` is accepted only
    when ``pooling`` says which."""
    folder = Path(folder)
    try:
        config = read_json(folder / "config.json")
    except (OSError, ValueError):
        return False
    declared = folder_pooling(folder)
    if (folder / "modules.json").is_file():
        try:
            types = [m.get("type", "").rsplit(".", 1)[-1] for m in read_json(folder / "modules.json")]
        except (OSError, ValueError, AttributeError, TypeError):
            return False
        if types not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]) or declared is None:
            return False
        if pooling is not None and declared != pooling:
            return False
    elif pooling not in POOLINGS:
        return False
    return bool(
        config.get("model_type") in LIGHT_ARCHITECTURES
        and config.get("hidden_act", "gelu") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (folder / WEIGHTS_FILE).is_file()
        and (folder / TOKENIZER_FILE).is_file()
    )


def load_tokenizer(folder: Path) -> tuple[Any, int]:
    """(the Rust ``tokenizers.Tokenizer`` of ``tokenizer.json``, max length): truncation to
    ``sentence_bert_config.json``'s ``max_seq_length`` (capped by the model's positions),
    padding to the longest text of a batch, as sentence-transformers does."""
    from tokenizers import Tokenizer

    folder = Path(folder)
    config = read_json(folder / "config.json")
    try:
        st_config = read_json(folder / "sentence_bert_config.json")
    except (OSError, ValueError):
        st_config = {}
    max_length = int(min(st_config.get("max_seq_length") or 512, config["max_position_embeddings"]))
    tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
    tokenizer.enable_truncation(max_length=max_length)
    pad = tokenizer.padding or {}
    pad_id = int(pad.get("pad_id", config.get("pad_token_id") or 0))
    pad_token = pad.get("pad_token") or tokenizer.id_to_token(pad_id) or "[PAD]"
    tokenizer.enable_padding(pad_id=pad_id, pad_token=str(pad_token))
    return tokenizer, max_length


def _quiet_transformers() -> None:
    # transformers draws a "Loading weights" bar on stderr; the core never prints
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # pragma: no cover - older or newer transformers without it
        pass


class SentenceEmbedder:
    """A sentence-transformers model loaded from a local folder.

    ``embed(texts)`` -> (n, dim) float32, L2-normalised. Thread-safe (one lock around encode).
    """

    engine = "sentence-transformers"

    def __init__(self, folder: Path, *, name: str = DEFAULT_TEXT_MODEL, batch_size: int = 64) -> None:
        from mediasearch.encoders.torch_utils import offline_hub

        self.name = name
        self.folder = Path(folder)
        self.batch_size = batch_size
        self.precision = None
        with offline_hub():  # the hub is never asked, whatever the environment says
            from sentence_transformers import SentenceTransformer

            _quiet_transformers()
            self._model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        self._model.eval()
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self._lock = threading.Lock()
        logger.debug("loaded sentence model %s from %s (%d-d)", name, self.folder, self.dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> (n, dim) float32, L2-normalised ((0, dim) for no texts)."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return l2_normalise(np.asarray(vectors, dtype=np.float32))


_cache: dict[tuple[str, str, str], "SentenceEmbedder | MiniLMEmbedder | OnnxSentenceEmbedder"] = {}
_cache_lock = threading.Lock()
#: "auto" (ONNX Runtime where installed and the folder fits, else the light torch path, else
#: sentence-transformers), "onnx", "torch" or "sentence-transformers"
ENGINE_ENV = "MEDIASEARCH_TEXT_ENGINE"
ENGINES = ("auto", "onnx", "torch", "sentence-transformers")


def load_sentence_embedder(
    folder: Path,
    *,
    name: str = DEFAULT_TEXT_MODEL,
    settings: "Settings | None" = None,
    engine: str | None = None,
    pooling: str | None = None,
) -> "SentenceEmbedder | MiniLMEmbedder | OnnxSentenceEmbedder":
    """The embedder for ``folder``, loaded once per process (several Whisper sizes share it).

    ``engine``: ``auto`` (default; ``MEDIASEARCH_TEXT_ENGINE`` overrides) uses
    :class:`OnnxSentenceEmbedder` when onnxruntime is installed and
    :func:`bert_folder_supported` accepts the folder, else :class:`MiniLMEmbedder` for such
    a folder, else sentence-transformers. ``settings`` (default: ``Settings()``) gives the
    threads, device and precision. ``pooling`` ("mean" or "cls"; default: what the folder
    declares) is what the text-model table says the model uses.
    """
    from mediasearch.encoders import onnx_engine

    engine = (engine or os.environ.get(ENGINE_ENV, "") or "auto").strip().lower()
    if engine not in ENGINES:
        raise ValueError(f"unknown text engine {engine!r}; choose one of {', '.join(ENGINES)}")
    pooling = pooling or folder_pooling(Path(folder)) or "mean"
    if engine == "auto":
        light = bert_folder_supported(Path(folder), pooling)
        engine = "onnx" if light and onnx_engine.available() else "torch" if light else "sentence-transformers"
    key = (str(Path(folder).resolve()), engine, pooling)
    with _cache_lock:
        emb = _cache.get(key)
        if emb is None:
            if engine == "onnx":
                emb = OnnxSentenceEmbedder(folder, name=name, settings=settings, pooling=pooling)
            elif engine == "torch":
                emb = MiniLMEmbedder(folder, name=name, settings=settings, pooling=pooling)
            else:
                emb = SentenceEmbedder(folder, name=name)
            _cache[key] = emb
        return emb


class OnnxSentenceEmbedder:
    """A BERT sentence model on ONNX Runtime (fp32), exported once from its safetensors weights.

    The graph (ids, mask) -> mean-pooled states is exported through the light torch model
    on first use and cached by :mod:`mediasearch.encoders.onnx_engine`; later loads import
    only tokenizers and onnxruntime. ``embed(texts)`` -> (n, dim) float32, L2-normalised.
    """

    engine = "onnxruntime"

    def __init__(
        self, folder: Path, *, name: str = DEFAULT_TEXT_MODEL, settings: "Settings | None" = None, batch_size: int = 64, pooling: str = "mean"
    ) -> None:
        from mediasearch.config import Settings
        from mediasearch.encoders import onnx_engine
        from mediasearch.encoders.precision import PrecisionDecision

        self.name = name
        self.folder = Path(folder)
        self.settings = settings or Settings()
        self.batch_size = batch_size
        self.pooling = pooling
        self.tokenizer, self.max_length = load_tokenizer(self.folder)
        config = read_json(self.folder / "config.json")
        self.dim = int(config["hidden_size"])
        extra = {} if config.get("model_type") == "bert" else {"architecture": config.get("model_type")}
        export = onnx_engine.export_settings(f"bert-{pooling}-pooled", max_length=self.max_length, **extra)
        path = onnx_engine.onnx_path(self.folder / WEIGHTS_FILE, self.settings, export)
        self.onnx_path = onnx_engine.ensure_exported(path, lambda dest: export_bert(self.folder, dest, pooling=pooling))
        try:
            self.session = onnx_engine.OnnxSession(self.onnx_path, threads=self.settings.inference_threads)
        except Exception:  # a damaged cached graph: export once more
            self.onnx_path = onnx_engine.ensure_exported(path, lambda dest: export_bert(self.folder, dest, pooling=pooling))
            self.session = onnx_engine.OnnxSession(self.onnx_path, threads=self.settings.inference_threads)
        self.precision = PrecisionDecision(
            "fp32", "cpu", "engine", "ONNX Runtime fp32: a query needs no torch import (about 2 s cold) and runs faster than torch fp32"
        )
        self._lock = threading.Lock()
        logger.debug("loaded sentence model %s from %s on onnxruntime (%s)", name, self.folder, self.onnx_path)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> (n, dim) float32, L2-normalised ((0, dim) for no texts)."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        chunks = []
        with self._lock:
            for start in range(0, len(texts), self.batch_size):
                encodings = self.tokenizer.encode_batch(list(texts[start : start + self.batch_size]))
                ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
                mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
                chunks.append(self.session.run({"ids": ids, "mask": mask}))
        return l2_normalise(np.concatenate(chunks, axis=0))


def export_bert(folder: Path, dest: Path, *, pooling: str = "mean") -> None:
    """Export the light torch model of ``folder`` (ids, mask -> pooled states) to ONNX at
    ``dest`` (dynamic batch and length)."""
    from mediasearch.encoders import minilm, onnx_engine

    model = minilm.load(Path(folder), pooling=pooling)
    ids, mask = model.tokenize(["hello world", "an example sentence that is a little longer"])
    onnx_engine.export_module(
        model.network,
        (ids, mask),
        dest,
        input_names=["ids", "mask"],
        output_names=["pooled"],
        dynamic_axes={"ids": {0: "batch", 1: "tokens"}, "mask": {0: "batch", 1: "tokens"}, "pooled": {0: "batch"}},
    )


class MiniLMEmbedder:
    """A BERT sentence model on the light path (:mod:`mediasearch.encoders.minilm`).

    ``embed(texts)`` -> (n, dim) float32, L2-normalised, mean- or [CLS]-pooled. The device is
    ``settings.device`` and the numeric path is decided by
    :func:`mediasearch.encoders.precision.decide` on first load. Thread-safe.
    """

    engine = "torch"

    def __init__(
        self, folder: Path, *, name: str = DEFAULT_TEXT_MODEL, settings: "Settings | None" = None, batch_size: int = 64, pooling: str = "mean"
    ) -> None:
        from mediasearch.config import Settings
        from mediasearch.encoders import minilm, precision, torch_utils

        self.name = name
        self.folder = Path(folder)
        self.settings = settings or Settings()
        self.pooling = pooling
        torch_utils.configure_threads(self.settings)
        self.device = torch_utils.load_device(name, self.settings)
        self.model = minilm.load(self.folder, device=self.device, pooling=pooling)
        self.dim = self.model.dim
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self.precision = precision.PrecisionDecision("fp32", str(self.device), "forced", "calibrating")
        texts = list(precision.CALIBRATION_TEXTS)
        self.precision = precision.decide(
            self.settings,
            component=name,
            device=self.device,
            run=lambda dtype_name: self._embed(texts, dtype_name),
            items=len(texts),
            weights_path=self.model.weights_path,
        )
        logger.debug("loaded sentence model %s from %s on %s (%s)", name, self.folder, self.device, self.precision.precision)

    def _embed(self, texts: Sequence[str], dtype_name: str) -> np.ndarray:
        chunks = [
            self.model.embed(list(texts[i : i + self.batch_size]), dtype_name=dtype_name)
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(chunks, axis=0)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> (n, dim) float32, L2-normalised ((0, dim) for no texts)."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            vectors = self._embed(list(texts), self.precision.precision)
        return l2_normalise(vectors)
