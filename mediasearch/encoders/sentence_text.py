"""Dense sentence embeddings for transcript search (sentence-transformers, local folders only).

The default model is all-MiniLM-L6-v2 (English, 384-d); paraphrase-multilingual-MiniLM-L12-v2
(50+ languages, 384-d) is the multilingual choice. Which one a Whisper encoder uses comes
from ``MEDIASEARCH_TEXT_MODEL`` or the spec's ``options['text_model']`` (model-store names).
Models load from their installed folder with the Hugging Face hub switched offline, so
nothing is ever downloaded here.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mediasearch.encoders.base import l2_normalise

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

    def __init__(self, folder: Path, *, name: str = DEFAULT_TEXT_MODEL, batch_size: int = 64) -> None:
        from mediasearch.encoders.torch_utils import offline_hub

        self.name = name
        self.folder = Path(folder)
        self.batch_size = batch_size
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


_cache: dict[str, SentenceEmbedder] = {}
_cache_lock = threading.Lock()


def load_sentence_embedder(folder: Path, *, name: str = DEFAULT_TEXT_MODEL) -> SentenceEmbedder:
    """The embedder for ``folder``, loaded once per process (several Whisper sizes share it)."""
    key = str(Path(folder).resolve())
    with _cache_lock:
        emb = _cache.get(key)
        if emb is None:
            emb = SentenceEmbedder(folder, name=name)
            _cache[key] = emb
        return emb
