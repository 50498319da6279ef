"""The encoder registry: name -> spec, and lazy loading of the encoder class.

Listing encoders imports nothing heavy; :func:`load_encoder` imports the family's module
(torch, open_clip, whisper...) on first use and keeps the loaded model for the process.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from mediasearch.encoders.base import Encoder, EncoderSpec
from mediasearch.errors import UnknownEncoderError
from mediasearch.media import Modality, Stream

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings

_VISUAL = frozenset({Stream.IMAGE, Stream.FRAME})
_IMG = frozenset({Modality.IMAGE})
_IMG_TXT = frozenset({Modality.IMAGE, Modality.TEXT})
_AUDIO_Q = frozenset({Modality.AUDIO})

_SPECS: list[EncoderSpec] = [
    EncoderSpec(
        name="baseline-image",
        family="baseline",
        streams=_VISUAL,
        query_modalities=_IMG,
        dim=1220,
        factory="mediasearch.encoders.baseline_image:BaselineImageEncoder",
        description="weight-free colour histograms + wavelet layout + LBP texture + Fourier spectrum (no downloads)",
        licence="Apache-2.0 (this project)",
        preprocessing="RGB squashed to 64x64 (box filter); joint HSV 16x6x6 soft and RGB 8x8x8 histograms; "
        "Haar wavelet energies and log-polar power spectrum on 64x64 grey; LBP on 128x128 grey",
        image_size=64,
        preference=90,
        benchmark="generated scene classes: MAP 0.905 (categories), 0.919 (near-duplicates); docs/PERFORMANCE.md (this project)",
    ),
    EncoderSpec(
        name="resnet50",
        family="torchvision",
        streams=_VISUAL,
        query_modalities=_IMG,
        dim=2048,
        factory="mediasearch.encoders.torchvision_resnet:ResNet50Encoder",
        description="torchvision ResNet50, ImageNet IMAGENET1K_V2 weights, pooled 2048-d features",
        licence="BSD-3-Clause (torchvision weights)",
        preprocessing="torchvision IMAGENET1K_V2 transforms: resize 232 bilinear, centre crop 224, ImageNet mean/std",
        models=("resnet50-imagenet1k-v2",),
        image_size=224,
        options={"weights": "IMAGENET1K_V2"},
        preference=20,
        benchmark="ImageNet-1k acc@1 80.858 (torchvision IMAGENET1K_V2 weights table)",
        benchmark_metric="imagenet-top1",
        benchmark_value=80.858,
    ),
    EncoderSpec(
        name="siglip-vit-b16",
        family="open_clip",
        streams=_VISUAL,
        query_modalities=_IMG_TXT,
        dim=768,
        factory="mediasearch.encoders.siglip:SiglipEncoder",
        description="open_clip ViT-B-16-SigLIP (webli): image and text towers, text queries find images and frames",
        licence="Apache-2.0 (SigLIP weights)",
        preprocessing="open_clip ViT-B-16-SigLIP transform: resize 224 bicubic, mean = std = 0.5",
        models=("siglip-vit-b16-webli",),
        image_size=224,
        options={"architecture": "ViT-B-16-SigLIP", "pretrained": "webli"},
        preference=10,
        benchmark="ImageNet-1k zero-shot top-1 76.04% (open_clip docs/openclip_classification_results.csv, ViT-B-16-SigLIP webli)",
        benchmark_metric="imagenet-zeroshot-top1",
        benchmark_value=76.04,
    ),
    # -- the image table: more open_clip and timm models, data only ------------------------
    EncoderSpec(
        name="clip-vit-b32",
        family="open_clip",
        streams=_VISUAL,
        query_modalities=_IMG_TXT,
        dim=512,
        factory="mediasearch.encoders.siglip:SiglipEncoder",
        description="OpenAI CLIP ViT-B/32 (open_clip ViT-B-32, openai weights): image and text towers, light",
        licence="MIT (OpenAI CLIP weights and code)",
        preprocessing="open_clip ViT-B-32 / openai transform: shorter side 224 bicubic, centre crop 224, "
        "OpenAI CLIP mean/std; text: open_clip BPE tokenizer, 77 tokens",
        models=("clip-vit-b32-openai",),
        image_size=224,
        options={"architecture": "ViT-B-32", "pretrained": "openai"},
        preference=16,
        benchmark="ImageNet-1k zero-shot top-1 63.32% (open_clip docs/openclip_results.csv, ViT-B-32 openai)",
        benchmark_metric="imagenet-zeroshot-top1",
        benchmark_value=63.32,
    ),
    EncoderSpec(
        name="clip-vit-l14",
        family="open_clip",
        streams=_VISUAL,
        query_modalities=_IMG_TXT,
        dim=768,
        factory="mediasearch.encoders.siglip:SiglipEncoder",
        description="OpenAI CLIP ViT-L/14 (open_clip ViT-L-14, openai weights): image and text towers, large",
        licence="MIT (OpenAI CLIP weights and code)",
        preprocessing="open_clip ViT-L-14 / openai transform: shorter side 224 bicubic, centre crop 224, "
        "OpenAI CLIP mean/std; text: open_clip BPE tokenizer, 77 tokens",
        models=("clip-vit-l14-openai",),
        image_size=224,
        options={"architecture": "ViT-L-14", "pretrained": "openai"},
        preference=12,
        benchmark="ImageNet-1k zero-shot top-1 75.54% (open_clip docs/openclip_results.csv, ViT-L-14 openai)",
        benchmark_metric="imagenet-zeroshot-top1",
        benchmark_value=75.54,
    ),
    EncoderSpec(
        name="siglip2-vit-b16-256",
        family="open_clip",
        streams=_VISUAL,
        query_modalities=_IMG_TXT,
        dim=768,
        factory="mediasearch.encoders.siglip:SiglipEncoder",
        description="open_clip ViT-B-16-SigLIP2-256 (webli): SigLIP 2 image and text towers, multilingual text",
        licence="Apache-2.0 (SigLIP 2 weights)",
        preprocessing="open_clip ViT-B-16-SigLIP2-256 / webli transform: resize 256 bicubic (squash), mean = std = 0.5; "
        "text: Gemma tokenizer from the model folder, 64 tokens",
        models=("siglip2-vit-b16-256-webli",),
        image_size=256,
        options={"architecture": "ViT-B-16-SigLIP2-256", "pretrained": "webli"},
        # after SigLIP (10) although it scores higher: its files are not pinned to a revision yet
        preference=11,
        benchmark="ImageNet-1k zero-shot top-1 79.1% (Tschannen et al., SigLIP 2, arXiv:2502.14786, Table 1, B/16 at 256 px)",
        benchmark_metric="imagenet-zeroshot-top1",
        benchmark_value=79.1,
    ),
    EncoderSpec(
        name="dinov2-vit-s14",
        family="timm",
        streams=_VISUAL,
        query_modalities=_IMG,
        dim=384,
        factory="mediasearch.encoders.timm_backbone:TimmBackboneEncoder",
        description="DINOv2 ViT-S/14 (self-supervised, LVD-142M) via timm: 384-d image features for image -> image",
        licence="Apache-2.0 (DINOv2 weights)",
        preprocessing="timm pretrained cfg of vit_small_patch14_dinov2.lvd142m: shorter side 518 bicubic, centre crop 518, "
        "ImageNet mean/std",
        models=("dinov2-vit-s14-lvd142m",),
        image_size=518,
        options={"architecture": "vit_small_patch14_dinov2.lvd142m"},
        preference=24,
        benchmark="ImageNet-1k k-NN top-1 79.0% (linear 81.1%) (Oquab et al., DINOv2, arXiv:2304.07193; facebookresearch/dinov2 README)",
        benchmark_metric="imagenet-knn-top1",
        benchmark_value=79.0,
    ),
    EncoderSpec(
        name="dinov2-vit-b14",
        family="timm",
        streams=_VISUAL,
        query_modalities=_IMG,
        dim=768,
        factory="mediasearch.encoders.timm_backbone:TimmBackboneEncoder",
        description="DINOv2 ViT-B/14 (self-supervised, LVD-142M) via timm: 768-d image features for image -> image",
        licence="Apache-2.0 (DINOv2 weights)",
        preprocessing="timm pretrained cfg of vit_base_patch14_dinov2.lvd142m: shorter side 518 bicubic, centre crop 518, "
        "ImageNet mean/std",
        models=("dinov2-vit-b14-lvd142m",),
        image_size=518,
        options={"architecture": "vit_base_patch14_dinov2.lvd142m"},
        preference=22,
        benchmark="ImageNet-1k k-NN top-1 82.1% (linear 84.5%) (Oquab et al., DINOv2, arXiv:2304.07193; facebookresearch/dinov2 README)",
        benchmark_metric="imagenet-knn-top1",
        benchmark_value=82.1,
    ),
    EncoderSpec(
        name="efficientnet-lite0",
        family="timm",
        streams=_VISUAL,
        query_modalities=_IMG,
        dim=1280,
        factory="mediasearch.encoders.timm_backbone:TimmBackboneEncoder",
        description="timm tf_efficientnet_lite0 (ImageNet), pooled 1280-d features; light, for laptops",
        licence="Apache-2.0",
        preprocessing="timm pretrained cfg: shorter side 256 bicubic, centre crop 224, mean = std = 0.5",
        models=("tf-efficientnet-lite0",),
        image_size=224,
        options={"architecture": "tf_efficientnet_lite0"},
        preference=30,
        benchmark="ImageNet-1k top-1 74.830 (timm results/results-imagenet.csv, tf_efficientnet_lite0.in1k, 224 px)",
        benchmark_metric="imagenet-top1",
        benchmark_value=74.830,
    ),
    EncoderSpec(
        name="baseline-audio",
        family="baseline",
        streams=frozenset({Stream.AUDIO}),
        query_modalities=_AUDIO_Q,
        dim=1234,
        factory="mediasearch.encoders.baseline_audio:BaselineAudioEncoder",
        description="weight-free texture statistics (log-mel, contrast, modulation) + landmark fingerprint (no downloads)",
        licence="Apache-2.0 (this project)",
        preprocessing="mono 16 kHz; 48-band log-mel envelope/spread/motion, spectral contrast, modulation spectrum, "
        "z-scored with fixed constants (210, weight 0.4); spectral-peak-pair landmarks, signed-hashed (1024, weight 0.6)",
        sample_rate=16_000,
        preference=90,
        benchmark="generated sound classes: MAP 0.919 (categories), 0.929 (near-duplicates); docs/PERFORMANCE.md (this project)",
    ),
    EncoderSpec(
        name="fingerprint-audio",
        family="baseline",
        streams=frozenset({Stream.AUDIO}),
        query_modalities=_AUDIO_Q,
        dim=1024,
        factory="mediasearch.encoders.fingerprint_audio:FingerprintAudioEncoder",
        description="weight-free landmark fingerprint: finds the same recording after noise, shift, resampling (no downloads)",
        licence="Apache-2.0 (this project)",
        preprocessing="mono 16 kHz; 64 ms frames every 16 ms, spectral peaks 150-3800 Hz, peak pairs hashed "
        "(anchor, target, time apart), square-rooted counts signed-hashed into 1024 dims",
        sample_rate=16_000,
        preference=95,
        benchmark="generated sound near-duplicates: MAP 0.985; docs/PERFORMANCE.md (this project)",
    ),
    EncoderSpec(
        name="panns-cnn14",
        family="panns",
        streams=frozenset({Stream.AUDIO}),
        query_modalities=_AUDIO_Q,
        dim=2048,
        factory="mediasearch.encoders.panns:PannsCnn14Encoder",
        description="PANNs CNN14 (AudioSet, mAP 0.431): 2048-d clip embeddings and AudioSet labels",
        licence="MIT (PANNs code and weights)",
        preprocessing="mono 32 kHz; 64-bin log-mel, 1024 FFT, hop 320, 50-14000 Hz (inside the model)",
        models=("panns-cnn14", "audioset-labels"),
        sample_rate=32_000,
        preference=10,
        benchmark="AudioSet mAP 0.431 (Kong et al., PANNs, arXiv:1912.10211, Table 2)",
        benchmark_metric="audioset-map",
        benchmark_value=0.431,
    ),
    EncoderSpec(
        name="clap-htsat",
        family="clap",
        streams=frozenset({Stream.AUDIO}),
        query_modalities=frozenset({Modality.AUDIO, Modality.TEXT}),
        dim=512,
        factory="mediasearch.encoders.clap:ClapEncoder",
        description="LAION-CLAP HTSAT-unfused (transformers ClapModel): sounds and text in one space, "
        "so 'dog barking' finds sounds",
        licence="Apache-2.0 (LAION-CLAP weights and code)",
        preprocessing="mono 48 kHz, 10 s windows every 5 s; ClapFeatureExtractor: repeat-pad to 10 s, 1024 FFT, "
        "hop 480, 64 Slaney mel bins 50-14000 Hz, dB; text: RoBERTa BPE, at most 77 tokens",
        models=("clap-htsat-unfused",),
        sample_rate=48_000,
        options={"window_s": 10.0, "hop_s": 5.0},
        preference=8,
        benchmark="ESC-50 zero-shot R@1 92.75% for LAION-CLAP's non-fusion default checkpoint "
        "(LAION-AI/CLAP README, first ESC-50 split); the hub port's checkpoint is not named there",
        benchmark_metric="esc50-zeroshot-top1",
        benchmark_value=92.75,
    ),
]

# Whisper sizes: transcripts go into a hybrid BM25 + dense text index whose dense part
# uses a sentence-transformers model (all-MiniLM-L6-v2 by default).
#: LibriSpeech test-clean WER (%), greedy decoding: Radford et al., "Robust Speech Recognition via
#: Large-Scale Weak Supervision", arXiv:2212.04356, Appendix D.1.1 (English transcription)
_WHISPER_WER = {"tiny.en": 5.6, "tiny": 7.6, "base.en": 4.2, "base": 5.0, "small.en": 3.1, "small": 3.4, "medium.en": 3.1, "medium": 2.9}
_WHISPER_RANK = {"medium": 10, "medium.en": 11, "small": 20, "small.en": 21, "base": 30, "base.en": 31, "tiny": 40, "tiny.en": 41}
for _size in ("tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en"):
    _SPECS.append(
        EncoderSpec(
            name=f"whisper-{_size}",
            family="whisper",
            streams=frozenset({Stream.SPEECH}),
            query_modalities=frozenset({Modality.TEXT, Modality.AUDIO}),
            dim=384,
            factory="mediasearch.encoders.whisper_speech:WhisperSpeechEncoder",
            description=f"openai-whisper {_size}: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)",
            licence="MIT (Whisper); Apache-2.0 (all-MiniLM-L6-v2)",
            preprocessing="mono 16 kHz, 30 s windows, log-mel 80 (inside whisper); text: MiniLM tokenizer",
            models=(f"whisper-{_size.replace('.', '-')}", "all-minilm-l6-v2"),
            sample_rate=16_000,
            options={"whisper_model": _size, "text_model": "all-minilm-l6-v2"},
            preference=_WHISPER_RANK[_size],
            benchmark=f"LibriSpeech test-clean WER {_WHISPER_WER[_size]}% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)",
            benchmark_metric="librispeech-test-clean-wer",
            benchmark_value=_WHISPER_WER[_size],
            benchmark_higher_is_better=False,
        )
    )

REGISTRY: dict[str, EncoderSpec] = {spec.name: spec for spec in _SPECS}


def names() -> list[str]:
    return list(REGISTRY)


def get_spec(name: str) -> EncoderSpec:
    """The spec of a registered encoder; raises UnknownEncoderError listing valid names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownEncoderError(name, names()) from None


#: the class that implements each known family, per medium: an entry of one of these
#: families may leave out ``factory`` (see :func:`spec_from_data`)
FACTORIES: dict[tuple[str, str], str] = {
    ("baseline", "visual"): "mediasearch.encoders.baseline_image:BaselineImageEncoder",
    ("baseline", "audio"): "mediasearch.encoders.baseline_audio:BaselineAudioEncoder",
    ("torchvision", "visual"): "mediasearch.encoders.torchvision_resnet:ResNet50Encoder",
    ("open_clip", "visual"): "mediasearch.encoders.siglip:SiglipEncoder",
    ("timm", "visual"): "mediasearch.encoders.timm_backbone:TimmBackboneEncoder",
    ("panns", "audio"): "mediasearch.encoders.panns:PannsCnn14Encoder",
    ("clap", "audio"): "mediasearch.encoders.clap:ClapEncoder",
    ("whisper", "speech"): "mediasearch.encoders.whisper_speech:WhisperSpeechEncoder",
}


def medium(streams: frozenset[Stream]) -> str:
    """"speech", "audio" or "visual": what kind of media an encoder indexes."""
    if Stream.SPEECH in streams:
        return "speech"
    if Stream.AUDIO in streams:
        return "audio"
    return "visual"


def spec_from_data(data: Mapping[str, Any]) -> EncoderSpec:
    """An EncoderSpec from plain data (what a TOML or JSON table holds).

    ``streams`` and ``query_modalities`` may be lists of strings ("image", "frame", "audio",
    "speech"; "image", "text", "audio"), ``models`` a list; ``factory`` may be left out for
    a family in :data:`FACTORIES`. Raises ValueError naming a missing factory.
    """
    fields = dict(data)
    fields["streams"] = frozenset(s if isinstance(s, Stream) else Stream(s) for s in fields["streams"])
    fields["query_modalities"] = frozenset(m if isinstance(m, Modality) else Modality(m) for m in fields["query_modalities"])
    fields["models"] = tuple(fields.get("models", ()))
    if not fields.get("factory"):
        key = (fields["family"], medium(fields["streams"]))
        if key not in FACTORIES:
            known = ", ".join(f"{f}/{m}" for f, m in FACTORIES)
            raise ValueError(f"{fields['name']}: no factory given and family {key[0]!r} has none for {key[1]} (known: {known})")
        fields["factory"] = FACTORIES[key]
    fields.setdefault("description", "")
    fields.setdefault("licence", "")
    fields.setdefault("preprocessing", "")
    return EncoderSpec(**fields)


def register(spec: EncoderSpec | Mapping[str, Any]) -> EncoderSpec:
    """Add an encoder (e.g. another timm backbone) to the registry: an EncoderSpec or its
    plain-data form (see :func:`spec_from_data`). Returns the registered spec."""
    if not isinstance(spec, EncoderSpec):
        spec = spec_from_data(spec)
    REGISTRY[spec.name] = spec
    return spec


# -- entries from files: adding a model of a known family needs no code ---------------------

#: the file a library folder, or the user's config folder, may hold: ``[[encoder]]`` tables,
#: each the plain-data form :func:`spec_from_data` reads
ENCODERS_FILE = "encoders.toml"
#: more such files, separated by os.pathsep
ENCODERS_ENV = "MEDIASEARCH_ENCODERS"
#: the names this module defines itself: a file's entry may not replace one of them
BUILTIN: frozenset[str] = frozenset(REGISTRY)
#: path of the file each entry came from (shown by ``mediasearch encoders``)
ENTRY_SOURCES: dict[str, str] = {}


def load_entries(path: Path) -> list[EncoderSpec]:
    """Register every ``[[encoder]]`` table of the TOML file ``path``; returns their specs.

    Raises EncoderEntryError naming the file and entry (bad TOML, a missing field, an
    unknown family without ``factory``, a built-in name); nothing of a bad file is
    registered.
    """
    import tomllib

    from mediasearch.errors import EncoderEntryError

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EncoderEntryError(path, "", str(exc)) from None
    tables = data.get("encoder", [])
    if not isinstance(tables, list):
        raise EncoderEntryError(path, "", "write each entry as an [[encoder]] table")
    specs = []
    for i, table in enumerate(tables):
        name = str(table.get("name", f"#{i + 1}")) if isinstance(table, dict) else f"#{i + 1}"
        if name in BUILTIN:
            raise EncoderEntryError(path, name, "a built-in encoder has this name; choose another")
        try:
            specs.append(spec_from_data(table))
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise EncoderEntryError(path, name, what) from None
    for spec in specs:
        register(spec)
        ENTRY_SOURCES[spec.name] = str(path)
    return specs


def entry_files(library_dir: Path | None = None) -> list[Path]:
    """The encoders.toml files that exist: ``$MEDIASEARCH_ENCODERS``, the user's config
    folder, and ``library_dir``'s (later files may redefine earlier files' entries)."""
    import os

    candidates = [Path(p) for p in os.environ.get(ENCODERS_ENV, "").split(os.pathsep) if p.strip()]
    try:
        import platformdirs

        candidates.append(Path(platformdirs.user_config_dir("mediasearch", appauthor=False)) / ENCODERS_FILE)
    except ImportError:  # pragma: no cover
        pass
    if library_dir is not None:
        candidates.append(Path(library_dir) / ENCODERS_FILE)
    return [p for p in dict.fromkeys(candidates) if p.is_file()]


def load_entry_files(library_dir: Path | None = None) -> list[EncoderSpec]:
    """Register the entries of every :func:`entry_files` file (EncoderEntryError on a bad one)."""
    return [spec for path in entry_files(library_dir) for spec in load_entries(path)]


def preference_order() -> list[str]:
    """Every registered name, best first: by ``preference`` (lower first), then in
    registration order. Among encoders of one medium this is the default-encoder order."""
    position = {name: i for i, name in enumerate(REGISTRY)}
    return sorted(REGISTRY, key=lambda name: (REGISTRY[name].preference, position[name]))


def specs_for_stream(stream: Stream) -> list[EncoderSpec]:
    return [s for s in REGISTRY.values() if stream in s.streams]


def specs_for_query(modality: Modality) -> list[EncoderSpec]:
    return [s for s in REGISTRY.values() if modality in s.query_modalities]


#: environment variables an encoder reads while it is built (the engine of each tower, the
#: Whisper engine, the transcript text model): defined in onnx_engine (IMAGE_ENGINE_ENV,
#: AUDIO_ENGINE_ENV), sentence_text (ENGINE_ENV, TEXT_MODEL_ENV) and ct2_whisper
#: (ENGINE_ENV); spelled out here so that building a cache key imports none of them
BUILD_ENV = (
    "MEDIASEARCH_IMAGE_ENGINE",
    "MEDIASEARCH_AUDIO_ENGINE",
    "MEDIASEARCH_TEXT_ENGINE",
    "MEDIASEARCH_WHISPER_ENGINE",
    "MEDIASEARCH_TEXT_MODEL",
)
#: the Settings fields an encoder's constructor reads (besides ``model_dir``): a loaded
#: encoder is reused only for equal values. ``allow_download`` and the library's fields
#: are left out: they change where weights come from or what is indexed, not the model.
BUILD_FIELDS = ("precision", "device", "inference_threads", "batch_size", "gpu_batch_size", "audio_window_s", "audio_hop_s")

LoadKey = tuple[str, str, tuple[tuple[str, str], ...]]

_loaded: dict[LoadKey, Encoder] = {}
_lock = threading.Lock()


def load_key(name: str, settings: "Settings") -> LoadKey:
    """What a loaded encoder is cached under: its name, the model dir, and every setting
    and environment variable that changes how it is built (:data:`BUILD_FIELDS`,
    :data:`BUILD_ENV`), so a load with another precision, device, thread count or engine
    builds a new encoder instead of reusing the first one."""
    import os

    values: list[tuple[str, str]] = []
    for field_name in BUILD_FIELDS:
        value = str(getattr(settings, field_name, None))
        if field_name in ("precision", "device"):
            value = value.strip().lower()  # how the encoders read them: "FP32" builds what "fp32" does
        values.append((field_name, value))
    values += [(env, os.environ.get(env, "").strip().lower()) for env in BUILD_ENV]
    return (name, str(settings.model_dir), tuple(values))


def put_loaded(name: str, settings: "Settings", encoder: Encoder) -> None:
    """Keep ``encoder`` as the loaded ``name`` for ``settings``: later :func:`load_encoder`
    calls with equal settings return it (a benchmark's random-init stand-in, for example)."""
    with _lock:
        _loaded[load_key(name, settings)] = encoder


def weights_present(spec: EncoderSpec, settings: "Settings") -> bool:
    """True when every model the encoder needs is installed (cheap: no hashing)."""
    if not spec.models:
        return True
    from mediasearch.modelstore import ModelStore

    store = ModelStore(settings.model_dir)
    return all(store.is_present(m) for m in spec.models)


def load_encoder(name: str, settings: "Settings") -> Encoder:
    """The loaded encoder ``name``, cached per process under :func:`load_key` (model dir,
    the build settings and the engine environment variables).

    Raises UnknownEncoderError, or ModelUnavailableError naming the pull/import command
    when weights are missing (downloading first only if ``settings.allow_download``).
    """
    spec = get_spec(name)
    key = load_key(name, settings)
    with _lock:
        enc = _loaded.get(key)
        if enc is not None:
            return enc
        model_paths: dict[str, Path] = {}
        if spec.models:
            from mediasearch.modelstore import ModelStore

            store = ModelStore(settings.model_dir)
            for model in spec.models:
                model_paths[model] = store.require(model, encoder=name, allow_download=settings.allow_download)
        module_name, _, cls_name = spec.factory.partition(":")
        cls = getattr(importlib.import_module(module_name), cls_name)
        enc = cls(spec, settings, model_paths)
        _loaded[key] = enc
        return enc


def unload_all() -> None:
    """Forget loaded encoders (frees memory; tests use it)."""
    with _lock:
        _loaded.clear()
