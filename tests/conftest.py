"""Shared fixtures: an isolated library per test, the real-weights folder, offline guards."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MODELS = REPO.parent / "shared" / "models"

# Tests never reach a hub: every library that could is told to stay offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("MEDIASEARCH_ALLOW_DOWNLOAD", None)
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def shared_models() -> Path:
    """../shared/models (real Whisper tiny.en, all-MiniLM-L6-v2, EfficientNet-Lite0); skip when absent."""
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"real weights folder {SHARED_MODELS} not present")
    return SHARED_MODELS


@pytest.fixture
def settings(tmp_path: Path):
    """Settings for a fresh library in tmp_path, with an empty model store of its own."""
    from mediasearch.config import Settings

    return Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models", batch_size=4)


@pytest.fixture
def library(settings):
    from mediasearch.library import Library

    lib = Library(settings)
    yield lib
    lib.close()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the user's real library or model store."""
    monkeypatch.setenv("MEDIASEARCH_HOME", str(tmp_path / "default-library"))
    monkeypatch.setenv("MEDIASEARCH_MODEL_DIR", str(tmp_path / "default-models"))
    # caches the code keeps in the user cache folder (precision decisions, ONNX graphs of
    # read-only model folders) are per test too: no test may depend on another's leftovers
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
