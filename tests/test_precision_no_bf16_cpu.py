"""On a CPU without native bf16, ``auto`` keeps a real encoder in fp32 and ``encoders --json`` says why.

The CPU is simulated by replacing :func:`mediasearch.encoders.precision.cpu_info` (every
caller goes through the module attribute) with this machine's CPU minus its bf16/AMX
flags. EfficientNet-Lite0 loads with its real weights, copied into a temporary model
store so the decision cache and any ONNX graph stay in the test's folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mediasearch.config import Settings
from mediasearch.encoders import precision, registry

pytestmark = pytest.mark.slow

WEIGHTS = ("timm/tf_efficientnet_lite0.imagenet.safetensors", "timm/tf_efficientnet_lite0.preprocess.json")


@pytest.fixture
def no_bf16_cpu(monkeypatch: pytest.MonkeyPatch) -> precision.CpuInfo:
    real = precision.cpu_info()
    fake = precision.cpu_from_flags(real.model, set(real.flags) - {"avx512_bf16", "amx_bf16", "amx_tile"}, source=real.source)
    assert not fake.bf16_native and not fake.amx
    monkeypatch.setattr(precision, "cpu_info", lambda: fake)
    return fake


@pytest.fixture
def model_dir(tmp_path: Path, shared_models: Path) -> Path:
    store = tmp_path / "models"
    for rel in WEIGHTS:
        src = shared_models / rel
        if not src.is_file():
            pytest.skip(f"real EfficientNet-Lite0 file {src} not present")
        (store / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, store / rel)
    return store


def test_real_encoder_runs_fp32_and_the_cli_reports_no_bf16(
    no_bf16_cpu: precision.CpuInfo, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("timm")
    from mediasearch import cli

    monkeypatch.setenv("MEDIASEARCH_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("MEDIASEARCH_HOME", str(tmp_path / "lib"))
    for name in ("MEDIASEARCH_PRECISION", "MEDIASEARCH_BF16", "MEDIASEARCH_DEVICE", "MEDIASEARCH_IMAGE_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(library_dir=tmp_path / "lib", model_dir=model_dir, device="cpu")
    assert settings.precision == "auto"

    registry.unload_all()
    try:
        encoder = registry.load_encoder("efficientnet-lite0", settings)
        decision = encoder.precision
        assert decision.precision == "fp32" and decision.source == "no-candidate" and decision.candidate is None
        assert "no native bf16" in decision.reason
        vectors = encoder.embed_images(precision.calibration_images(2))
        assert vectors.shape == (2, 1280)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        # whatever engine won (ONNX Runtime or torch), it runs fp32: bf16 was never a candidate
        assert getattr(encoder, "engine", {}).get("precision", "fp32") == "fp32"
        cached = json.loads((model_dir / precision.CACHE_FILE).read_text()) if (model_dir / precision.CACHE_FILE).is_file() else {}
        assert all(not d["key"]["candidate"].startswith("bf16") for d in cached.get("decisions", {}).values())
    finally:
        registry.unload_all()

    capsys.readouterr()
    assert cli.main(["encoders", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    entry = next(d for d in items if d["name"] == "efficientnet-lite0")
    assert entry["weights_present"]
    path = entry["numeric_path"]
    assert path["precision_setting"] == "auto"
    assert path["cpu"]["bf16_native"] is False and path["cpu_candidate"] is None
    assert path["chosen"] == ["fp32"]
    assert "no native bf16" in path["reason"]
    assert Path(path["cache"]) == model_dir / precision.CACHE_FILE  # nothing went to a shared cache
