"""What every encoder is and offers.

An :class:`EncoderSpec` says what an encoder is without importing anything heavy; an
:class:`Encoder` is the loaded model. Every vector an encoder returns is
``(n, spec.dim) float32``, L2-normalised, so inner product = cosine similarity.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from mediasearch.errors import EncoderCapabilityError
from mediasearch.media import Modality, Stream

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from mediasearch.config import Settings
    from mediasearch.library import Library
    from mediasearch.media import MediaKind
    from mediasearch.progress import CancelToken
    from mediasearch.search import Query


@dataclass(frozen=True)
class EncoderSpec:
    """What an encoder is: the registry's record, cheap to build and to list.

    ``streams``: the segment streams it indexes ({IMAGE, FRAME}: stills and video frames;
    {AUDIO}: audio files and soundtracks; {SPEECH}: transcripts).
    ``query_modalities``: what a query may be (image, text, audio).
    ``models``: names of model-store entries (models/manifest.toml) it needs.
    ``factory``: "module:Class", imported only when the encoder is first loaded.
    ``image_size``: the square input side in pixels (lets decoders shrink JPEGs early).
    ``sample_rate``: audio input rate in Hz.
    ``preference``: rank among encoders of the same media (lower first); the default
    encoder for a query is the best-ranked one indexed (see ``registry.preference_order``).
    ``benchmark``: a published figure with its source ("" when none is quoted).
    ``benchmark_metric`` / ``benchmark_value``: the same figure as data, so reports can rank
    encoders by it (e.g. "imagenet-top1" 80.858, in the metric's own unit); encoders are
    comparable only when the metric is the same. ``benchmark_higher_is_better`` is False for
    error rates such as "librispeech-test-clean-wer".
    ``hosting``: "self-hosted" (runs here) or "api" (sends data to a remote service).
    """

    name: str
    family: str
    streams: frozenset[Stream]
    query_modalities: frozenset[Modality]
    dim: int
    factory: str
    description: str
    licence: str
    preprocessing: str
    models: tuple[str, ...] = ()
    metric: str = "cosine"
    image_size: int | None = None
    sample_rate: int | None = None
    options: Mapping[str, object] = field(default_factory=dict)
    preference: int = 1000
    benchmark: str = ""
    benchmark_metric: str = ""
    benchmark_value: float | None = None
    benchmark_higher_is_better: bool = True
    hosting: str = "self-hosted"

    @property
    def needs_weights(self) -> bool:
        return bool(self.models)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "streams": sorted(s.value for s in self.streams),
            "modalities": sorted(m.value for m in self.query_modalities),
            "dimension": self.dim,
            "metric": self.metric,
            "models": list(self.models),
            "licence": self.licence,
            "description": self.description,
            "preprocessing": self.preprocessing,
            "preference": self.preference,
            "benchmark": self.benchmark,
            "benchmark_metric": self.benchmark_metric,
            "benchmark_value": self.benchmark_value,
            "benchmark_higher_is_better": self.benchmark_higher_is_better,
            "hosting": self.hosting,
        }


@dataclass
class EncodedSegment:
    """One indexed piece produced by an asset encoder: a window or transcript segment.

    Times in seconds; ``vector`` (dim,) float32 L2-normalised; ``labels`` best first.
    """

    start_s: float
    end_s: float
    vector: np.ndarray
    text: str | None = None
    labels: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class AssetEncoding:
    """What an asset encoder made of one file. ``media_s``: seconds of audio processed (the
    real decoded length); ``transcript``: (language, full text) for speech encoders."""

    segments: list[EncodedSegment]
    media_s: float = 0.0
    transcript: tuple[str | None, str] | None = None
    #: why a truncated file's audio stops early (what decoded is kept), None for a whole file
    partial: str | None = None


class Encoder(ABC):
    """A loaded encoder. Subclasses override the ``embed_*`` methods they support.

    Constructed by the registry as ``cls(spec, settings, model_paths)`` where
    ``model_paths`` maps each of ``spec.models`` to its installed path in the model store.
    """

    def __init__(self, spec: EncoderSpec, settings: "Settings", model_paths: Mapping[str, Path]) -> None:
        self.spec = spec
        self.settings = settings
        self.model_paths = dict(model_paths)

    @property
    def name(self) -> str:
        return self.spec.name

    def embed_images(self, images: Sequence["Image.Image"]) -> np.ndarray:
        """RGB PIL images -> (n, dim) float32, L2-normalised."""
        raise EncoderCapabilityError(self.name, Modality.IMAGE.value, [m.value for m in self.spec.query_modalities])

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Query strings -> (n, dim) float32, L2-normalised."""
        raise EncoderCapabilityError(self.name, Modality.TEXT.value, [m.value for m in self.spec.query_modalities])

    def embed_audio(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Mono float32 waveforms at ``spec.sample_rate`` (each (samples,)) -> (n, dim) float32, L2-normalised."""
        raise EncoderCapabilityError(self.name, Modality.AUDIO.value, [m.value for m in self.spec.query_modalities])


    # -- hooks for encoders that own their segments (audio windows, transcripts) ------
    #: True for encoders that cut files into their own segments via ``encode_asset``
    #: (audio, speech); False for visual encoders, fed decoded images by the pipeline.
    owns_segments: bool = False

    def encode_asset(self, path: Path, kind: "MediaKind", *, cancel: "CancelToken | None" = None) -> AssetEncoding:
        """Decode and encode one audio file or video soundtrack into segments.

        Raises UnsupportedMediaError / DecodeError (recorded as a skip with the reason);
        a video without an audio stream gives an empty AssetEncoding.
        """
        raise NotImplementedError(f"{self.name} does not encode whole assets")


def l2_normalise(vectors: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length: (n, d) -> (n, d) float32 (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, eps)).astype(np.float32, copy=False)
