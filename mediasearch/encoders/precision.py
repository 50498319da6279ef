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
from collections.abc import Callable, Collection, Iterable
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


def cached_decisions(
    settings: Settings,
    component_prefix: str,
    *,
    weights: Collection[str] | None = None,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Decisions already measured on this machine and torch version for components starting
    with ``component_prefix`` (cheap: reads the cache file, imports nothing).

    Only records made with ``threads`` threads (default ``settings.inference_threads``, what
    a run with these settings uses) count, and, when ``weights`` is given, only those made
    for one of these weights digests: a record for other weights or another thread count
    says nothing about what a run would choose now.
    """
    cpu = cpu_info()
    want_threads = str(settings.inference_threads if threads is None else threads)
    allowed = None if weights is None else set(weights)
    out = []
    for record in DecisionCache(cache_path(settings)).load()["decisions"].values():
        key = record.get("key") or {}
        if key.get("cpu") != cpu.signature() or key.get("torch") != torch_version():
            continue
        if str(key.get("component", "")).split("/")[0] != component_prefix:
            continue
        if str(key.get("threads")) != want_threads or (allowed is not None and key.get("weights") not in allowed):
            continue
        out.append(record)
    return sorted(out, key=lambda r: (r["key"].get("component", ""), r["key"].get("device", ""), r["key"].get("candidate", "")))


def known_digests(settings: Settings, paths: Iterable[Path]) -> set[str]:
    """The sha256 digests :func:`weights_digest` remembered for files at or under ``paths``
    (a weights file or a model folder) whose size and mtime still match the file on disk.

    Nothing is hashed: weights that were never loaded on this machine have no digest yet,
    and so no decision either.
    """
    roots = []
    for path in paths:
        try:
            roots.append(Path(path).resolve())
        except OSError:  # pragma: no cover - a path that cannot be resolved has no memo
            continue
    found = set()
    for memo_path, memo in DecisionCache(cache_path(settings)).load()["digests"].items():
        file = Path(memo_path)
        if not any(file == root or root in file.parents for root in roots):
            continue
        try:
            stat = file.stat()
        except OSError:
            continue
        if isinstance(memo, dict) and memo.get("size") == stat.st_size and memo.get("mtime_ns") == stat.st_mtime_ns:
            found.add(str(memo["sha256"]))
    return found


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


#: the environment variable that picks ONNX Runtime or torch for each family's towers
#: (mediasearch.encoders.onnx_engine; CLAP has no ONNX path)
_ENGINE_ENV = {
    "torchvision": "MEDIASEARCH_IMAGE_ENGINE",
    "timm": "MEDIASEARCH_IMAGE_ENGINE",
    "open_clip": "MEDIASEARCH_IMAGE_ENGINE",
    "panns": "MEDIASEARCH_AUDIO_ENGINE",
}
#: the calibrated components (towers) of each family, as suffixes of the encoder's name
_TOWERS = {"open_clip": ("/image", "/text"), "clap": ("/audio", "/text")}


def _wanted_device(settings: Settings) -> str | None:
    """The device type a run with ``settings`` uses, when it is known without importing torch."""
    device = str(settings.device or "auto").strip().lower().partition(":")[0]
    if device != "auto":
        return device
    cuda = _cuda_visible()
    return None if cuda is None else "cuda" if cuda else None


def _onnx_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def _engine_env_value(env: str) -> str:
    value = os.environ.get(env, "").strip().lower() or "auto"
    return value if value in ("auto", "torch", "onnx") else f"invalid ({env}={value!r}; choose auto, torch or onnx)"


def _torch_path(component: str, records: list[dict[str, Any]], requested: str, cpu: CpuInfo, device: str | None) -> tuple[list[str], str]:
    """(the torch precision(s) ``component`` runs at, why) from the settings and its records."""
    if requested != "auto":
        return [requested], f"forced to {requested} by the settings"
    if records:
        return sorted({str(r["precision"]) for r in records}), "; ".join(f"on {r['device']}: {r['reason']}" for r in records)
    if device in (None, "cpu") and candidate_for("cpu", cpu) is None:
        return ["fp32"], "fp32 on the CPU: no native bf16 (avx512_bf16/amx_bf16)"
    if device == "mps":
        return ["fp32"], "fp32: no reduced-precision path is tried on mps"
    return [], "not measured yet: fp32 vs the device's candidate (bf16 on this CPU, fp16 on CUDA) is measured on the first load and cached"


def _component(
    component: str, records: list[dict[str, Any]], *, requested: str, env: str | None, cpu: CpuInfo, device: str | None
) -> dict[str, Any]:
    """The engine and precision one tower runs on with these settings, and why."""
    torch_records = [r for r in records if r["key"].get("component") == component and not str(r["key"].get("candidate", "")).startswith("onnx-vs-")]
    onnx_records = [r for r in records if r["key"].get("component") == component and str(r["key"].get("candidate", "")).startswith("onnx-vs-")]
    precisions, why = _torch_path(component, torch_records, requested, cpu, device)
    used = torch_records
    engine, engine_why = "torch", ""
    setting = _engine_env_value(env) if env else None
    if env is None:
        engine_why = "torch only (no ONNX Runtime path for this model)"
    elif setting.startswith("invalid"):
        engine, engine_why = "invalid", setting
    elif setting == "torch":
        engine_why = f"{env}=torch"
    elif setting == "onnx":
        engine, engine_why = ("onnxruntime", f"{env}=onnx") if _onnx_installed() else ("torch", f"{env}=onnx, but onnxruntime is not installed")
    elif requested in ("bf16", "fp16"):
        engine_why = f"ONNX Runtime not tried: the precision is forced to {requested} (ONNX Runtime runs fp32)"
    elif device not in (None, "cpu"):
        engine_why = f"ONNX Runtime not tried: not on the CPU ({device})"
    elif not _onnx_installed():
        engine_why = "ONNX Runtime not tried: onnxruntime not installed"
    else:
        matching = [r for r in onnx_records if r["key"].get("candidate") in {f"onnx-vs-{p}" for p in precisions}]
        if matching:
            engine = "onnxruntime" if any(r.get("engine") == "onnxruntime" for r in matching) else "torch"
            engine_why = "; ".join(str(r["reason"]) for r in matching)
            used = used + matching
        else:
            engine, engine_why = "not measured yet", (
                "ONNX Runtime fp32 is measured against the torch path on the first load "
                "(used when it matches torch fp32 and is faster)"
            )
    if engine == "onnxruntime":
        precisions = ["fp32"]
    return {
        "component": component,
        "engine": engine,
        "precision": precisions,
        "reason": f"{why}; engine: {engine_why}",
        "precision_reason": why,
        "engine_reason": engine_why,
        "decisions": used,
    }


def _text_model(spec: Any) -> Any:
    """The text-model spec the Whisper encoder embeds transcripts with (env, else its option)."""
    from mediasearch.encoders import sentence_text, text_models

    try:
        return text_models.text_model_spec(sentence_text.text_model_name(dict(getattr(spec, "options", {}) or {})))
    except Exception:  # an unknown name in MEDIASEARCH_TEXT_MODEL: the load says so
        return None


def _sentence_engine(tm: Any, settings: Settings) -> tuple[str | None, str]:
    """(the sentence model's engine: onnx, torch, sentence-transformers, ``not measured yet``,
    ``not installed``, or None for an API model; why), as
    :func:`mediasearch.encoders.sentence_text.load_sentence_embedder` would pick it."""
    from mediasearch.encoders import sentence_text

    if tm is None or tm.hosting == "api":
        return None, "an API model (no local engine)"
    value = os.environ.get(sentence_text.ENGINE_ENV, "").strip().lower()
    if value and value not in sentence_text.ENGINES:
        return "invalid", f"unknown {sentence_text.ENGINE_ENV}={value!r}"
    if value and value != "auto":
        return value, f"{sentence_text.ENGINE_ENV}={value}"
    from mediasearch.modelstore import ModelStore

    folder = ModelStore(settings.model_dir).path(tm.store_name)
    if not folder.is_dir():
        return "not installed", f"{tm.store_name} is not installed"
    auto = getattr(sentence_text, "auto_engine", None)
    if auto is not None:  # the loader's own choice (reads the cached decisions, imports no torch)
        chosen, why = auto(folder, settings, name=tm.name, pooling=tm.pooling)
        return ("not measured yet" if chosen == "measure" else chosen), f"auto: {why}"
    if not sentence_text.bert_folder_supported(folder, tm.pooling):
        return "sentence-transformers", "auto: the folder is not a plain BERT sentence model"
    return ("onnx", "auto: onnxruntime installed") if _onnx_installed() else ("torch", "auto: onnxruntime not installed")


def report(spec: Any, settings: Settings) -> dict[str, Any]:
    """What numeric path and engine each tower of an encoder runs on with ``settings``, and
    why, without loading it or importing torch.

    Weight-free (baseline) encoders run NumPy in fp32. For torch encoders: the settings,
    the CPU's bf16 capability, the candidate ``auto`` would try on the CPU, and, per
    component (``siglip-vit-b16/image``, ``.../text``; a Whisper encoder's sentence
    model), the engine and precision a run would choose from the decisions already
    measured on this machine *for the installed weights and this thread count*
    (:func:`cached_decisions`, :func:`known_digests`); records made for other weights,
    threads or devices are left out.
    """
    if spec.family == "baseline":
        return {"engine": "numpy", "precision": "fp32", "reason": "weight-free NumPy descriptor"}
    try:
        requested = normalise_precision(settings.precision)
    except ValueError as exc:
        requested = f"invalid ({exc})"
    cpu = cpu_info()
    device = _wanted_device(settings)
    from mediasearch.modelstore import ModelStore

    store = ModelStore(settings.model_dir)
    tm = _text_model(spec) if spec.family == "whisper" else None
    models = [m for m in getattr(spec, "models", ()) if spec.family != "whisper" or not m.startswith(("all-", "paraphrase-"))]
    if tm is not None and tm.store_name:
        models.append(tm.store_name)
    paths = []
    for model in dict.fromkeys(models):
        try:
            paths.append(store.path(model))
        except Exception:  # a model the manifest does not name: no weights to match
            continue
    digests = known_digests(settings, paths)

    def records_for(prefix: str) -> list[dict[str, Any]]:
        found = cached_decisions(settings, prefix, weights=digests)
        if device is not None:
            found = [r for r in found if str(r.get("device") or r["key"].get("device", "")).partition(":")[0] == device]
        return found

    valid = not requested.startswith("invalid")
    components: list[dict[str, Any]] = []
    engine = ""
    if spec.family == "whisper":
        from mediasearch.encoders import ct2_whisper

        try:
            whisper_engine, whisper_why = ct2_whisper.resolve_engine(dict(getattr(spec, "options", {}) or {}))
        except ValueError as exc:
            whisper_engine, whisper_why = "invalid", str(exc)
        label = {"ctranslate2": "CTranslate2 (faster-whisper, int8)", "openai": "openai-whisper (torch, fp32)"}.get(whisper_engine, whisper_engine)
        whisper_device = "cpu"
        if whisper_engine in ("ctranslate2", "openai"):
            from mediasearch.encoders.device import DeviceUnavailableError

            try:  # where a run with these settings would transcribe, and at what numeric path
                place = ct2_whisper.resolve_placement(whisper_engine, settings)
                name = "CTranslate2 (faster-whisper" if whisper_engine == "ctranslate2" else "openai-whisper (torch"
                label = f"{name}, {place.compute}) on {place.device}"
                whisper_device = place.device
                whisper_why = f"{whisper_why}; {place.reason}"
            except DeviceUnavailableError as exc:
                label = f"{label}: device unavailable"
                whisper_why = f"{whisper_why}; {exc}"
        text_engine, text_why = _sentence_engine(tm, settings)
        if tm is not None and text_engine is not None and valid:
            text = _component(tm.name, records_for(tm.name), requested=requested, env=None, cpu=cpu, device=device)
            if text_engine in ("torch", "not measured yet"):
                text.update(engine=text_engine, engine_reason=text_why, reason=f"{text['precision_reason']}; engine: {text_engine} ({text_why})")
            elif text_engine == "not installed":
                text.update(engine=text_engine, precision=[], decisions=[], engine_reason=text_why, reason=text_why)
            else:  # ONNX Runtime and sentence-transformers run fp32 whatever --precision says
                name = {"onnx": "onnxruntime"}.get(text_engine, text_engine)
                text.update(engine=name, precision=[] if name == "invalid" else ["fp32"], decisions=[], engine_reason=text_why,
                            precision_reason="fp32 (--precision applies to the torch path only)",
                            reason=text_why if name == "invalid" else f"{name} fp32 ({text_why}; --precision applies to the torch path only)")
            components.append(text)
            text_label = {"onnxruntime": "onnxruntime (fp32)"}.get(text["engine"], text["engine"])
        else:
            text_label = text_why
        engine = f"{label} for transcription ({whisper_why}); sentence model on {text_label}"
    elif valid:
        env = _ENGINE_ENV.get(spec.family)
        for suffix in _TOWERS.get(spec.family, ("",)):
            name = spec.name + suffix
            components.append(_component(name, records_for(spec.name), requested=requested, env=env, cpu=cpu, device=device))
        engines = [c["engine"] for c in components]
        if len(set(engines)) == 1:
            engine = {"onnxruntime": "onnxruntime (fp32)", "not measured yet": "torch or onnxruntime (fp32): not measured yet"}.get(engines[0], engines[0])
        else:
            engine = "; ".join(f"{c['component'].rsplit('/', 1)[-1]} tower on {c['engine']}" for c in components)
    decisions = [d for c in components for d in c["decisions"]]

    if spec.family == "whisper" and requested in ("bf16", "fp16") and whisper_device.startswith("cuda"):
        reason = f"{engine}" + "".join(f"; {c['component']}: {c['reason']}" for c in components)
    elif spec.family == "whisper" and requested in ("bf16", "fp16"):
        reason = f"{engine}; {requested} refused for Whisper on the CPU: openai-whisper rejects bf16 audio features, CTranslate2 runs int8"
    elif not valid:
        reason = f"precision setting {requested}"
    elif spec.family == "whisper":
        reason = (
            f"{engine}; bf16 not used for transcription (openai-whisper rejects bf16 audio features, CTranslate2 runs int8)"
            + "".join(f"; {c['component']}: {c['reason']}" for c in components)
        )
    else:
        reason = "; ".join(f"{c['component']}: {c['reason']}" for c in components)
    chosen = sorted({p for c in components for p in c["precision"]}) if requested == "auto" else [requested]
    return {
        "engine": engine,
        "precision_setting": requested,
        "device_setting": settings.device,
        "cuda_available": _cuda_visible(),
        "cpu": cpu.to_json(),
        "cpu_candidate": candidate_for("cpu", cpu),
        "chosen": chosen,
        "reason": reason,
        "components": components,
        "decisions": decisions,
        "weights_digests": sorted(digests),
        "cache": str(cache_path(settings)),
    }
