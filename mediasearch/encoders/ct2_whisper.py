"""Whisper on CTranslate2 (faster-whisper, int8 on the CPU), converted offline from the openai-whisper checkpoint.

Nothing is fetched. The first load converts the same ``.pt`` file openai-whisper loads:

1. :func:`hf_whisper_from_openai` rebuilds the checkpoint as a Hugging Face
   ``WhisperForConditionalGeneration`` (state-dict key mapping, the word-alignment heads
   of the official release for the model size, the token-suppression lists);
2. :func:`build_tokenizer` writes the byte-level BPE ``tokenizer.json`` faster-whisper
   needs from the tiktoken vocabulary openai-whisper ships (``whisper/assets/*.tiktoken``;
   merges recovered from the ranks, the same special tokens in the same order), so token
   ids equal openai-whisper's;
3. ``ctranslate2.converters.TransformersConverter`` quantises it (int8 by default).

The converted folder is cached like the ONNX graphs (:mod:`mediasearch.encoders.onnx_engine`):
named after the checkpoint's sha256 and the conversion settings, in a ``ctranslate2/``
folder beside the weights when writable, else under the precision cache's folder (the
model store or the user cache dir), written to a temporary folder and renamed into place,
so a half-written conversion is never used. Later loads import neither torch nor
transformers.

:class:`CT2Whisper` transcribes with the options openai-whisper is run with in
:mod:`mediasearch.encoders.whisper_speech` (greedy decoding with the same temperature
fallbacks, no conditioning on previous text, word timestamps, the no-speech threshold) and
returns segments in openai-whisper's dict layout (``start``, ``end``, ``text``,
``no_speech_prob``), so the encoder filters both engines' output the same way.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mediasearch.encoders import precision
from mediasearch.errors import MediaSearchError

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

FOLDER = "ctranslate2"
#: bump when the conversion itself changes (key mapping, tokenizer, config)
CONVERTER_VERSION = "1"
QUANTIZATION = "int8"
#: files a converted folder must hold to be used
REQUIRED = ("model.bin", "config.json", "tokenizer.json", "vocabulary.json", "preprocessor_config.json")

#: openai-whisper state-dict names -> Hugging Face Whisper names (applied in order)
_KEY_MAP = (
    ("encoder.positional_embedding", "encoder.embed_positions.weight"),
    ("decoder.positional_embedding", "decoder.embed_positions.weight"),
    ("decoder.token_embedding", "decoder.embed_tokens"),
    ("encoder.ln_post.", "encoder.layer_norm."),
    ("decoder.ln.", "decoder.layer_norm."),
    ("blocks.", "layers."),
    (".mlp.0.", ".fc1."),
    (".mlp.2.", ".fc2."),
    (".mlp_ln.", ".final_layer_norm."),
    (".cross_attn_ln.", ".encoder_attn_layer_norm."),
    (".cross_attn.query.", ".encoder_attn.q_proj."),
    (".cross_attn.key.", ".encoder_attn.k_proj."),
    (".cross_attn.value.", ".encoder_attn.v_proj."),
    (".cross_attn.out.", ".encoder_attn.out_proj."),
    (".attn_ln.", ".self_attn_layer_norm."),
    (".attn.query.", ".self_attn.q_proj."),
    (".attn.key.", ".self_attn.k_proj."),
    (".attn.value.", ".self_attn.v_proj."),
    (".attn.out.", ".self_attn.out_proj."),
)


def available() -> bool:
    """True when ctranslate2 and faster-whisper are installed (nothing is imported to find out)."""
    return all(importlib.util.find_spec(m) is not None for m in ("ctranslate2", "faster_whisper"))


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def conversion_settings(quantization: str = QUANTIZATION) -> dict[str, str]:
    """What a converted folder depends on besides the checkpoint."""
    return {"format": "ctranslate2", "quantization": quantization, "ctranslate2": _version("ctranslate2"), "converter": CONVERTER_VERSION}


def model_folder(weights_path: Path, settings: Settings, conversion: dict[str, str]) -> Path:
    """Where the converted model for this checkpoint and these settings lives (see the module docstring)."""
    weights_path = Path(weights_path)
    digest = precision.weights_digest(weights_path, precision.DecisionCache(precision.cache_path(settings)))
    tag = hashlib.sha256(json.dumps(conversion, sort_keys=True).encode()).hexdigest()[:12]
    name = f"{weights_path.stem}-{digest[:16]}-{tag}"
    beside = weights_path.parent / FOLDER
    if precision.writable_folder(beside):
        return beside / name
    return precision.cache_path(settings).parent / FOLDER / name


def is_complete(folder: Path) -> bool:
    return all((Path(folder) / name).is_file() and (Path(folder) / name).stat().st_size > 0 for name in REQUIRED)


# -- the tokenizer --------------------------------------------------------------------------


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table (byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def special_tokens(num_languages: int) -> list[str]:
    """openai-whisper's special tokens in id order, after the BPE ranks (whisper.tokenizer.get_encoding)."""
    from whisper.tokenizer import LANGUAGES

    return [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *[f"<|{lang}|>" for lang in list(LANGUAGES)[:num_languages]],
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
        *[f"<|{i * 0.02:.2f}|>" for i in range(1501)],
    ]


def tiktoken_file(multilingual: bool) -> Path:
    """The tiktoken vocabulary openai-whisper ships for a model (gpt2 for English-only ones)."""
    found = importlib.util.find_spec("whisper")
    if found is None or not found.submodule_search_locations:
        raise FileNotFoundError("openai-whisper is not installed; its tokenizer vocabulary is needed to convert")
    name = "multilingual" if multilingual else "gpt2"
    return Path(list(found.submodule_search_locations)[0]) / "assets" / f"{name}.tiktoken"


def build_tokenizer(multilingual: bool, num_languages: int):  # -> tokenizers.Tokenizer
    """A ``tokenizers`` byte-level BPE equal to openai-whisper's tiktoken encoding.

    The vocabulary is the tiktoken ranks (token bytes -> id) in GPT-2's byte-to-unicode
    spelling; each merge is the split of a token into two shorter tokens, ordered by the
    merged token's rank (BPE with ranks = merge priorities); whole-word matches skip the
    merges as tiktoken does. Pre-tokenisation is GPT-2's regex (the ``pat_str`` whisper
    uses), with no prefix space. Special tokens follow in openai-whisper's order.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    to_char = _bytes_to_unicode()
    ranks: dict[bytes, int] = {}
    with open(tiktoken_file(multilingual), encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)

    def spell(b: bytes) -> str:
        return "".join(to_char[x] for x in b)

    vocab = {spell(token): rank for token, rank in ranks.items()}
    merges: list[tuple[int, int, int, str, str]] = []
    for token, rank in ranks.items():
        if len(token) < 2:
            continue
        for i in range(1, len(token)):
            left, right = token[:i], token[i:]
            if left in ranks and right in ranks:
                merges.append((rank, ranks[left], ranks[right], spell(left), spell(right)))
    merges.sort()
    bpe = models.BPE(vocab=vocab, merges=[(a, b) for *_, a, b in merges], fuse_unk=False, ignore_merges=True)
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    specials = special_tokens(num_languages)
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    if tokenizer.get_vocab_size() != len(ranks) + len(specials):
        raise ValueError("the tokenizer's special tokens collide with its BPE vocabulary")
    return tokenizer


# -- openai checkpoint -> Hugging Face Whisper --------------------------------------------


def hf_key(name: str) -> str:
    """The Hugging Face name of an openai-whisper state-dict entry (``model.`` prefix included)."""
    for old, new in _KEY_MAP:
        name = name.replace(old, new)
    return "model." + name


def alignment_heads(size: str | None, n_layers: int, n_heads: int) -> list[tuple[int, int]] | None:
    """openai-whisper's official word-alignment heads for a model size, as (layer, head) pairs."""
    import whisper

    dump = getattr(whisper, "_ALIGNMENT_HEADS", {}).get(size or "")
    if dump is None:
        return None
    mask = np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool).reshape(n_layers, n_heads)
    return [(int(layer), int(head)) for layer, head in zip(*np.nonzero(mask))]


def hf_whisper_from_openai(checkpoint: dict[str, Any], *, size: str | None, tokenizer):  # -> WhisperForConditionalGeneration
    """A Hugging Face Whisper model (fp32) holding an openai-whisper checkpoint's weights."""
    import torch
    from transformers import GenerationConfig, WhisperConfig, WhisperForConditionalGeneration

    dims = checkpoint["dims"]
    state = checkpoint["model_state_dict"]
    n_vocab = int(dims["n_vocab"])
    multilingual = n_vocab >= 51865
    num_languages = n_vocab - 51765 - int(multilingual)
    specials = special_tokens(num_languages)
    ids = {t: tokenizer.token_to_id(t) for t in specials}
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=n_vocab,
        num_mel_bins=int(dims["n_mels"]),
        d_model=int(dims["n_audio_state"]),
        encoder_layers=int(dims["n_audio_layer"]),
        encoder_attention_heads=int(dims["n_audio_head"]),
        decoder_layers=int(dims["n_text_layer"]),
        decoder_attention_heads=int(dims["n_text_head"]),
        encoder_ffn_dim=4 * int(dims["n_audio_state"]),
        decoder_ffn_dim=4 * int(dims["n_text_state"]),
        max_source_positions=int(dims["n_audio_ctx"]),
        max_target_positions=int(dims["n_text_ctx"]),
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=True,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
    )
    config.dtype = torch.float32  # what the converter reads (else it asks for the deprecated torch_dtype)
    model = WhisperForConditionalGeneration(config).eval()
    mapped = {hf_key(k): v.float() for k, v in state.items()}
    mapped["proj_out.weight"] = mapped["model.decoder.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    if unexpected or [k for k in missing if k != "proj_out.weight"]:
        raise ValueError(f"openai -> Hugging Face Whisper mapping left {sorted(missing)[:4]} missing, {sorted(unexpected)[:4]} unexpected")
    with torch.no_grad():
        model.proj_out.weight.copy_(model.model.decoder.embed_tokens.weight)

    from whisper.tokenizer import Tokenizer as OpenAITokenizer, get_encoding

    openai_tok = OpenAITokenizer(encoding=get_encoding("multilingual" if multilingual else "gpt2", num_languages), num_languages=num_languages)
    generation = GenerationConfig(
        decoder_start_token_id=sot,
        eos_token_id=eot,
        pad_token_id=eot,
        suppress_tokens=list(openai_tok.non_speech_tokens),
        begin_suppress_tokens=[openai_tok.encode(" ")[0], eot],
        no_timestamps_token_id=ids["<|notimestamps|>"],
        is_multilingual=multilingual,
    )
    heads = alignment_heads(size, config.decoder_layers, config.decoder_attention_heads)
    if heads:
        generation.alignment_heads = [list(h) for h in heads]
    if multilingual:
        from whisper.tokenizer import LANGUAGES

        generation.lang_to_id = {f"<|{lang}|>": ids[f"<|{lang}|>"] for lang in list(LANGUAGES)[:num_languages]}
    model.generation_config = generation
    return model


def convert(weights_path: Path, dest: Path, *, size: str | None, quantization: str = QUANTIZATION) -> None:
    """Convert an openai-whisper ``.pt`` checkpoint into a CTranslate2 model folder ``dest`` (must not exist)."""
    import ctranslate2
    import torch
    from transformers import PreTrainedTokenizerFast

    checkpoint = torch.load(str(weights_path), map_location="cpu", weights_only=True)
    n_vocab = int(checkpoint["dims"]["n_vocab"])
    multilingual = n_vocab >= 51865
    tokenizer = build_tokenizer(multilingual, n_vocab - 51765 - int(multilingual))
    model = hf_whisper_from_openai(checkpoint, size=size, tokenizer=tokenizer)
    hf_tokenizer = PreTrainedTokenizerFast(tokenizer_object=tokenizer)
    n_mels = int(checkpoint["dims"]["n_mels"])
    del checkpoint

    class _InMemory(ctranslate2.converters.TransformersConverter):
        """The converter, fed the model and tokenizer built here instead of reading a hub folder."""

        def load_model(self, model_class, model_name_or_path, **kwargs):  # noqa: ANN001, ANN201
            return model

        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):  # noqa: ANN001, ANN201
            return hf_tokenizer

    with tempfile.TemporaryDirectory(prefix="ct2-hf-") as hf_dir:
        model.config.save_pretrained(hf_dir)  # the converter reads the config class from here
        _InMemory(hf_dir).convert(str(dest), quantization=quantization, force=False)
    tokenizer.save(str(Path(dest) / "tokenizer.json"))
    # faster-whisper's feature extractor settings (mel bins; the rest are its defaults)
    (Path(dest) / "preprocessor_config.json").write_text(
        json.dumps({"feature_size": n_mels, "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400}), encoding="utf-8"
    )


_convert_lock = threading.Lock()


def ensure_converted(weights_path: Path, settings: Settings, *, size: str | None, quantization: str = QUANTIZATION) -> Path:
    """The cached converted folder for ``weights_path``, converting it first when absent or incomplete.

    Conversion writes into a temporary sibling folder that is renamed into place, so a
    concurrent reader sees either nothing or a whole model.
    """
    folder = model_folder(weights_path, settings, conversion_settings(quantization))
    with _convert_lock:
        if is_complete(folder):
            return folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            shutil.rmtree(tmp)  # the converter wants to create it
            convert(Path(weights_path), tmp, size=size, quantization=quantization)
            if is_complete(folder):  # another process finished first: keep its copy
                return folder
            if folder.exists():  # an incomplete earlier attempt
                shutil.rmtree(folder, ignore_errors=True)
            try:
                os.replace(tmp, folder)
            except OSError:
                if not is_complete(folder):  # not a lost race with another process: a real failure
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        logger.info("converted %s to CTranslate2 %s in %s", weights_path, quantization, folder)
        return folder


class CT2Whisper:
    """A converted Whisper model on CTranslate2 through faster-whisper (CPU int8 by default;
    ``device`` ``cuda`` or ``cuda:N`` with the compute type :func:`choose_placement` gives)."""

    def __init__(self, folder: Path, *, threads: int, compute_type: str = QUANTIZATION, device: str = "cpu") -> None:
        from faster_whisper import WhisperModel

        self.folder = Path(folder)
        self.compute_type = compute_type
        self.device = device
        kind, _, index = device.partition(":")
        self.model = WhisperModel(
            str(folder), device=kind, device_index=int(index or 0), compute_type=compute_type,
            cpu_threads=max(1, int(threads)), num_workers=1, local_files_only=True,
        )

    @property
    def is_multilingual(self) -> bool:
        """True for the multilingual sizes (language detection needed), as openai-whisper's model says."""
        return bool(self.model.model.is_multilingual)

    multilingual = is_multilingual

    def detect_language(self, audio: np.ndarray) -> str:
        """The most probable language of a 16 kHz waveform (its first 30 s)."""
        language, _, _ = self.model.detect_language(np.ascontiguousarray(audio, dtype=np.float32))
        return str(language)

    def transcribe(
        self, audio: np.ndarray, *, language: str | None, word_timestamps: bool, no_speech_threshold: float
    ) -> list[dict[str, Any]]:
        """(samples,) float32 at 16 kHz -> segments as openai-whisper's dicts (start, end, text, no_speech_prob).

        Decoding mirrors ``whisper.transcribe`` as :mod:`whisper_speech` calls it: greedy
        (one beam, one sample per fallback temperature), the same temperature ladder and
        thresholds, no conditioning on previous text, no VAD.
        """
        segments, _ = self.model.transcribe(
            np.ascontiguousarray(audio, dtype=np.float32),
            language=language if self.multilingual else None,
            task="transcribe",
            beam_size=1,
            best_of=1,
            temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
            compression_ratio_threshold=2.4,
            log_prob_threshold=-1.0,
            no_speech_threshold=no_speech_threshold,
            condition_on_previous_text=False,
            word_timestamps=word_timestamps,
            vad_filter=False,
            without_timestamps=False,
        )
        return [
            {"start": float(s.start), "end": float(s.end), "text": s.text, "no_speech_prob": float(s.no_speech_prob)}
            for s in segments
        ]


# -- which engine ---------------------------------------------------------------------------

#: ``auto`` (CTranslate2 where ctranslate2 + faster-whisper are installed, else openai-whisper),
#: ``openai`` or ``ctranslate2``; overrides the encoder's ``engine`` option
ENGINE_ENV = "MEDIASEARCH_WHISPER_ENGINE"
ENGINES = ("auto", "openai", "ctranslate2")


class WhisperEngineError(MediaSearchError, ValueError):
    """The Whisper engine setting names no known engine."""

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(f"unknown Whisper engine {value!r}; choose one of {', '.join(ENGINES)} ({ENGINE_ENV} or the encoder's engine option)")


def engine_setting(options: dict[str, Any] | None = None) -> tuple[str, str]:
    """(requested engine, where the request came from): ``$MEDIASEARCH_WHISPER_ENGINE``, else
    the encoder's ``engine`` option, else ``auto``. Raises WhisperEngineError for other values."""
    env = os.environ.get(ENGINE_ENV, "").strip().lower()
    option = str((options or {}).get("engine", "") or "").strip().lower()
    value, source = (env, ENGINE_ENV) if env else (option, "the encoder's engine option") if option else ("auto", "default")
    aliases = {"faster-whisper": "ctranslate2", "ct2": "ctranslate2", "openai-whisper": "openai", "torch": "openai"}
    value = aliases.get(value, value)
    if value not in ENGINES:
        raise WhisperEngineError(value)
    return value, source


def resolve_engine(options: dict[str, Any] | None = None) -> tuple[str, str]:
    """(engine to use: ``openai`` or ``ctranslate2``, why), without importing either."""
    requested, source = engine_setting(options)
    if requested != "auto":
        return requested, f"set to {requested} by {source}"
    if available():
        return "ctranslate2", (
            "auto: CTranslate2 int8 (faster-whisper), converted offline from the same checkpoint; "
            "measured faster than openai-whisper fp32 on the CPU (docs/PERFORMANCE.md)"
        )
    return "openai", "auto: ctranslate2/faster-whisper not installed, so openai-whisper (torch, fp32)"


# -- which device ---------------------------------------------------------------------------

#: CTranslate2's compute type on CUDA for each precision setting (``auto``: float16)
CUDA_COMPUTE = {"auto": "float16", "fp16": "float16", "fp32": "float32", "bf16": "bfloat16"}


@dataclass(frozen=True)
class WhisperPlacement:
    """Where a Whisper engine runs and at what numeric path.

    ``device``: ``cpu``, ``cuda`` or ``cuda:N``. ``compute``: CTranslate2's compute type
    (``int8`` on the CPU, ``float16`` on CUDA; also the conversion's quantisation) or, for
    openai-whisper, ``fp32`` / ``fp16`` (its ``fp16=`` decoding flag).
    """

    engine: str
    device: str
    compute: str
    reason: str

    @property
    def fp16(self) -> bool:
        """openai-whisper's ``fp16=`` argument."""
        return self.compute == "fp16"

    def to_json(self) -> dict[str, str]:
        return {"device": self.device, "compute": self.compute, "device_reason": self.reason}


def _unavailable(requested: str, reason: str) -> Exception:
    from mediasearch.encoders.device import DeviceUnavailableError  # imports torch: only on this error path

    return DeviceUnavailableError(requested, reason)


def choose_placement(engine: str, requested: str, precision_setting: str, *, cuda_devices: int, mps: bool) -> WhisperPlacement:
    """The placement of ``engine`` (``ctranslate2`` / ``openai``) for the device setting
    ``requested`` (auto, cpu, cuda[:N], mps) and precision setting, given what this machine
    has (``cuda_devices`` the engine can see, whether MPS is usable).

    CUDA: CTranslate2 float16 (:data:`CUDA_COMPUTE` for a forced precision), openai-whisper
    fp16 (fp32 when forced). MPS is never used: CTranslate2 has no MPS backend, and
    openai-whisper on MPS fails or falls back op by op (its word-timestamp alignment and
    sparse ops are not implemented there), so both stay on the CPU and say so. The CPU:
    CTranslate2 int8, openai-whisper fp32. An explicit device the machine lacks raises
    DeviceUnavailableError (as for the torch encoders); an unknown one raises ValueError.
    """
    name = (requested or "auto").strip().lower()
    kind, _, index = name.partition(":")
    if kind not in ("auto", "cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {requested!r}; choose one of auto, cpu, cuda, mps")
    wanted = (precision_setting or "auto").strip().lower()
    label = "CTranslate2" if engine == "ctranslate2" else "openai-whisper"
    if kind == "cuda" and cuda_devices < 1:
        raise _unavailable(name, f"{label} sees no CUDA device")
    if kind == "cuda" and index and int(index) >= cuda_devices:
        raise _unavailable(name, f"{label} sees {cuda_devices} CUDA device(s)")
    if kind == "mps" and not mps:
        raise _unavailable(name, "torch.backends.mps.is_available() is False")
    if kind == "cuda" or (kind == "auto" and cuda_devices > 0):
        device = name if kind == "cuda" else "cuda"
        if engine == "ctranslate2":
            compute = CUDA_COMPUTE.get(wanted, "float16")
            return WhisperPlacement(engine, device, compute, f"{device} ({name} requested): CTranslate2 {compute}")
        compute = "fp32" if wanted == "fp32" else "fp16"
        return WhisperPlacement(engine, device, compute, f"{device} ({name} requested): openai-whisper {compute}")
    cpu_compute = QUANTIZATION if engine == "ctranslate2" else "fp32"
    if kind == "mps" or (kind == "auto" and mps):
        why = "CTranslate2 has no MPS backend" if engine == "ctranslate2" else (
            "openai-whisper on MPS is unreliable (word-timestamp alignment and sparse ops are not implemented there)"
        )
        return WhisperPlacement(engine, "cpu", cpu_compute, f"cpu although {name} found MPS: {why}")
    why = "set to cpu" if kind == "cpu" else "auto: no CUDA device"
    return WhisperPlacement(engine, "cpu", cpu_compute, f"cpu ({why})")


def resolve_placement(engine: str, settings: Settings) -> WhisperPlacement:
    """:func:`choose_placement` for this machine. Asks CTranslate2 (``ctranslate2``) or torch
    (``openai``) how many CUDA devices there are, and torch whether MPS is usable, only when
    the device setting is not ``cpu`` and, for ``auto``, when a GPU may be present at all
    (:func:`sentence_text.gpu_may_be_present`): on a machine without one nothing is imported."""
    from mediasearch.encoders.sentence_text import gpu_may_be_present

    requested = (settings.device or "auto").strip().lower()
    kind = requested.partition(":")[0]
    cuda, mps = 0, False
    if kind != "cpu" and (kind != "auto" or gpu_may_be_present()):
        if engine == "ctranslate2" and kind != "mps":
            import ctranslate2

            cuda = int(ctranslate2.get_cuda_device_count())
        if engine != "ctranslate2" or kind == "mps" or (kind == "auto" and cuda == 0):
            import torch

            from mediasearch.encoders import device as device_mod

            if engine != "ctranslate2":
                cuda = int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
            mps = device_mod.mps_available()
    return choose_placement(engine, requested, precision.normalise_precision(settings.precision), cuda_devices=cuda, mps=mps)
