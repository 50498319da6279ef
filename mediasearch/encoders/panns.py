"""PANNs CNN14 (Kong et al. 2020, AudioSet): 2048-d clip embeddings and AudioSet labels.

The architecture is panns-inference's own ``Cnn14`` class, built with the AudioSet
checkpoint's settings (32 kHz, 1024-point FFT, hop 320, 64 mel bins, 50-14000 Hz, 527
classes); the weights come from our model store only. Importing the ``panns_inference``
package would run its ``config.py``, which shells out to wget for the label CSV, so
``models.py`` is loaded on its own under a private package name, with
``pytorch_utils.py`` beside it and nothing else of panns-inference executed.

Each window's embedding is the model's ``embedding`` output (the ReLU'd fc1 layer, taken
in eval mode), L2-normalised; its labels are the top AudioSet classes by the model's
sigmoid ``clipwise_output``.

On the CPU the model may run on ONNX Runtime instead of torch
(:func:`onnx_engine.module_session`): exported from the loaded weights on first use (the
spectrogram front end included, batch and length dynamic), cached by their sha256 and the
export settings, used where it matches torch fp32 (cosine >= 0.9999) and measured faster
than the torch path on this machine (``MEDIASEARCH_AUDIO_ENGINE`` = auto | torch | onnx).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import logging
import pickle
import sys
import threading
import types
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mediasearch.encoders.base import EncoderSpec, l2_normalise
from mediasearch.encoders.baseline_audio import WindowedAudioEncoder
from mediasearch.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

#: the settings of the official CNN14 AudioSet checkpoint (Zenodo record 3987831)
CNN14_CONFIG = dict(sample_rate=32_000, window_size=1024, hop_size=320, mel_bins=64, fmin=50, fmax=14_000, classes_num=527)
#: CNN14 pools time by 32; shorter inputs are zero-padded to this many samples (1 s)
MIN_SAMPLES = 32_000
TOP_LABELS = 5
#: state-dict prefixes of the fixed (non-learned) spectrogram front end
_FRONT_END = ("spectrogram_extractor.", "logmel_extractor.")

_PRIVATE_PACKAGE = "_mediasearch_panns"
_import_lock = threading.Lock()


def panns_models_module() -> types.ModuleType:
    """panns_inference/models.py, imported without running the panns_inference package."""
    with _import_lock:
        name = f"{_PRIVATE_PACKAGE}.models"
        if name in sys.modules:
            return sys.modules[name]
        found = importlib.util.find_spec("panns_inference")  # locates the package, runs nothing
        if found is None or not found.submodule_search_locations:
            raise ModelUnavailableError(
                "panns-inference", "install the ml extra: pip install 'mediasearch[ml]'", encoder="panns-cnn14"
            )
        folder = Path(list(found.submodule_search_locations)[0])
        package = types.ModuleType(_PRIVATE_PACKAGE)
        package.__path__ = [str(folder)]  # lets models.py's "from .pytorch_utils import" resolve
        sys.modules[_PRIVATE_PACKAGE] = package
        stub = _stub_matplotlib_if_missing()
        try:
            module_spec = importlib.util.spec_from_file_location(name, folder / "models.py")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            try:
                module_spec.loader.exec_module(module)  # type: ignore[union-attr]
            except BaseException:
                del sys.modules[name]
                raise
        finally:
            if stub:
                for key in ("matplotlib.pyplot", "matplotlib"):
                    sys.modules.pop(key, None)
        return module


def _stub_matplotlib_if_missing() -> bool:
    """models.py imports matplotlib.pyplot and never uses it; stand in for it only when absent."""
    if importlib.util.find_spec("matplotlib") is not None:
        return False
    sys.modules["matplotlib"] = types.ModuleType("matplotlib")
    sys.modules["matplotlib.pyplot"] = types.ModuleType("matplotlib.pyplot")
    return True


def build_cnn14():  # -> torch.nn.Module
    """A randomly initialised CNN14 with the AudioSet checkpoint's configuration."""
    return panns_models_module().Cnn14(**CNN14_CONFIG)


def load_checkpoint_state(path: Path, *, sha256: str | None = None) -> dict:
    """The ``model`` state dict of a PANNs checkpoint ({'model': state_dict, ...}).

    Loads with ``weights_only=True``; training checkpoints that also pickle NumPy scalars
    are retried with those NumPy types allow-listed. Only a file whose sha256 equals the
    manifest's (``sha256``) may fall back to a full unpickle.
    """
    import torch

    def _load(**kwargs: object) -> object:
        return torch.load(str(path), map_location="cpu", **kwargs)

    try:
        checkpoint = _load(weights_only=True)
    except pickle.UnpicklingError:
        try:
            with torch.serialization.safe_globals(_numpy_safe_globals()):
                checkpoint = _load(weights_only=True)
        except pickle.UnpicklingError as exc:
            if not sha256 or _sha256(path) != sha256.lower():
                raise ModelUnavailableError(
                    "panns-cnn14", f"{path} is not a plain weights checkpoint and does not match the manifest's sha256 ({exc})"
                ) from None
            logger.info("%s: trusted by its sha256, loading the full pickle", path)
            checkpoint = _load(weights_only=False)
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ModelUnavailableError("panns-cnn14", f"{path} holds no 'model' state dict")
    return state


def _numpy_safe_globals() -> list:
    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    dtypes = [type(np.dtype(t)) for t in ("float32", "float64", "int64", "int32", "bool")]
    return [
        (multiarray.scalar, "numpy.core.multiarray.scalar"),
        (multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
        multiarray.scalar,
        multiarray._reconstruct,
        np.ndarray,
        np.dtype,
        *dtypes,
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_labels(path: Path) -> list[str]:
    """AudioSet display names in class-index order from class_labels_indices.csv (index, mid, display_name)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows or [c.strip() for c in rows[0][:3]] != ["index", "mid", "display_name"]:
        raise ModelUnavailableError("audioset-labels", f"{path} is not class_labels_indices.csv")
    labels = {int(r[0]): r[2] for r in rows[1:] if len(r) >= 3}
    return [labels[i] for i in range(len(labels))]


class PannsCnn14Encoder(WindowedAudioEncoder):
    """CNN14 windows -> (n, 2048) float32 embeddings (L2-normalised) with top AudioSet labels."""

    def __init__(self, spec: EncoderSpec, settings, model_paths: Mapping[str, Path]) -> None:  # type: ignore[no-untyped-def]
        super().__init__(spec, settings, model_paths)
        self.labels = read_labels(Path(model_paths["audioset-labels"]))
        if len(self.labels) != CNN14_CONFIG["classes_num"]:
            raise ModelUnavailableError(
                "audioset-labels", f"expected {CNN14_CONFIG['classes_num']} labels, found {len(self.labels)}"
            )
        weights = Path(model_paths["panns-cnn14"])
        model = build_cnn14()
        state = load_checkpoint_state(weights, sha256=_manifest_sha256("panns-cnn14"))
        expected = set(model.state_dict())
        missing, unexpected = expected - set(state), set(state) - expected
        # the STFT and mel matrices are fixed functions of the config: a checkpoint saved
        # by another torchlibrosa version may leave them out without losing anything
        if unexpected or any(not k.startswith(_FRONT_END) for k in missing):
            shown = sorted(missing)[:3] + sorted(unexpected)[:3]
            raise ModelUnavailableError(
                "panns-cnn14",
                f"{weights} does not fit CNN14 ({len(missing)} missing, {len(unexpected)} unexpected keys, e.g. {shown})",
            )
        try:
            model.load_state_dict(state, strict=not missing)
        except RuntimeError as exc:  # right names, wrong shapes
            raise ModelUnavailableError("panns-cnn14", f"{weights} does not fit CNN14: {exc}") from None
        self._setup(model, weights)
        logger.debug("loaded CNN14 from %s on %s (%s)", weights, self.device, self.precision.precision)

    def _setup(self, model, weights_path: Path | None = None) -> None:  # type: ignore[no-untyped-def]
        import torch

        from mediasearch.encoders import device as device_mod
        from mediasearch.encoders import precision, torch_utils

        torch_utils.configure_threads(self.settings)
        self.device = torch_utils.load_device(self.spec.name, self.settings)
        self.model = model.eval().to(self.device)  # moved once, kept there
        self.batch_size = device_mod.batch_size_for(self.settings, self.device)
        if self.batch_size != self.settings.batch_size:  # the window batching reads settings.batch_size
            self.settings = self.settings.with_(batch_size=self.batch_size)
        self.top_labels = int(self.spec.options.get("top_labels", TOP_LABELS))
        self._torch = torch
        self._lock = threading.Lock()
        self.precision = precision.PrecisionDecision("fp32", str(self.device), "forced", "calibrating")
        calibration = precision.calibration_waveforms(2, 5.0, CNN14_CONFIG["sample_rate"])
        self.onnx = None
        run = lambda dtype_name: self._forward(calibration, dtype_name)[0]  # noqa: E731
        self.precision = precision.decide(
            self.settings,
            component=self.spec.name,
            device=self.device,
            run=run,
            items=len(calibration),
            weights_path=weights_path,
        )
        from mediasearch.encoders import onnx_engine

        #: the model on ONNX Runtime (None: torch) and how that was decided
        self.onnx, self.engine = onnx_engine.module_session(
            self.settings, component=self.spec.name, export_kind="cnn14", module=_cnn14_outputs(self.model),
            weights_path=weights_path, example=(torch.zeros(2, MIN_SAMPLES),), inputs={"waveforms": calibration},
            input_names=["waveforms"], output_names=["embedding", "clipwise"],
            dynamic_axes={"waveforms": {0: "batch", 1: "samples"}, "embedding": {0: "batch"}, "clipwise": {0: "batch"}},
            torch_run=run, torch_precision=self.precision, device_type=self.device.type, env=onnx_engine.AUDIO_ENGINE_ENV,
        )
        logger.info("%s on %s: %s on %s (%s)", self.spec.name, self.device, self.precision.precision, self.engine["engine"], self.precision.reason)

    @classmethod
    def from_model(cls, spec: EncoderSpec, settings, model, labels: Sequence[str]) -> "PannsCnn14Encoder":  # type: ignore[no-untyped-def]
        """An encoder around an already built CNN14 (benchmarks and tests with random weights)."""
        enc = cls.__new__(cls)
        WindowedAudioEncoder.__init__(enc, spec, settings, {})
        enc.labels = list(labels)
        enc._setup(model)
        return enc

    def forward(self, waveforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(b, samples) float32 at 32 kHz -> (embeddings (b, 2048), class probabilities (b, 527)), raw."""
        return self._forward(waveforms, self.precision.precision)

    def _forward(self, waveforms: np.ndarray, dtype_name: str) -> tuple[np.ndarray, np.ndarray]:
        from mediasearch.encoders.device import to_device
        from mediasearch.encoders.precision import autocast

        torch = self._torch
        batch = np.asarray(waveforms, dtype=np.float32)
        if batch.shape[1] < MIN_SAMPLES:
            batch = np.pad(batch, ((0, 0), (0, MIN_SAMPLES - batch.shape[1])))
        if self.onnx is not None:
            embedding, clipwise = self.onnx.run_all({"waveforms": np.ascontiguousarray(batch)})
            return embedding, clipwise
        with self._lock, torch.inference_mode(), autocast(self.device, dtype_name):
            out = self.model(to_device(torch.from_numpy(np.ascontiguousarray(batch)), self.device))
        return out["embedding"].float().cpu().numpy(), out["clipwise_output"].float().cpu().numpy()

    def embed_windows(self, windows: Sequence[np.ndarray]) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """Equal-length waveforms at 32 kHz -> ((n, 2048) float32 L2-normalised, top labels per window)."""
        if not windows:
            return np.zeros((0, self.spec.dim), np.float32), []
        length = max(w.size for w in windows)
        batch = np.stack([np.pad(np.asarray(w, np.float32), (0, length - w.size)) for w in windows])
        embeddings, probabilities = self.forward(batch)
        labels = []
        for probs in probabilities:
            top = np.lexsort((np.arange(probs.size), -probs))[: self.top_labels]
            labels.append([(self.labels[i], float(probs[i])) for i in top])
        return l2_normalise(np.nan_to_num(embeddings)), labels


def _cnn14_outputs(model):  # type: ignore[no-untyped-def]  # -> torch.nn.Module
    """CNN14 as a module returning (embedding, clipwise_output): the dict output as a tuple, for export."""
    import torch

    class Outputs(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, waveforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = self.inner(waveforms)
            return out["embedding"], out["clipwise_output"]

    return Outputs(model)


def _manifest_sha256(name: str) -> str | None:
    try:
        from mediasearch.modelstore.manifest import get_entry

        files = get_entry(name).files
        return files[0].sha256 if len(files) == 1 else None
    except Exception:  # not in the manifest (yet): no full-pickle fallback
        return None
