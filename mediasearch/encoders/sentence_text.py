"""Dense sentence embeddings for transcript search (sentence-transformers, local folders only).

The default model is all-MiniLM-L6-v2 (English, 384-d); paraphrase-multilingual-MiniLM-L12-v2
(50+ languages, 384-d) is the multilingual choice. Which one a Whisper encoder uses comes
from ``MEDIASEARCH_TEXT_MODEL`` or the spec's ``options['text_model']`` (model-store names).
Models load from their installed folder with the Hugging Face hub switched offline, so
nothing is ever downloaded here.

A folder holding a plain BERT (``config.json`` model_type ``bert``, ``model.safetensors``,
``tokenizer.json``) with mean pooling and normalisation (all-MiniLM-L6-v2 and the
multilingual MiniLM) runs on :mod:`mediasearch.encoders.minilm`: the same network in a
few dozen lines of torch with the Rust ``tokenizers`` library, which avoids importing
sentence-transformers and transformers (about 5 s of a cold text query) and gives the
same vectors (cosine >= 0.9999). Other folders go through sentence-transformers.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

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


_cache: dict[tuple[str, str], "SentenceEmbedder | MiniLMEmbedder"] = {}
_cache_lock = threading.Lock()
#: "auto" (the light torch path where the folder fits it), "torch" or "sentence-transformers"
ENGINE_ENV = "MEDIASEARCH_TEXT_ENGINE"


def load_sentence_embedder(
    folder: Path, *, name: str = DEFAULT_TEXT_MODEL, settings: "Settings | None" = None, engine: str | None = None
) -> "SentenceEmbedder | MiniLMEmbedder":
    """The embedder for ``folder``, loaded once per process (several Whisper sizes share it).

    ``engine``: ``auto`` (default; ``MEDIASEARCH_TEXT_ENGINE`` overrides) uses
    :class:`MiniLMEmbedder` when :func:`minilm.supports` the folder, else sentence-transformers.
    ``settings`` (default: ``Settings()``) gives the device and precision of the light path.
    """
    from mediasearch.encoders import minilm

    engine = (engine or os.environ.get(ENGINE_ENV, "") or "auto").strip().lower()
    key = (str(Path(folder).resolve()), engine)
    with _cache_lock:
        emb = _cache.get(key)
        if emb is None:
            if engine == "torch" or (engine == "auto" and minilm.supports(Path(folder))):
                emb = MiniLMEmbedder(folder, name=name, settings=settings)
            else:
                emb = SentenceEmbedder(folder, name=name)
            _cache[key] = emb
        return emb


class MiniLMEmbedder:
    """A BERT sentence model on the light path (:mod:`mediasearch.encoders.minilm`).

    ``embed(texts)`` -> (n, dim) float32, L2-normalised, mean-pooled. The device is
    ``settings.device`` and the numeric path is decided by
    :func:`mediasearch.encoders.precision.decide` on first load. Thread-safe.
    """

    engine = "torch"

    def __init__(self, folder: Path, *, name: str = DEFAULT_TEXT_MODEL, settings: "Settings | None" = None, batch_size: int = 64) -> None:
        from mediasearch.config import Settings
        from mediasearch.encoders import minilm, precision, torch_utils

        self.name = name
        self.folder = Path(folder)
        self.settings = settings or Settings()
        torch_utils.configure_threads(self.settings)
        self.device = torch_utils.load_device(name, self.settings)
        self.model = minilm.load(self.folder, device=self.device)
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
