"""The encoder registry is data: one plain-data entry of a known family makes a new encoder listed, ranked and loadable, and the default-encoder order comes from the entries' preference ranks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio_factory import chirp, write_audio
from mediasearch.config import Settings
from mediasearch.encoders import registry
from mediasearch.media import MediaKind, Modality, Stream


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(library_dir=tmp_path / "lib", model_dir=tmp_path / "models")


@pytest.fixture()
def scratch_registry():
    """Entries added by a test are taken out again (and loaded encoders forgotten)."""
    before = dict(registry.REGISTRY)
    yield registry
    registry.REGISTRY.clear()
    registry.REGISTRY.update(before)
    registry.unload_all()


def test_preference_order_ranks_each_medium() -> None:
    order = registry.preference_order()
    assert sorted(order) == sorted(registry.names())
    visual = [n for n in order if registry.medium(registry.get_spec(n).streams) == "visual"]
    audio = [n for n in order if registry.medium(registry.get_spec(n).streams) == "audio"]
    speech = [n for n in order if registry.medium(registry.get_spec(n).streams) == "speech"]
    assert visual == [
        "siglip-vit-b16", "siglip2-vit-b16-256", "clip-vit-l14", "clip-vit-b32", "resnet50",
        "dinov2-vit-b14", "dinov2-vit-s14", "efficientnet-lite0", "baseline-image",
    ]
    assert audio == ["clap-htsat", "panns-cnn14", "baseline-audio", "fingerprint-audio"]
    assert speech[:2] == ["whisper-medium", "whisper-medium.en"] and speech[-1] == "whisper-tiny.en"


def test_every_entry_says_what_it_is() -> None:
    for spec in registry.REGISTRY.values():
        record = spec.to_json()
        assert record["dimension"] == spec.dim > 0 and record["metric"] == "cosine"
        assert record["hosting"] in {"self-hosted", "api"} and isinstance(record["preference"], int)
        assert spec.licence and spec.description and spec.preprocessing, spec.name
        module, _, cls = spec.factory.partition(":")
        assert module.startswith("mediasearch.encoders.") and cls, spec.name


def test_one_entry_of_a_known_family_is_a_usable_encoder(scratch_registry, settings: Settings, tmp_path: Path) -> None:
    entry = {  # what a table in a config file would hold: no factory, strings for enums
        "name": "baseline-audio-5s",
        "family": "baseline",
        "streams": ["audio"],
        "query_modalities": ["audio"],
        "dim": registry.get_spec("baseline-audio").dim,
        "sample_rate": 16_000,
        "options": {"window_s": 5.0, "hop_s": 2.5},
        "preference": 80,
        "description": "baseline-audio on 5 s windows",
        "licence": "Apache-2.0 (this project)",
        "preprocessing": "as baseline-audio",
    }
    spec = scratch_registry.register(entry)
    assert spec.factory == registry.FACTORIES[("baseline", "audio")]
    assert "baseline-audio-5s" in registry.names()
    assert spec in registry.specs_for_stream(Stream.AUDIO) and spec in registry.specs_for_query(Modality.AUDIO)
    order = registry.preference_order()
    assert order.index("panns-cnn14") < order.index("baseline-audio-5s") < order.index("baseline-audio")

    encoder = registry.load_encoder("baseline-audio-5s", settings)
    path = write_audio(tmp_path / "sweep.flac", chirp(200, 3000, 12.0))
    segments = encoder.encode_asset(path, MediaKind.AUDIO).segments
    assert [(s.start_s, s.end_s) for s in segments][:2] == [(0.0, 5.0), (2.5, 7.5)]
    assert all(abs(float(np.linalg.norm(s.vector)) - 1.0) < 1e-5 for s in segments)


def test_an_entry_without_a_known_factory_is_refused(scratch_registry) -> None:
    with pytest.raises(ValueError, match="no factory"):
        scratch_registry.register(
            {"name": "x", "family": "nobody", "streams": ["image"], "query_modalities": ["image"], "dim": 8}
        )
    assert "x" not in registry.names()
