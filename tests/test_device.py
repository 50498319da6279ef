"""Device plumbing on a CPU-only machine: auto resolves CUDA, then MPS, then CPU; a missing device is a typed error; GPU batches are larger; encoders keep their model on their device and send it only the stacked batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediasearch.config import Settings
from mediasearch.errors import MediaSearchError

torch = pytest.importorskip("torch")

from mediasearch.encoders import device as device_mod  # noqa: E402
from mediasearch.encoders import torch_utils  # noqa: E402


def fake_gpus(monkeypatch: pytest.MonkeyPatch, *, cuda: bool, mps: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(device_mod, "mps_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"), [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch, cuda: bool, mps: bool, expected: str) -> None:
    fake_gpus(monkeypatch, cuda=cuda, mps=mps)
    assert device_mod.resolve_device("auto").type == expected
    assert device_mod.resolve_device(None).type == expected


def test_explicit_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpus(monkeypatch, cuda=False, mps=False)
    assert device_mod.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(device_mod.DeviceUnavailableError, match="cuda") as info:
        device_mod.resolve_device("cuda")
    assert isinstance(info.value, MediaSearchError) and info.value.requested == "cuda"
    with pytest.raises(device_mod.DeviceUnavailableError, match="mps"):
        device_mod.resolve_device("mps")
    with pytest.raises(ValueError, match="auto, cpu, cuda, mps"):
        device_mod.resolve_device("tpu")
    fake_gpus(monkeypatch, cuda=True, mps=False)
    assert device_mod.resolve_device("cuda:1") == torch.device("cuda", 1)  # resolving touches no GPU


def test_settings_device_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIASEARCH_DEVICE", raising=False)
    assert Settings().device == "auto"
    monkeypatch.setenv("MEDIASEARCH_DEVICE", "CPU")
    assert Settings().device == "cpu"


def test_batch_size_is_raised_on_a_gpu() -> None:
    settings = Settings(batch_size=8, gpu_batch_size=64)
    assert device_mod.batch_size_for(settings, torch.device("cpu")) == 8
    assert device_mod.batch_size_for(settings, torch.device("cuda")) == 64
    assert device_mod.batch_size_for(settings, torch.device("mps")) == 64
    assert device_mod.batch_size_for(settings.with_(batch_size=128), torch.device("cuda")) == 128


def test_only_the_stacked_batch_crosses_to_the_device() -> None:
    """Preprocessing runs on the CPU; forward sees one (b, 3, H, W) batch on the device (meta here)."""
    from PIL import Image

    seen: list[torch.Tensor] = []
    preprocess_devices: list[str] = []

    def preprocess(image: Image.Image) -> torch.Tensor:
        tensor = torch.zeros(3, 8, 8)
        preprocess_devices.append(tensor.device.type)
        return tensor

    def forward(batch: torch.Tensor) -> torch.Tensor:
        seen.append(batch)
        return torch.ones(batch.shape[0], 5)

    images = [Image.new("RGB", (8, 8)) for _ in range(5)]
    vectors = torch_utils.embed_image_batches(
        images, preprocess=preprocess, forward=forward, dim=5, batch_size=2, channels_last=True, device=torch.device("meta")
    )
    assert vectors.shape == (5, 5) and vectors.dtype == np.float32
    assert [b.shape[0] for b in seen] == [2, 2, 1]
    assert all(b.device.type == "meta" for b in seen)
    assert all(b.is_contiguous(memory_format=torch.channels_last) for b in seen)
    assert set(preprocess_devices) == {"cpu"}


def test_to_device_on_the_cpu_is_the_same_tensor() -> None:
    batch = torch.rand(2, 3, 4, 4)
    assert device_mod.to_device(batch, torch.device("cpu")) is batch
    assert device_mod.to_device(batch, torch.device("cpu"), channels_last=True).is_contiguous(memory_format=torch.channels_last)


def test_an_encoder_moves_its_model_once_and_passes_its_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timm = pytest.importorskip("timm")
    from safetensors.torch import save_file

    from mediasearch.encoders.registry import get_spec
    from mediasearch.encoders.timm_backbone import TimmBackboneEncoder

    spec = get_spec("efficientnet-lite0")
    path = tmp_path / "lite0.safetensors"
    torch.manual_seed(0)
    save_file(timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict(), str(path))
    moves: list[str] = []
    original_to = torch.nn.Module.to

    def recording_to(module, *args, **kwargs):  # noqa: ANN001
        if args and isinstance(args[0], torch.device):
            moves.append(str(args[0]))
        return original_to(module, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", recording_to)
    settings = Settings(library_dir=tmp_path / "lib", model_dir=tmp_path / "models", precision="fp32", device="cpu", batch_size=3)
    encoder = TimmBackboneEncoder(spec, settings, {spec.models[0]: path})
    assert encoder.device == torch.device("cpu") and moves == ["cpu"]
    assert {p.device.type for p in encoder.model.parameters()} == {"cpu"}
    assert encoder.batch_size == 3

    calls: list[dict] = []
    monkeypatch.setattr(torch_utils, "embed_image_batches", lambda images, **kw: calls.append(kw) or np.zeros((0, spec.dim)))
    encoder.embed_images([])
    assert calls[0]["device"] == encoder.device and calls[0]["batch_size"] == 3 and calls[0]["dtype_name"] == "fp32"
    assert moves == ["cpu"]  # embedding never moves the model again

    # asking for a GPU this machine does not have fails at load, with the reason
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(device_mod.DeviceUnavailableError):
        TimmBackboneEncoder(spec, settings.with_(device="cuda"), {spec.models[0]: path})


def test_autocast_per_device() -> None:
    from mediasearch.encoders import precision

    with precision.autocast(torch.device("cpu"), "bf16"):
        out = torch.nn.functional.linear(torch.rand(2, 4), torch.rand(3, 4))
    assert out.dtype == torch.bfloat16
    with precision.autocast(torch.device("cpu"), "fp32"):
        assert torch.nn.functional.linear(torch.rand(2, 4), torch.rand(3, 4)).dtype == torch.float32
    assert precision.candidate_for("cuda") == "fp16"
    assert precision.candidate_for("mps") is None


def test_cli_asking_for_a_missing_gpu_fails_with_the_reason(tmp_path: Path) -> None:
    """`mediasearch index --device cuda` on a machine without CUDA fails with a message naming the device."""
    import os
    import subprocess
    import sys

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    weights = Path(__file__).resolve().parents[2] / "shared" / "models" / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"
    if not weights.is_file():
        pytest.skip(f"real EfficientNet-Lite0 weights not found at {weights}")
    from PIL import Image

    media = tmp_path / "media"
    media.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(media / "red.png")
    env = {**os.environ, "MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(weights.parents[1]),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", "index", str(media), "--encoders", "efficientnet-lite0", "--device", "cuda", "-q"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0
    assert any("device 'cuda' is not available" in line for line in lines), proc.stderr
