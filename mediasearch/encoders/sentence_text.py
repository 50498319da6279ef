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
same vectors (cosine >= 0.9999). The same network may run on ONNX Runtime instead
(exported once from the weights, :mod:`mediasearch.encoders.onnx_engine`), so a text
query imports neither torch nor transformers. Other folders go through
sentence-transformers. ``MEDIASEARCH_TEXT_ENGINE`` picks one (onnx, torch, sentence-transformers).

With ``auto`` (:func:`auto_engine`) the settings decide: a GPU (``--device cuda``/``mps``,
or ``auto`` on a machine that has one) or a forced bf16/fp16 runs the torch model there,
at that precision; on the CPU ONNX Runtime is used only where
:func:`onnx_engine.module_session` measured it faithful (cosine >= 0.9999 to torch fp32)
and faster than torch fp32 on this machine, and torch otherwise. ONNX Runtime runs fp32,
so it is weighed against torch fp32, not against a bf16 autocast path: on a CPU with
native bf16 (one thread) torch bf16 took 8.6 ms for the 4 calibration texts and ONNX
Runtime 9.7 ms, while every cold query on torch first pays its import (about 2.7 s). The
outcome is cached with the precision decisions; a later process reads it without
importing torch (:func:`cached_engine_decision`).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
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

    def __init__(
        self, folder: Path, *, name: str = DEFAULT_TEXT_MODEL, batch_size: int = 64, settings: "Settings | None" = None
    ) -> None:
        from mediasearch.config import Settings
        from mediasearch.encoders.torch_utils import load_device, offline_hub

        self.name = name
        self.folder = Path(folder)
        self.batch_size = batch_size
        self.precision = None
        #: ``settings.device`` (DeviceUnavailableError when it names a device this machine lacks)
        self.device = load_device(name, settings or Settings())
        #: which engine runs the model, on what, and why
        self.engine_decision: dict[str, Any] = {"engine": self.engine, "device": str(self.device), "precision": "fp32",
                                                "reason": "sentence-transformers: not a folder the light path runs"}
        with offline_hub():  # the hub is never asked, whatever the environment says
            from sentence_transformers import SentenceTransformer

            _quiet_transformers()
            self._model = SentenceTransformer(str(self.folder), device=str(self.device), local_files_only=True)
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


_cache: dict[tuple[str, ...], "SentenceEmbedder | MiniLMEmbedder | OnnxSentenceEmbedder"] = {}
_cache_lock = threading.Lock()
#: "auto" (see :func:`auto_engine`), "onnx", "torch" or "sentence-transformers"
ENGINE_ENV = "MEDIASEARCH_TEXT_ENGINE"
ENGINES = ("auto", "onnx", "torch", "sentence-transformers")
#: what ONNX Runtime is measured against: torch fp32 (ONNX Runtime runs fp32; see the module docstring)
ONNX_REFERENCE = "fp32"


def gpu_may_be_present() -> bool:
    """False when this machine surely has no GPU torch could use, found without importing torch.

    When torch is already imported it is asked. Otherwise: macOS on Apple silicon may have
    MPS; on Linux torch sees a GPU only through an NVIDIA (``/dev/nvidiactl``), ROCm
    (``/dev/kfd``) or WSL (``/dev/dxg``) device node; elsewhere (Windows) one may be present.
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        mps = getattr(torch.backends, "mps", None)
        return bool(torch.cuda.is_available() or (mps is not None and mps.is_available()))
    system = platform.system()
    if system == "Darwin":
        return platform.machine() == "arm64"
    if system == "Linux":
        return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg"))
    return True


def onnx_export_spec(folder: Path, name: str, pooling: str, max_length: int) -> tuple[str, dict[str, object]]:
    """(export kind, extra export settings) of a sentence model's ONNX graph, so that
    :class:`OnnxSentenceEmbedder` and :func:`onnx_engine.module_session` name the same file."""
    config = read_json(Path(folder) / "config.json")
    extra: dict[str, object] = {"max_length": max_length}
    if config.get("model_type") != "bert":
        extra["architecture"] = config.get("model_type")
    return f"bert-{pooling}-pooled", extra


def cached_engine_decision(folder: Path, settings: "Settings", name: str) -> dict[str, Any] | None:
    """The ONNX Runtime vs torch fp32 decision :func:`onnx_engine.module_session` recorded
    for model ``name`` with these weights, CPU, torch version and thread count; None when
    it was not measured yet. Reads the precision cache only (no torch import)."""
    from mediasearch.encoders import precision

    digest = precision.weights_digest(Path(folder) / WEIGHTS_FILE, precision.DecisionCache(precision.cache_path(settings)))
    want = {"component": name, "weights": digest, "device": "cpu", "threads": str(settings.inference_threads),
            "candidate": f"onnx-vs-{ONNX_REFERENCE}"}
    for record in precision.cached_decisions(settings, name.split("/")[0]):
        key = record.get("key") or {}
        if all(str(key.get(k)) == v for k, v in want.items()) and record.get("engine") in ("onnxruntime", "torch"):
            return {**record, "source": "cached"}
    return None


def auto_engine(folder: Path, settings: "Settings", *, name: str, pooling: str) -> tuple[str, str]:
    """(engine, why) for ``auto``, found without importing torch.

    The engine is ``sentence-transformers`` (a folder the light path does not run),
    ``torch`` (a GPU device, a forced bf16/fp16, no onnxruntime, or ONNX Runtime measured
    no faster here), ``onnx`` (measured faster and faithful here) or ``measure`` (load the
    torch model, then let :func:`onnx_engine.module_session` measure and cache the choice;
    also when ``auto`` may find a GPU, which only torch can tell).
    """
    from mediasearch.encoders import onnx_engine, precision

    if not bert_folder_supported(Path(folder), pooling):
        return "sentence-transformers", "not a BERT/XLM-RoBERTa folder with mean or [CLS] pooling"
    device = (settings.device or "auto").strip().lower()
    kind = device.partition(":")[0]
    requested = precision.normalise_precision(settings.precision)
    if kind in ("cuda", "mps"):
        return "torch", f"device set to {device}: the torch model runs there"
    if requested in ("bf16", "fp16"):
        return "torch", f"precision forced to {requested}: torch autocast (ONNX Runtime runs fp32)"
    if not onnx_engine.available():
        return "torch", "onnxruntime not installed"
    if kind == "auto" and gpu_may_be_present():
        return "measure", "a GPU may be present: torch resolves the device"
    cached = cached_engine_decision(Path(folder), settings, name)
    if cached is None:
        return "measure", "ONNX Runtime vs torch fp32 not measured yet on this machine"
    return ("onnx" if cached["engine"] == "onnxruntime" else "torch"), str(cached.get("reason", ""))


def load_sentence_embedder(
    folder: Path,
    *,
    name: str = DEFAULT_TEXT_MODEL,
    settings: "Settings | None" = None,
    engine: str | None = None,
    pooling: str | None = None,
) -> "SentenceEmbedder | MiniLMEmbedder | OnnxSentenceEmbedder":
    """The embedder for ``folder``, loaded once per process and build settings (several Whisper sizes share it).

    ``engine``: ``auto`` (default; ``MEDIASEARCH_TEXT_ENGINE`` overrides) chooses as
    :func:`auto_engine` says (see the module docstring); ``onnx``, ``torch`` and
    ``sentence-transformers`` force one. ``settings`` (default: ``Settings()``) gives the
    threads, device and precision: another value of any is another embedder. ``pooling``
    ("mean" or "cls"; default: what the folder declares) is what the text-model table
    says the model uses. A missing device raises DeviceUnavailableError.
    """
    from mediasearch.config import Settings
    from mediasearch.encoders import precision

    settings = settings or Settings()
    requested = (engine or os.environ.get(ENGINE_ENV, "") or "auto").strip().lower()
    if requested not in ENGINES:
        raise ValueError(f"unknown text engine {requested!r}; choose one of {', '.join(ENGINES)}")
    pooling = pooling or folder_pooling(Path(folder)) or "mean"
    key = (str(Path(folder).resolve()), requested, pooling, precision.normalise_precision(settings.precision),
           (settings.device or "auto").strip().lower(), str(settings.inference_threads))
    with _cache_lock:
        emb = _cache.get(key)
        if emb is not None:
            return emb
        chosen, why = requested, f"set to {requested} ({ENGINE_ENV} or the caller)"
        if requested == "auto":
            chosen, why = auto_engine(Path(folder), settings, name=name, pooling=pooling)
        if chosen == "onnx":
            emb = OnnxSentenceEmbedder(folder, name=name, settings=settings, pooling=pooling, reason=why)
        elif chosen in ("torch", "measure"):
            emb = MiniLMEmbedder(folder, name=name, settings=settings, pooling=pooling, reason=why)
            if chosen == "measure" and emb.device.type == "cpu":
                emb = emb.onnx_if_faster()
        else:
            emb = SentenceEmbedder(folder, name=name, settings=settings)
        _cache[key] = emb
        return emb


class OnnxSentenceEmbedder:
    """A BERT sentence model on ONNX Runtime (fp32, CPU), exported once from its safetensors weights.

    The graph (ids, mask) -> pooled states is exported through the light torch model on
    first use and cached by :mod:`mediasearch.encoders.onnx_engine`; later loads import
    only tokenizers and onnxruntime. ``session``: an :class:`onnx_engine.OnnxSession` of
    that graph already open (what :meth:`MiniLMEmbedder.onnx_if_faster` measured);
    ``reason``/``decision``: why ONNX Runtime runs it. ``embed(texts)`` -> (n, dim)
    float32, L2-normalised.
    """

    engine = "onnxruntime"

    def __init__(
        self,
        folder: Path,
        *,
        name: str = DEFAULT_TEXT_MODEL,
        settings: "Settings | None" = None,
        batch_size: int = 64,
        pooling: str = "mean",
        session: Any = None,
        reason: str = "",
        decision: Mapping[str, Any] | None = None,
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
        self.dim = int(read_json(self.folder / "config.json")["hidden_size"])
        if session is not None:
            self.session, self.onnx_path = session, Path(session.path)
        else:
            kind, extra = onnx_export_spec(self.folder, name, pooling, self.max_length)
            export = onnx_engine.export_settings(kind, component=name, **extra)
            path = onnx_engine.onnx_path(self.folder / WEIGHTS_FILE, self.settings, export)
            self.onnx_path = onnx_engine.ensure_exported(path, lambda dest: export_bert(self.folder, dest, pooling=pooling))
            try:
                self.session = onnx_engine.OnnxSession(self.onnx_path, threads=self.settings.inference_threads)
            except Exception:  # a damaged cached graph: export once more
                self.onnx_path = onnx_engine.ensure_exported(path, lambda dest: export_bert(self.folder, dest, pooling=pooling))
                self.session = onnx_engine.OnnxSession(self.onnx_path, threads=self.settings.inference_threads)
        why = reason or str((decision or {}).get("reason", "")) or "ONNX Runtime fp32: a query needs no torch import (about 2.7 s cold)"
        self.engine_decision: dict[str, Any] = {**dict(decision or {}), "engine": self.engine, "device": "cpu", "precision": "fp32", "reason": why}
        self.precision = PrecisionDecision("fp32", "cpu", "engine", f"ONNX Runtime fp32: {why}")
        self._lock = threading.Lock()
        logger.debug("loaded sentence model %s from %s on onnxruntime (%s): %s", name, self.folder, self.onnx_path, why)

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
    ``settings.device`` (DeviceUnavailableError when missing) and the numeric path is
    decided by :func:`mediasearch.encoders.precision.decide` on first load (forced values
    as given; fp16 autocast measured on CUDA). ``reason``: why this engine was chosen.
    Thread-safe.
    """

    engine = "torch"

    def __init__(
        self,
        folder: Path,
        *,
        name: str = DEFAULT_TEXT_MODEL,
        settings: "Settings | None" = None,
        batch_size: int = 64,
        pooling: str = "mean",
        reason: str = "",
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
        #: which engine runs the model, on what, and why
        self.engine_decision: dict[str, Any] = {
            "engine": self.engine, "device": str(self.device), "precision": self.precision.precision,
            "reason": reason or "torch requested",
        }
        logger.debug("loaded sentence model %s from %s on %s (%s)", name, self.folder, self.device, self.precision.precision)

    def onnx_if_faster(self) -> "MiniLMEmbedder | OnnxSentenceEmbedder":
        """This model on ONNX Runtime where :func:`onnx_engine.module_session` finds it faithful
        to torch fp32 and faster than torch fp32 on this machine (measured once, cached with
        the precision decisions), else ``self`` with the measurement in :attr:`engine_decision`."""
        from mediasearch.encoders import onnx_engine, precision

        texts = list(precision.CALIBRATION_TEXTS)
        ids, mask = self.model.tokenize(texts)
        kind, extra = onnx_export_spec(self.folder, self.name, self.pooling, self.model.max_length)
        reference = precision.PrecisionDecision(ONNX_REFERENCE, "cpu", "reference", "ONNX Runtime runs fp32: weighed against torch fp32")
        session, decision = onnx_engine.module_session(
            self.settings, component=self.name, export_kind=kind, module=self.model.network,
            weights_path=self.model.weights_path, example=(ids[:2].cpu(), mask[:2].cpu()),
            inputs={"ids": ids.cpu().numpy(), "mask": mask.cpu().numpy()}, input_names=["ids", "mask"], output_names=["pooled"],
            dynamic_axes={"ids": {0: "batch", 1: "tokens"}, "mask": {0: "batch", 1: "tokens"}, "pooled": {0: "batch"}},
            torch_run=lambda dtype_name: self._embed(texts, dtype_name), torch_precision=reference,
            device_type=self.device.type, env=ENGINE_ENV, export_extra=extra,
        )
        if session is None:
            self.engine_decision = {**decision, "engine": self.engine, "device": str(self.device), "precision": self.precision.precision}
            return self
        return OnnxSentenceEmbedder(
            self.folder, name=self.name, settings=self.settings, batch_size=self.batch_size, pooling=self.pooling,
            session=session, decision=decision,
        )

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
