"""The numeric path of each torch encoder: fp32, or bf16/fp16 autocast where it is faster and faithful.

``settings.precision`` (``--precision``, ``MEDIASEARCH_PRECISION``; ``MEDIASEARCH_BF16=1``
means ``bf16``) is ``auto``, ``fp32``, ``bf16`` or ``fp16``. Forced values are used as
given. ``auto`` picks a candidate for the device (bf16 autocast on a CPU that computes
bf16 natively, i.e. reports ``avx512_bf16`` or ``amx_bf16``; fp16 autocast on CUDA; none on
MPS) and then *measures* it once on a small fixed calibration batch: the candidate is
kept only if (a) every output row's cosine to the fp32 output is at least
:data:`TOLERANCE` and (b) it is faster than fp32 by at least :data:`MIN_SPEEDUP` (bf16 was
slower than fp32 for ResNet50 on a Xeon with avx512_bf16 but no AMX, so flags alone do
not decide). The outcome is cached in a JSON file keyed by CPU model + flags, torch
version, threads, device, encoder component, weights sha256 (or ``random-init``) and
candidate, in the model store (or the user cache dir when the store is read-only).

Importing this module imports neither torch nor numpy-heavy code paths beyond numpy;
:func:`autocast` and :func:`decide` import torch when called.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mediasearch.errors import MediaSearchError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
#: minimum cosine between a candidate's output row and the fp32 row of the same input
TOLERANCE = 0.999
#: the candidate must run at least this many times faster than fp32 to be chosen
MIN_SPEEDUP = 1.05
#: timed passes per path (the best is kept), after one untimed warm-up pass
REPEATS = 2
CACHE_FILE = "precision-cache.json"
CACHE_VERSION = 1
RANDOM_INIT = "random-init"

#: CPU flags that matter for the numeric path (recorded in the cache key and reports)
RELEVANT_FLAGS = frozenset(
    {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"}
)
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


# -- what the CPU can do ------------------------------------------------------------------


@dataclass(frozen=True)
class CpuInfo:
    """The CPU as far as the numeric path cares: model name, relevant flags, native bf16 and AMX."""

    model: str
    flags: frozenset[str]
    bf16_native: bool
    amx: bool
    source: str  # "/proc/cpuinfo" or "torch"

    def signature(self) -> str:
        """Model name and sorted relevant flags, the CPU part of a cache key."""
        return f"{self.model} [{' '.join(sorted(self.flags))}]"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "flags": sorted(self.flags),
            "bf16_native": self.bf16_native,
            "amx": self.amx,
            "source": self.source,
        }


def cpu_from_flags(model: str, flags: frozenset[str] | set[str], *, source: str = "/proc/cpuinfo") -> CpuInfo:
    """A CpuInfo from a model name and flag set (tests simulate other CPUs with it)."""
    relevant = frozenset(flags) & RELEVANT_FLAGS
    amx = {"amx_tile", "amx_bf16"} <= relevant
    return CpuInfo(model=model, flags=relevant, bf16_native=bool(relevant & _BF16_FLAGS), amx=amx, source=source)


def _read_proc_cpuinfo() -> tuple[str, frozenset[str]] | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    model, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:  # x86, ARM
            flags = frozenset(value.split())
    return model or platform.processor() or platform.machine(), flags


@lru_cache(maxsize=1)
def cpu_info() -> CpuInfo:
    """This machine's CPU: /proc/cpuinfo on Linux, else torch's oneDNN capability check."""
    found = _read_proc_cpuinfo()
    if found is not None and found[1]:
        return cpu_from_flags(*found)
    model = platform.processor() or platform.machine()
    bf16 = False
    try:
        import torch

        bf16 = bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # pragma: no cover - torch without the check
        bf16 = False
    return CpuInfo(model=model, flags=frozenset(), bf16_native=bf16, amx=False, source="torch")


# -- what was asked for -------------------------------------------------------------------


class PrecisionSettingError(MediaSearchError, ValueError):
    """The precision setting (``--precision``, ``MEDIASEARCH_PRECISION``) names no known path."""

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(f"unknown precision {value!r}; choose one of {', '.join(PRECISION_CHOICES)}")


def normalise_precision(value: str | None) -> str:
    """A valid precision name (``auto`` for None/empty); raises PrecisionSettingError (a ValueError) listing the choices."""
    name = (value or "auto").strip().lower()
    aliases = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16"}
    name = aliases.get(name, name)
    if name not in PRECISION_CHOICES:
        raise PrecisionSettingError(value)
    return name


def candidate_for(device_type: str, cpu: CpuInfo | None = None) -> str | None:
    """The reduced-precision path worth trying on a device type, or None."""
    if device_type == "cuda":
        return "fp16"
    if device_type == "cpu":
        return "bf16" if (cpu or cpu_info()).bf16_native else None
    return None


def autocast(device: "torch.device | str", precision: str) -> contextlib.AbstractContextManager:
    """torch autocast for ``precision`` on ``device`` (a no-op context for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    device_type = device if isinstance(device, str) else device.type
    return torch.autocast(device_type, dtype=dtype)


# -- the decision -------------------------------------------------------------------------


@dataclass
class PrecisionDecision:
    """The numeric path an encoder component runs on, and why.

    ``source``: ``forced`` (setting), ``no-candidate`` (nothing to try on this device/CPU),
    ``calibrated`` (measured now) or ``cached`` (measured earlier on this machine).
    ``min_cosine``: worst row cosine of the candidate to fp32; ``*_items_s``: items per
    second of the calibration batch on each path.
    """

    precision: str
    device: str
    source: str
    reason: str
    candidate: str | None = None
    min_cosine: float | None = None
    fp32_items_s: float | None = None
    candidate_items_s: float | None = None
    key: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def torch_version() -> str:
    """torch's installed version (from package metadata: no import)."""
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "absent"


def fallback_cache_dir() -> Path:
    """The user cache dir, used when the model store cannot be written."""
    import platformdirs

    from mediasearch.config import APP_NAME

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def writable_folder(folder: Path) -> bool:
    """True when ``folder`` (or, if absent, its parent) may be written: access allowed *and*
    some write permission bit set, so a folder marked read-only is left alone even by root."""
    folder = Path(folder)
    target = folder if folder.exists() else folder.parent
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return target.is_dir() and os.access(target, os.W_OK) and bool(mode & 0o222)


def cache_path(settings: Settings) -> Path:
    """The decision cache: in the model store when it is writable, else the user cache dir."""
    store = Path(settings.model_dir)
    if writable_folder(store):
        return store / CACHE_FILE
    return fallback_cache_dir() / CACHE_FILE


class DecisionCache:
    """The JSON file of decisions and weights digests (atomic writes; a damaged file is ignored)."""

    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"version": CACHE_VERSION, "decisions": {}, "digests": {}}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {"version": CACHE_VERSION, "decisions": {}, "digests": {}}
        data.setdefault("decisions", {})
        data.setdefault("digests", {})
        return data

    def update(self, section: str, key: str, value: dict[str, Any]) -> None:
        """Set one entry and write the file back (best effort: a read-only disk only logs)."""
        with self._lock:
            data = self.load()
            data[section][key] = value
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
                os.replace(tmp, self.path)
            except OSError as exc:
                logger.warning("cannot write the precision cache %s: %s", self.path, exc)


def weights_digest(path: Path | None, cache: DecisionCache) -> str:
    """sha256 of a weights file (hashed once, then remembered by path, size and mtime), or ``random-init``."""
    if path is None:
        return RANDOM_INIT
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError:  # weights that came from elsewhere (a test's stand-in): key by the path
        return f"unreadable:{path}"
    memo_key = str(path)
    memo = cache.load()["digests"].get(memo_key)
    if memo and memo.get("size") == stat.st_size and memo.get("mtime_ns") == stat.st_mtime_ns:
        return str(memo["sha256"])
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    sha = digest.hexdigest()
    cache.update("digests", memo_key, {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha})
    return sha


def decision_key(*, component: str, weights: str, candidate: str, device: str, threads: int, cpu: CpuInfo) -> dict[str, str]:
    """What a measured decision depends on."""
    return {
        "cpu": cpu.signature(),
        "torch": torch_version(),
        "threads": str(threads),
        "device": device,
        "component": component,
        "weights": weights,
        "candidate": candidate,
    }


def _key_id(key: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def min_row_cosine(reference: np.ndarray, candidate: np.ndarray) -> float:
    """The smallest cosine between matching rows of two (n, d) arrays."""
    ref = np.asarray(reference, np.float64).reshape(len(reference), -1)
    cand = np.asarray(candidate, np.float64).reshape(len(candidate), -1)
    num = (ref * cand).sum(axis=1)
    den = np.linalg.norm(ref, axis=1) * np.linalg.norm(cand, axis=1)
    return float(np.min(num / np.maximum(den, 1e-30)))


def _best_time(run: Callable[[str], np.ndarray], precision: str, repeats: int) -> tuple[np.ndarray, float]:
    out = run(precision)  # warm-up: allocations, oneDNN kernel selection
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        out = run(precision)
        best = min(best, time.perf_counter() - start)
    return np.asarray(out, dtype=np.float32), best


def measure(
    run: Callable[[str], np.ndarray], candidate: str, items: int, *, repeats: int = REPEATS
) -> tuple[float, float, float]:
    """(min cosine to fp32, fp32 items/s, candidate items/s) of ``run`` on its calibration batch.

    ``run(precision)`` runs the fixed calibration batch of ``items`` items and returns its
    (items, d) outputs as a CPU array (which also waits for a GPU to finish).
    """
    reference, fp32_s = _best_time(run, "fp32", repeats)
    outputs, cand_s = _best_time(run, candidate, repeats)
    return min_row_cosine(reference, outputs), items / fp32_s, items / cand_s


def decide(
    settings: Settings,
    *,
    component: str,
    device: "torch.device",
    run: Callable[[str], np.ndarray],
    items: int,
    weights_path: Path | None = None,
    cpu: CpuInfo | None = None,
    tolerance: float = TOLERANCE,
    min_speedup: float = MIN_SPEEDUP,
    repeats: int = REPEATS,
) -> PrecisionDecision:
    """The precision ``component`` (e.g. ``resnet50``, ``siglip-vit-b16/text``) runs at on ``device``.

    Forced settings are returned as they are; ``auto`` measures the device's candidate
    once (see the module docstring) and reuses the cached outcome afterwards.
    """
    import torch

    requested = normalise_precision(settings.precision)
    cpu = cpu or cpu_info()
    device_name = str(device)
    if device.type == "cuda":
        device_name = f"{device}:{torch.cuda.get_device_name(device)}"
    if requested != "auto":
        reason = f"set to {requested} (--precision, MEDIASEARCH_PRECISION or the settings)"
        if requested == "bf16" and device.type == "cpu" and not cpu.bf16_native:
            reason += "; this CPU has no native bf16 (avx512_bf16/amx_bf16), so it is emulated and likely slower"
        return PrecisionDecision(requested, device_name, "forced", reason)
    candidate = candidate_for(device.type, cpu)
    if candidate is None:
        why = (
            "this CPU has no native bf16 (no avx512_bf16 or amx_bf16 flag)"
            if device.type == "cpu"
            else f"no reduced-precision path is tried on {device.type}"
        )
        return PrecisionDecision("fp32", device_name, "no-candidate", why)

    cache = DecisionCache(cache_path(settings))
    key = decision_key(
        component=component,
        weights=weights_digest(weights_path, cache),
        candidate=candidate,
        device=device_name,
        threads=torch.get_num_threads(),
        cpu=cpu,
    )
    key_id = _key_id(key)
    cached = cache.load()["decisions"].get(key_id)
    if cached:
        try:
            decision = PrecisionDecision(**{**cached, "source": "cached"})
            logger.debug("%s: cached precision %s (%s)", component, decision.precision, decision.reason)
            return decision
        except TypeError:  # an older record layout: measure again
            pass

    start = time.perf_counter()
    cosine, fp32_rate, cand_rate = measure(run, candidate, items, repeats=repeats)
    faithful = cosine >= tolerance
    faster = cand_rate >= fp32_rate * min_speedup
    chosen = candidate if faithful and faster else "fp32"
    verdict = (
        f"{candidate} {cand_rate:.1f} vs fp32 {fp32_rate:.1f} items/s ({cand_rate / fp32_rate:.2f}x, needs {min_speedup:.2f}x), "
        f"min cosine {cosine:.6f} (needs {tolerance})"
    )
    reason = f"measured: {verdict}: " + (
        f"{candidate} chosen" if chosen == candidate else "fp32 kept: " + ("not faithful enough" if not faithful else "not faster")
    )
    decision = PrecisionDecision(
        chosen, device_name, "calibrated", reason, candidate, round(cosine, 7), round(fp32_rate, 2), round(cand_rate, 2), key
    )
    cache.update("decisions", key_id, {k: v for k, v in decision.to_json().items()})
    logger.info("%s: %s (calibration took %.1f s)", component, reason, time.perf_counter() - start)
    return decision


def cached_decisions(settings: Settings, component_prefix: str) -> list[dict[str, Any]]:
    """Decisions already measured on this machine and torch version for components starting
    with ``component_prefix`` (cheap: reads the cache file, imports nothing)."""
    cpu = cpu_info()
    out = []
    for record in DecisionCache(cache_path(settings)).load()["decisions"].values():
        key = record.get("key") or {}
        if key.get("cpu") == cpu.signature() and key.get("torch") == torch_version():
            if str(key.get("component", "")).split("/")[0] == component_prefix:
                out.append(record)
    return sorted(out, key=lambda r: (r["key"].get("component", ""), r["key"].get("device", "")))


# -- calibration inputs -------------------------------------------------------------------


def calibration_images(n: int = 4, size: int = 256) -> list:
    """``n`` fixed RGB PIL images (size x size): smooth colour fields with shapes and texture.

    Deterministic, so every machine calibrates on the same inputs.
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(20261201)
    images = []
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        base = np.stack(
            [np.sin(2 * np.pi * (xx * (i + 1) + 0.3 * c)) * 0.5 + 0.5 + 0.1 * yy * c for c in range(3)], axis=-1
        )
        pixels = np.clip(base * 200 + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        image = Image.fromarray(pixels, "RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x0, y0 = rng.integers(0, size - 40, 2)
            w, h = rng.integers(20, size // 2, 2)
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape([int(x0), int(y0), int(x0 + w), int(y0 + h)], fill=colour)
        images.append(image)
    return images


CALIBRATION_TEXTS = (
    "a dog running on the beach at sunset",
    "the quarterly budget meeting has been moved to Thursday afternoon",
    "how do I reset my password",
    "rain on a tin roof",
)


def calibration_waveforms(n: int = 2, seconds: float = 5.0, sr: int = 32_000) -> np.ndarray:
    """(n, seconds * sr) float32: fixed chirps, tones and noise bursts at ``sr`` Hz."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * sr)) / sr
    rows = []
    for i in range(n):
        chirp = np.sin(2 * np.pi * (200 + 300 * i) * t * (1 + t))
        tone = 0.3 * np.sin(2 * np.pi * 440 * (i + 1) * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)
        noise = 0.1 * rng.standard_normal(t.size)
        rows.append(0.4 * chirp + tone + noise)
    return np.asarray(rows, dtype=np.float32)


# -- what `mediasearch encoders --json` shows ---------------------------------------------


def _cuda_visible() -> bool | None:
    """Whether CUDA is usable, asked of torch only when torch is already imported (else None)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return None
    return bool(torch.cuda.is_available())


def report(spec: Any, settings: Settings) -> dict[str, Any]:
    """What numeric path an encoder runs on and why, without loading it or importing torch.

    Weight-free (baseline) encoders run NumPy in fp32. For torch encoders: the settings,
    the CPU's bf16 capability, the candidate ``auto`` would try on the CPU, and every
    decision already measured on this machine for the encoder (and its text model).
    """
    if spec.family == "baseline":
        return {"engine": "numpy", "precision": "fp32", "reason": "weight-free NumPy descriptor"}
    try:
        requested = normalise_precision(settings.precision)
    except ValueError as exc:
        requested = f"invalid ({exc})"
    cpu = cpu_info()
    components = [spec.name, *[m for m in getattr(spec, "models", ()) if m.startswith(("all-", "paraphrase-"))]]
    decisions = [d for name in components for d in cached_decisions(settings, name)]
    engine = "torch"
    if any(d.get("engine") == "onnxruntime" for d in decisions) and requested == "auto":
        engine = "onnxruntime (fp32)"
    if spec.family == "whisper":
        import importlib.util

        from mediasearch.encoders import ct2_whisper

        text_engine = "onnxruntime (fp32)" if importlib.util.find_spec("onnxruntime") else "torch"
        try:
            whisper_engine, whisper_why = ct2_whisper.resolve_engine(dict(getattr(spec, "options", {}) or {}))
        except ValueError as exc:
            whisper_engine, whisper_why = "invalid", str(exc)
        label = {"ctranslate2": "CTranslate2 (faster-whisper, int8)", "openai": "openai-whisper (torch, fp32)"}.get(whisper_engine, whisper_engine)
        engine = f"{label} for transcription ({whisper_why}); sentence model on {text_engine}"
    if spec.family == "whisper" and requested in ("bf16", "fp16"):
        reason = f"{engine}; {requested} refused for Whisper: openai-whisper rejects bf16 audio features, CTranslate2 runs int8"
    elif requested not in ("auto",) and not requested.startswith("invalid"):
        reason = f"forced to {requested} by the settings"
    elif spec.family == "whisper" and not decisions:
        reason = (
            f"{engine}; bf16 not used for transcription (openai-whisper rejects bf16 audio features, CTranslate2 runs int8); "
            "the sentence model's path is measured on first use where it runs on torch"
        )
    elif decisions:
        reason = "; ".join(f"{d['key'].get('component')} on {d['device']}: {d['reason']}" for d in decisions)
    elif not cpu.bf16_native:
        reason = "fp32 on the CPU: no native bf16 (avx512_bf16/amx_bf16); fp16 autocast is measured on first use on CUDA"
    else:
        reason = "not measured yet: fp32 vs bf16 autocast is measured on the first load on this machine and cached"
    chosen = sorted({d["precision"] for d in decisions}) if requested == "auto" else [requested]
    return {
        "engine": engine,
        "precision_setting": requested,
        "device_setting": settings.device,
        "cuda_available": _cuda_visible(),
        "cpu": cpu.to_json(),
        "cpu_candidate": candidate_for("cpu", cpu),
        "chosen": chosen,
        "reason": reason,
        "decisions": decisions,
        "cache": str(cache_path(settings)),
    }
