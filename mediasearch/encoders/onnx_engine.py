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
