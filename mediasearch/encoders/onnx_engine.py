"""ONNX Runtime as an inference engine: export from the loaded torch weights once, then run without torch.

:func:`onnx_path` names the exported graph after the weights' sha256 and the export
settings (model kind, opset, torch version), in an ``onnx/`` folder next to the weights
when that folder is writable, else under the precision cache's folder (the model store or
the user cache dir). :func:`ensure_exported` exports on first use only (torch is imported
then, and only then); :class:`OnnxSession` runs a graph with ``onnxruntime`` on
``settings.inference_threads`` threads. A damaged or half-written file is exported again.

Nothing here imports torch at module level, so a query that finds its graph on disk runs
with numpy, tokenizers and onnxruntime only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mediasearch.encoders import precision

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings

logger = logging.getLogger(__name__)

OPSET = 17
FOLDER = "onnx"


def available() -> bool:
    """True when onnxruntime is installed (nothing is imported to find out)."""
    return importlib.util.find_spec("onnxruntime") is not None


def export_settings(kind: str, **extra: object) -> dict[str, str]:
    """What an exported graph depends on besides the weights."""
    return {"kind": kind, "opset": str(OPSET), "torch": precision.torch_version(), **{k: str(v) for k, v in extra.items()}}


def onnx_path(weights_path: Path, settings: Settings, export: Mapping[str, str]) -> Path:
    """Where the graph for these weights and export settings lives (see the module docstring)."""
    weights_path = Path(weights_path)
    digest = precision.weights_digest(weights_path, precision.DecisionCache(precision.cache_path(settings)))
    tag = hashlib.sha256(json.dumps(dict(export), sort_keys=True).encode()).hexdigest()[:12]
    name = f"{weights_path.stem}-{digest[:16]}-{tag}.onnx"
    beside = weights_path.parent / FOLDER
    if precision.writable_folder(beside):
        return beside / name
    return precision.cache_path(settings).parent / FOLDER / name


def ensure_exported(path: Path, export: Callable[[Path], None]) -> Path:
    """``path``, calling ``export(tmp_path)`` first when it does not exist yet (atomic rename)."""
    path = Path(path)
    if path.is_file() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        export(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("exported %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


def export_module(
    module: Any,
    example_inputs: tuple,
    dest: Path,
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
) -> None:
    """torch.onnx.export of an eval-mode module in fp32 (TorchScript exporter, opset :data:`OPSET`)."""
    import torch

    module = module.eval().float().to("cpu")
    # nn.MultiheadAttention's inference fast path (a fused op ONNX has no symbol for) is
    # switched off while tracing: the graph gets the plain attention ops, same numbers
    fastpath = getattr(getattr(torch.backends, "mha", None), "get_fastpath_enabled", lambda: None)()
    if fastpath:
        torch.backends.mha.set_fastpath_enabled(False)
    try:
        _export(torch, module, example_inputs, dest, input_names, output_names, dynamic_axes)
    finally:
        if fastpath:
            torch.backends.mha.set_fastpath_enabled(True)


def _export(torch: Any, module: Any, example_inputs: tuple, dest: Path, input_names: Sequence[str],
            output_names: Sequence[str], dynamic_axes: Mapping[str, Mapping[int, str]]) -> None:
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            module,
            example_inputs,
            str(dest),
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()},
            opset_version=OPSET,
            dynamo=False,
        )


class OnnxSession:
    """An onnxruntime CPU session: ``run(inputs)`` -> the first output as a float32 array."""

    def __init__(self, path: Path, *, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.path = Path(path)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception:
            # a damaged graph is a cache entry, not a source of truth: drop it so it is exported again
            logger.warning("cannot load %s; removing it", path)
            self.path.unlink(missing_ok=True)
            raise
        self.input_names = [i.name for i in self.session.get_inputs()]

    def run(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.session.run(None, dict(inputs))[0], dtype=np.float32)

    def run_all(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Every output, in the graph's order, as float32 arrays."""
        return [np.asarray(out, dtype=np.float32) for out in self.session.run(None, dict(inputs))]


# -- torch models that may run on ONNX Runtime instead ----------------------------------------

#: ``auto`` (ONNX Runtime where measured faster than the chosen torch path, when the
#: precision setting is auto or fp32), ``torch`` or ``onnx``: image backbones and both SigLIP towers
IMAGE_ENGINE_ENV = "MEDIASEARCH_IMAGE_ENGINE"
#: the same choice for the audio models (PANNs CNN14)
AUDIO_ENGINE_ENV = "MEDIASEARCH_AUDIO_ENGINE"
#: ONNX Runtime must match torch fp32 this closely (worst row cosine) to be used at all
PARITY = 0.9999


def engine_setting(env: str = IMAGE_ENGINE_ENV) -> str:
    value = os.environ.get(env, "").strip().lower() or "auto"
    if value not in ("auto", "torch", "onnx"):
        raise ValueError(f"unknown {env}={value!r}; choose auto, torch or onnx")
    return value


def image_engine_setting() -> str:
    return engine_setting(IMAGE_ENGINE_ENV)


def module_session(
    settings: Settings,
    *,
    component: str,
    export_kind: str,
    module: Any,
    weights_path: Path | None,
    example: tuple,
    inputs: Mapping[str, np.ndarray],
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
    torch_run: Callable[[str], np.ndarray],
    torch_precision: precision.PrecisionDecision,
    device_type: str,
    env: str = IMAGE_ENGINE_ENV,
    export_extra: Mapping[str, object] | None = None,
) -> tuple[OnnxSession | None, dict[str, Any]]:
    """(an ONNX Runtime session for a torch module, or None to stay on torch; the decision as a dict).

    ``module``: the eval-mode torch module, exported (a CPU fp32 copy) on first use from
    ``example`` (torch inputs, batch of 2 is enough: the axes in ``dynamic_axes`` are
    dynamic); ``inputs``: the calibration batch as numpy arrays by input name;
    ``torch_run(dtype_name)`` runs the same batch on torch and returns the first output
    as (n, d). ONNX Runtime is tried only on the CPU, for real weights files (the graph is
    cached by their sha256 and the export settings), when onnxruntime is installed and the
    precision setting is ``auto`` or ``fp32`` (a forced bf16/fp16 stays on torch autocast;
    ``env`` saying ``onnx`` overrides both); it is used when its fp32
    output matches torch fp32 (cosine >= :data:`PARITY`) and it beats the torch path
    already chosen by :data:`precision.MIN_SPEEDUP`. The outcome is cached with the
    precision decisions.
    """
    setting = engine_setting(env)
    stay = {"engine": "torch", "precision": torch_precision.precision}
    if setting == "torch":
        return None, {**stay, "reason": f"{env}=torch"}
    if device_type != "cpu" or not available() or weights_path is None:
        why = "not on the CPU" if device_type != "cpu" else "onnxruntime not installed" if not available() else "random-init weights"
        return None, {**stay, "reason": f"ONNX Runtime not tried: {why}"}
    requested = precision.normalise_precision(settings.precision)
    if setting == "auto" and requested in ("bf16", "fp16"):
        # a forced reduced precision is a torch autocast path; a forced fp32 may still run
        # on ONNX Runtime, which is fp32 too (and must pass the same parity and speed check)
        return None, {**stay, "reason": f"ONNX Runtime not tried: the precision is forced to {requested} (ONNX Runtime runs fp32)"}

    export = export_settings(export_kind, component=component, **dict(export_extra or {}))
    path = onnx_path(Path(weights_path), settings, export)

    def do_export(dest: Path) -> None:
        import copy

        import torch

        clone = copy.deepcopy(module).to("cpu")
        try:
            clone = clone.to(memory_format=torch.contiguous_format)
        except (TypeError, RuntimeError):  # pragma: no cover - modules without 4-d weights
            pass
        export_module(clone, example, dest, input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes)

    ensure_exported(path, do_export)
    try:
        session = OnnxSession(path, threads=settings.inference_threads)
    except Exception:  # a damaged graph was removed: export once more
        ensure_exported(path, do_export)
        session = OnnxSession(path, threads=settings.inference_threads)
    feed = {k: np.ascontiguousarray(v) for k, v in inputs.items()}
    count = int(next(iter(feed.values())).shape[0])

    cache = precision.DecisionCache(precision.cache_path(settings))
    key = {**torch_precision.key, "candidate": f"onnx-vs-{torch_precision.precision}", "component": component}
    if not torch_precision.key:
        key = precision.decision_key(
            component=component, weights=precision.weights_digest(Path(weights_path), cache),
            candidate=f"onnx-vs-{torch_precision.precision}", device="cpu", threads=settings.inference_threads, cpu=precision.cpu_info(),
        )
    key_id = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    cached = cache.load()["decisions"].get(key_id)
    if cached is None or setting == "onnx":
        reference = torch_run("fp32")
        outputs, ort_s = precision._best_time(lambda _: session.run(feed).reshape(count, -1), "fp32", precision.REPEATS)
        _, torch_s = precision._best_time(torch_run, torch_precision.precision, precision.REPEATS)
        cosine = precision.min_row_cosine(reference, outputs)
        ort_rate, torch_rate = count / ort_s, count / torch_s
        use = cosine >= PARITY and ort_rate >= torch_rate * precision.MIN_SPEEDUP
        reason = (
            f"measured: onnxruntime fp32 {ort_rate:.1f} vs torch {torch_precision.precision} {torch_rate:.1f} items/s, "
            f"cosine to torch fp32 {cosine:.6f}: " + ("onnxruntime chosen" if use else "torch kept")
        )
        cached = {"engine": "onnxruntime" if use else "torch", "reason": reason, "min_cosine": round(cosine, 7),
                  "onnx_items_s": round(ort_rate, 2), "torch_items_s": round(torch_rate, 2), "key": key, "source": "calibrated",
                  "precision": "fp32" if use else torch_precision.precision, "device": "cpu"}
        cache.update("decisions", key_id, cached)
        logger.info("%s: %s", component, reason)
    else:
        cached = {**cached, "source": "cached"}
    if setting == "onnx":
        return session, {**cached, "engine": "onnxruntime", "precision": "fp32", "reason": f"{env}=onnx; {cached['reason']}"}
    return (session if cached["engine"] == "onnxruntime" else None), cached


# -- image backbones ----------------------------------------------------------------------


def image_session(
    settings: Settings,
    *,
    component: str,
    model: Any,
    weights_path: Path | None,
    batch: Any,
    torch_run: Callable[[str], np.ndarray],
    torch_precision: precision.PrecisionDecision,
    device_type: str,
) -> tuple[OnnxSession | None, dict[str, Any]]:
    """(an ONNX Runtime session for an image model, or None to stay on torch; the decision as a dict).

    ``batch``: the (n, 3, H, W) CPU calibration tensor; ``torch_run(dtype_name)`` runs it on
    torch. See :func:`module_session` for when ONNX Runtime is tried and chosen.
    """
    import torch

    return module_session(
        settings, component=component, export_kind="image", module=model, weights_path=weights_path,
        example=(torch.zeros(2, *batch.shape[1:]),),
        inputs={"images": np.ascontiguousarray(batch.contiguous().numpy(), dtype=np.float32)},
        input_names=["images"], output_names=["features"], dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}},
        torch_run=torch_run, torch_precision=torch_precision, device_type=device_type,
        export_extra={"side": int(batch.shape[-1])},
    )
