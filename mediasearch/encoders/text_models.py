"""The sentence models that embed transcripts, as data, and one loader for all of them.

A transcript index is hybrid: BM25 over the words plus dense search over sentence vectors.
Which model makes those vectors is a per-library choice (``mediasearch index --text-model``,
remembered in the library, see :mod:`mediasearch.indexing`); this module says what each
choice is (:data:`TEXT_MODELS`) and loads it (:func:`load_text_embedder`).

Self-hosted models are BERT-family folders in the model store (models/manifest.toml) and
run on the shared light path (:mod:`mediasearch.encoders.sentence_text`: ONNX Runtime,
else plain torch, else sentence-transformers). What differs between them is data: pooling
(mean of the token states, or the [CLS] state for BGE), and the prefixes each model was
trained with (E5: ``"query: "`` / ``"passage: "``; BGE: an instruction before queries,
nothing before passages). Getting these wrong silently costs retrieval quality, so they
live here, next to the pinned revision, and tests assert them.

``openai:MODEL`` names a model behind an OpenAI-compatible ``/embeddings`` endpoint
(:mod:`mediasearch.encoders.openai_embeddings`): transcripts then leave the machine, so
indexing with one needs an explicit opt-in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Protocol, Sequence

import numpy as np

from mediasearch.errors import UnknownTextModelError

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings

DEFAULT_TEXT_MODEL = "all-minilm-l6-v2"
#: prefix of a model served by an OpenAI-compatible embeddings endpoint
API_PREFIX = "openai:"
#: the dimension every transcript index has (the Whisper specs' ``dim``); API models are
#: asked for vectors of this size (text-embedding-3 models accept ``dimensions``)
TRANSCRIPT_DIM = 384


@dataclass(frozen=True)
class TextModelSpec:
    """One transcript text model.

    ``store_name``: its model-store entry (models/manifest.toml), "" for API models.
    ``repo`` / ``revision``: the Hugging Face repository and the pinned commit.
    ``pooling``: "mean" (average of the token states under the attention mask) or "cls"
    (the first token's state). Vectors are always L2-normalised (``normalise``).
    ``query_prefix`` / ``passage_prefix``: prepended to queries / transcript segments.
    ``benchmark``: a published figure with its source; ``benchmark_metric`` /
    ``benchmark_value`` the same as data (e.g. "mteb-retrieval" 51.68, nDCG@10 x 100).
    ``hosting``: "self-hosted" or "api".
    """

    name: str
    repo: str
    revision: str
    licence: str
    dim: int
    pooling: str = "mean"
    normalise: bool = True
    query_prefix: str = ""
    passage_prefix: str = ""
    languages: str = "en"
    architecture: str = "bert"
    store_name: str = ""
    description: str = ""
    benchmark: str = ""
    benchmark_metric: str = ""
    benchmark_value: float | None = None
    hosting: str = "self-hosted"
    options: Mapping[str, object] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "repo": self.repo,
            "revision": self.revision,
            "licence": self.licence,
            "dimension": self.dim,
            "pooling": self.pooling,
            "normalise": self.normalise,
            "query_prefix": self.query_prefix,
            "passage_prefix": self.passage_prefix,
            "languages": self.languages,
            "architecture": self.architecture,
            "model": self.store_name,
            "description": self.description,
            "benchmark": self.benchmark,
            "benchmark_metric": self.benchmark_metric,
            "benchmark_value": self.benchmark_value,
            "hosting": self.hosting,
        }


_MTEB_BGE = "MTEB English retrieval average (15 sets, nDCG@10), BAAI/bge-small-en-v1.5 model card table"
BGE_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "

TEXT_MODELS: dict[str, TextModelSpec] = {
    spec.name: spec
    for spec in (
        TextModelSpec(
            name="all-minilm-l6-v2",
            repo="sentence-transformers/all-MiniLM-L6-v2",
            revision="c9745ed1d9f207416be6d2e6f8de32d1f16199bf",
            licence="Apache-2.0",
            dim=384,
            store_name="all-minilm-l6-v2",
            description="the default: small, fast, English; general sentence similarity",
            benchmark="MTEB retrieval average 41.95 (MTEB leaderboard, English v1, 15 sets)",
            benchmark_metric="mteb-retrieval",
            benchmark_value=41.95,
        ),
        TextModelSpec(
            name="multi-qa-minilm-l6-cos-v1",
            repo="sentence-transformers/multi-qa-MiniLM-L6-cos-v1",
            revision="b207367332321f8e44f96e224ef15bc607f4dbf0",
            licence="Apache-2.0",
            dim=384,
            store_name="multi-qa-minilm-l6-cos-v1",
            description="MiniLM-L6 trained on 215M question-answer pairs: questions against passages",
        ),
        TextModelSpec(
            name="e5-small-v2",
            repo="intfloat/e5-small-v2",
            revision="dca8b1a9dae0d4575df2bf423a5edb485a431236",
            licence="MIT",
            dim=384,
            query_prefix="query: ",
            passage_prefix="passage: ",
            store_name="e5-small-v2",
            description="E5 small v2 (English): asymmetric retrieval with query:/passage: prefixes",
            benchmark=f"MTEB retrieval average 49.04 ({_MTEB_BGE})",
            benchmark_metric="mteb-retrieval",
            benchmark_value=49.04,
        ),
        TextModelSpec(
            name="bge-small-en-v1.5",
            repo="BAAI/bge-small-en-v1.5",
            revision="5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
            licence="MIT",
            dim=384,
            pooling="cls",
            query_prefix=BGE_QUERY_INSTRUCTION,
            store_name="bge-small-en-v1-5",  # model-store names take no dots
            description="BGE small v1.5 (English): [CLS] pooling, an instruction before queries",
            benchmark=f"MTEB retrieval average 51.68 ({_MTEB_BGE})",
            benchmark_metric="mteb-retrieval",
            benchmark_value=51.68,
        ),
        TextModelSpec(
            name="multilingual-e5-small",
            repo="intfloat/multilingual-e5-small",
            revision="fd1525a9fd15316a2d503bf26ab031a61d056e98",
            licence="MIT",
            dim=384,
            query_prefix="query: ",
            passage_prefix="passage: ",
            languages="about 100 (XLM-RoBERTa SentencePiece vocabulary)",
            store_name="multilingual-e5-small",
            description="multilingual E5 small: for non-English speech (query:/passage: prefixes)",
        ),
        TextModelSpec(
            name="paraphrase-multilingual-minilm-l12-v2",
            repo="sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
            revision="e8f8c211226b894fcb81acc59f3b34ba3efd5f42",
            licence="Apache-2.0",
            dim=384,
            languages="50+",
            store_name="paraphrase-multilingual-minilm-l12-v2",
            description="multilingual paraphrase MiniLM-L12 (50+ languages)",
        ),
    )
}


_BERT_SMALL = {"model_type": "bert", "hidden_size": 384, "num_attention_heads": 12, "intermediate_size": 1536,
               "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
               "pad_token_id": 0, "hidden_act": "gelu"}
#: the network each self-hosted model is (its repository's config.json, the fields that
#: shape the network): tests build random-init models of exactly these
ARCHITECTURES: dict[str, dict[str, object]] = {
    "all-minilm-l6-v2": {**_BERT_SMALL, "num_hidden_layers": 6},
    "multi-qa-minilm-l6-cos-v1": {**_BERT_SMALL, "num_hidden_layers": 6},
    "e5-small-v2": {**_BERT_SMALL, "num_hidden_layers": 12},
    "bge-small-en-v1.5": {**_BERT_SMALL, "num_hidden_layers": 12},
    # BERT layers (initialised from Multilingual-MiniLM-L12-H384) over XLM-RoBERTa's
    # SentencePiece vocabulary; an XLM-RoBERTa network (multilingual-e5-base) runs too
    "multilingual-e5-small": {
        "model_type": "bert", "hidden_size": 384, "num_attention_heads": 12, "intermediate_size": 1536,
        "num_hidden_layers": 12, "vocab_size": 250037, "max_position_embeddings": 512, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "hidden_act": "gelu",
    },
    "paraphrase-multilingual-minilm-l12-v2": {
        "model_type": "bert", "hidden_size": 384, "num_attention_heads": 12, "intermediate_size": 1536,
        "num_hidden_layers": 12, "vocab_size": 250037, "max_position_embeddings": 512, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "hidden_act": "gelu",
    },
}


@dataclass(frozen=True)
class ApiModelInfo:
    """What is published about a model behind the OpenAI embeddings API.

    ``price_per_mtok``: US dollars per million input tokens on ``price_date``;
    ``native_dim``: the size it returns unasked; ``shortens``: whether it accepts
    ``dimensions`` (asked for :data:`TRANSCRIPT_DIM`)."""

    native_dim: int
    price_per_mtok: float | None
    shortens: bool
    benchmark: str = ""
    benchmark_metric: str = ""
    benchmark_value: float | None = None


#: prices and figures from OpenAI's announcement "New embedding models and API updates"
#: (2024-01-25) and its pricing page; a model not listed here has no cost estimate and is
#: not asked for shorter vectors (text-embedding-ada-002, 1536-d only, cannot fill a 384-d index)
PRICE_DATE = "2024-01-25"
API_MODELS: dict[str, ApiModelInfo] = {
    "text-embedding-3-small": ApiModelInfo(1536, 0.02, True, "MTEB average 62.3 (OpenAI, 2024-01-25)", "mteb-average", 62.3),
    "text-embedding-3-large": ApiModelInfo(3072, 0.13, True, "MTEB average 64.6 (OpenAI, 2024-01-25)", "mteb-average", 64.6),
}


def is_api_model(name: str) -> bool:
    return name.lower().startswith(API_PREFIX)


def normalise_name(name: str) -> str:
    """Case-folded for table names; an API model keeps its model's spelling after ``openai:``."""
    name = name.strip()
    if is_api_model(name):
        return API_PREFIX + name[len(API_PREFIX) :].strip()
    return name.lower()


def text_model_spec(name: str) -> TextModelSpec:
    """The spec of a text model name (``openai:ANY`` included); raises UnknownTextModelError."""
    key = normalise_name(name)
    if is_api_model(key):
        model = key[len(API_PREFIX) :]
        if not model:
            raise UnknownTextModelError(name, known_names())
        info = API_MODELS.get(model)
        return TextModelSpec(
            name=key,
            repo="",
            revision="",
            licence="commercial API (OpenAI terms, or those of the endpoint's provider)",
            dim=TRANSCRIPT_DIM,
            store_name="",
            description=f"{model} through an OpenAI-compatible /embeddings endpoint (sends transcripts off this machine)",
            benchmark=info.benchmark if info else "",
            benchmark_metric=info.benchmark_metric if info else "",
            benchmark_value=info.benchmark_value if info else None,
            hosting="api",
            options={"model": model},
        )
    try:
        return TEXT_MODELS[key]
    except KeyError:
        raise UnknownTextModelError(name, known_names()) from None


def known_names() -> list[str]:
    return [*TEXT_MODELS, *(API_PREFIX + m for m in API_MODELS)]


class TextEmbedder(Protocol):
    """What the speech encoders call: (n,) texts -> (n, dim) float32, L2-normalised."""

    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class LocalTextEmbedder:
    """A self-hosted text model: the spec's prefixes around a shared sentence embedder.

    ``inner``: a :mod:`mediasearch.encoders.sentence_text` embedder (``embed(texts)``).
    ``embed_passages`` is what indexing calls on transcript segments, ``embed_queries``
    what a search calls on the query; both (n, dim) float32, L2-normalised.
    """

    def __init__(self, spec: TextModelSpec, inner) -> None:  # type: ignore[no-untyped-def]
        self.spec = spec
        self.name = spec.name
        self.inner = inner
        self.dim = int(inner.dim)
        self.engine = getattr(inner, "engine", "")
        self.precision = getattr(inner, "precision", None)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed([self.spec.query_prefix + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed([self.spec.passage_prefix + t for t in texts])

    #: what older callers use: passages
    embed = embed_passages


_cache: dict[tuple[str, str], TextEmbedder] = {}
_lock = threading.Lock()


def load_text_embedder(
    name: str, settings: "Settings", *, folder: Path | None = None, encoder: str | None = None
) -> TextEmbedder:
    """The loaded text model ``name`` (cached per process, model dir and build settings).

    A self-hosted model comes from ``folder`` when given, else from the model store
    (ModelUnavailableError naming the pull/import command when it is missing). An API
    model needs no weights; :mod:`mediasearch.encoders.openai_embeddings` reads its
    endpoint and key from the environment. Raises UnknownTextModelError.
    """
    spec = text_model_spec(name)
    if spec.hosting == "api":  # a changed endpoint or key is another client
        import hashlib
        import os

        from mediasearch.encoders.openai_embeddings import KEY_ENV, base_url

        key = (spec.name, base_url() + "#" + hashlib.sha256(os.environ.get(KEY_ENV, "").encode()).hexdigest()[:16])
    else:
        import os

        from mediasearch.encoders.sentence_text import ENGINE_ENV

        # the build settings too: another precision, device, thread count or engine is another model
        key = (spec.name, str(folder or settings.model_dir), str(settings.precision).lower(), str(settings.device).lower(),
               str(settings.inference_threads), os.environ.get(ENGINE_ENV, "").strip().lower())
    with _lock:
        emb = _cache.get(key)
        if emb is not None:
            return emb
    if spec.hosting == "api":
        from mediasearch.encoders.openai_embeddings import OpenAIEmbedder

        emb = OpenAIEmbedder.from_environment(str(spec.options["model"]), dim=spec.dim)
    else:
        from mediasearch.encoders.sentence_text import load_sentence_embedder

        if folder is None:
            from mediasearch.modelstore import ModelStore

            folder = ModelStore(settings.model_dir).require(spec.store_name, encoder=encoder, allow_download=settings.allow_download)
        inner = load_sentence_embedder(Path(folder), name=spec.name, settings=settings, pooling=spec.pooling)
        emb = LocalTextEmbedder(spec, inner)
    with _lock:
        return _cache.setdefault(key, emb)


def clear_cache() -> None:
    """Forget loaded text models (tests; a changed environment for API models)."""
    with _lock:
        _cache.clear()
