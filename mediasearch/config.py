"""Settings: where the library and the model store live, and indexing knobs.

The library folder defaults to the platform's user data dir and is overridden by
``MEDIASEARCH_HOME`` (or ``--library``); the model store defaults to the platform's
user cache dir and is overridden by ``MEDIASEARCH_MODEL_DIR``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

APP_NAME = "mediasearch"


def default_library_dir() -> Path:
    """The library folder: ``$MEDIASEARCH_HOME`` or the platform user data dir."""
    env = os.environ.get("MEDIASEARCH_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_model_dir() -> Path:
    """The model store: ``$MEDIASEARCH_MODEL_DIR`` or the platform user cache dir."""
    env = os.environ.get("MEDIASEARCH_MODEL_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "models"


def allow_download_default() -> bool:
    """Whether encoders may download missing weights without being asked (``MEDIASEARCH_ALLOW_DOWNLOAD=1``)."""
    return os.environ.get("MEDIASEARCH_ALLOW_DOWNLOAD", "").lower() in {"1", "true", "yes"}


def default_precision() -> str:
    """The numeric path setting: ``$MEDIASEARCH_PRECISION`` (auto|fp32|bf16|fp16), else
    ``bf16`` when the older ``MEDIASEARCH_BF16=1`` is set, else ``auto`` (measured per machine)."""
    env = os.environ.get("MEDIASEARCH_PRECISION", "").strip().lower()
    if env:
        return env
    if os.environ.get("MEDIASEARCH_BF16", "").strip().lower() in {"1", "true", "yes", "on"}:
        return "bf16"
    return "auto"


def default_device() -> str:
    """The inference device setting: ``$MEDIASEARCH_DEVICE`` (auto|cpu|cuda|mps), else ``auto``."""
    return os.environ.get("MEDIASEARCH_DEVICE", "").strip().lower() or "auto"


@dataclass(frozen=True)
class Settings:
    """Everything a job needs to know that is not in the catalog.

    Times are in seconds. ``threads`` None means "all cores but one" (one decodes).
    """

    library_dir: Path = field(default_factory=default_library_dir)
    model_dir: Path = field(default_factory=default_model_dir)
    frame_interval_s: float = 2.0
    #: mean absolute difference (0-255 scale, on a 32x32 grey thumbnail) under which a
    #: video frame counts as a near-duplicate of the previous kept frame and is dropped
    frame_dedup_threshold: float = 3.0
    audio_window_s: float = 10.0
    audio_hop_s: float = 5.0
    batch_size: int = 8
    threads: int | None = None
    include_hidden: bool = False
    allow_download: bool = field(default_factory=allow_download_default)
    #: Pillow's decompression-bomb limit, in pixels: bigger images are skipped with a reason
    max_image_pixels: int = 120_000_000
    #: torch encoders' numeric path: auto (measured once per machine and encoder), fp32, bf16, fp16
    precision: str = field(default_factory=default_precision)
    #: torch encoders' device: auto (CUDA, then MPS, then CPU), cpu, cuda, mps
    device: str = field(default_factory=default_device)
    #: inference batch size on a GPU (``batch_size`` still applies on the CPU)
    gpu_batch_size: int = 64
    #: vector index per encoder: "auto" (flat below a measured size, HNSW above), "flat" or "hnsw"
    index_type: str = "auto"
    #: seconds between checkpoints of an index run (each commits the vectors since the last)
    checkpoint_s: float = field(default_factory=lambda: float(os.environ.get("MEDIASEARCH_CHECKPOINT_S", "2.0")))
    #: who is judging (judgements carry it); None: MEDIASEARCH_RATER, else the OS user name
    rater: str | None = None

    def with_(self, **changes: object) -> "Settings":
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def inference_threads(self) -> int:
        """Torch threads: ``threads``, or all cores but one (the pipeline decodes on its own thread;
        torch's OpenMP workers collapse when they share a core: on 2 cores with the other one busy,
        EfficientNet-Lite0 indexed 3.0 img/s with 2 threads and 9.8 with 1)."""
        return int(self.threads or max(1, (os.cpu_count() or 1) - 1))

    @property
    def catalog_path(self) -> Path:
        return self.library_dir / "catalog.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.library_dir / "index"

    @property
    def queries_dir(self) -> Path:
        """Copies of saved queries' example files."""
        return self.library_dir / "queries"

    @property
    def thumbs_dir(self) -> Path:
        return self.library_dir / "thumbs"
