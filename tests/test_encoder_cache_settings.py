"""Loaded encoders are cached per build setting (precision, device, threads, engines), a forced
fp32 still lets ONNX Runtime run, and ``encoders --json`` reports per tower only what the
decision records for the installed weights and this thread count say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediasearch import cli
from mediasearch.config import Settings
from mediasearch.encoders import precision, registry
from mediasearch.encoders.registry import get_spec

ENGINE_ENVS = ("MEDIASEARCH_IMAGE_ENGINE", "MEDIASEARCH_AUDIO_ENGINE", "MEDIASEARCH_TEXT_ENGINE",
               "MEDIASEARCH_WHISPER_ENGINE", "MEDIASEARCH_TEXT_MODEL", "MEDIASEARCH_PRECISION", "MEDIASEARCH_BF16",
               "MEDIASEARCH_DEVICE")
EFFICIENTNET_FILE = Path("timm") / "tf_efficientnet_lite0.imagenet.safetensors"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch):
    for env in ENGINE_ENVS:
        monkeypatch.delenv(env, raising=False)
    registry.unload_all()
    yield
    registry.unload_all()


def _settings(tmp_path: Path, **changes) -> Settings:
    return Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models", threads=1, **changes)


# -- the load cache ---------------------------------------------------------------------------


def test_the_build_environment_names_are_the_encoders_own() -> None:
    from mediasearch.encoders import ct2_whisper, onnx_engine, sentence_text

    assert set(registry.BUILD_ENV) == {
        onnx_engine.IMAGE_ENGINE_ENV, onnx_engine.AUDIO_ENGINE_ENV, sentence_text.ENGINE_ENV,
        ct2_whisper.ENGINE_ENV, sentence_text.TEXT_MODEL_ENV,
    }
    assert set(precision._ENGINE_ENV.values()) == {onnx_engine.IMAGE_ENGINE_ENV, onnx_engine.AUDIO_ENGINE_ENV}


@pytest.mark.parametrize("name", ["baseline-image", "baseline-audio"])
def test_equal_settings_share_an_encoder_and_other_build_settings_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    base = _settings(tmp_path)
    first = registry.load_encoder(name, base)
    # equal values in a new Settings object, and fields that do not change the model: the same encoder
    assert registry.load_encoder(name, _settings(tmp_path)) is first
    assert registry.load_encoder(name, base.with_(library_dir=tmp_path / "other", allow_download=True)) is first
    assert registry.load_encoder(name, base.with_(precision="AUTO")) is first
    others = [
        registry.load_encoder(name, base.with_(precision="fp32")),
        registry.load_encoder(name, base.with_(precision="bf16")),
        registry.load_encoder(name, base.with_(device="cpu")),
        registry.load_encoder(name, base.with_(threads=2)),
        registry.load_encoder(name, base.with_(batch_size=3)),
        registry.load_encoder(name, base.with_(model_dir=tmp_path / "models2")),
    ]
    assert registry.load_encoder(name, base.with_(precision="bf16")) is others[1]  # each one kept
    monkeypatch.setenv("MEDIASEARCH_IMAGE_ENGINE", "torch")
    others.append(registry.load_encoder(name, base))
    monkeypatch.setenv("MEDIASEARCH_AUDIO_ENGINE", "onnx")
    others.append(registry.load_encoder(name, base))
    assert len({id(first), *map(id, others)}) == len(others) + 1
    monkeypatch.delenv("MEDIASEARCH_IMAGE_ENGINE")
    monkeypatch.delenv("MEDIASEARCH_AUDIO_ENGINE")
    assert registry.load_encoder(name, base) is first
    assert others[3].settings.inference_threads == 2 and others[4].settings.batch_size == 3
    registry.unload_all()
    assert registry.load_encoder(name, base) is not first


def test_put_loaded_serves_equal_settings_only(tmp_path: Path) -> None:
    spec = get_spec("baseline-image")
    base = _settings(tmp_path)
    module_name, _, cls_name = spec.factory.partition(":")
    import importlib

    stand_in = getattr(importlib.import_module(module_name), cls_name)(spec, base, {})
    registry.put_loaded("baseline-image", base, stand_in)
    assert registry.load_encoder("baseline-image", _settings(tmp_path)) is stand_in
    assert registry.load_encoder("baseline-image", base.with_(precision="fp32")) is not stand_in


def test_text_models_are_cached_per_precision_too(shared_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from mediasearch.encoders import sentence_text, text_models

    folder = shared_models / "sentence-transformers" / "all-MiniLM-L6-v2"
    monkeypatch.setenv("MEDIASEARCH_TEXT_ENGINE", "torch")  # the torch path: the one --precision applies to
    text_models.clear_cache()
    sentence_text._cache.clear()
    try:
        base = _settings(tmp_path)
        fp32 = text_models.load_text_embedder("all-minilm-l6-v2", base.with_(precision="fp32"), folder=folder)
        bf16 = text_models.load_text_embedder("all-minilm-l6-v2", base.with_(precision="bf16"), folder=folder)
        assert fp32 is not bf16 and fp32.inner is not bf16.inner
        assert (fp32.inner.precision.precision, bf16.inner.precision.precision) == ("fp32", "bf16")
        assert text_models.load_text_embedder("all-minilm-l6-v2", _settings(tmp_path, precision="fp32"), folder=folder) is fp32
    finally:
        text_models.clear_cache()
        sentence_text._cache.clear()


# -- a forced fp32 may run on ONNX Runtime; a forced bf16 stays on torch ----------------------


@pytest.mark.slow
def test_real_efficientnet_per_precision_and_what_encoders_json_says(
    shared_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    pytest.importorskip("timm")
    from mediasearch.encoders import onnx_engine

    if not (shared_models / EFFICIENTNET_FILE).is_file():
        pytest.skip("real EfficientNet-Lite0 weights not found")
    base = Settings(library_dir=tmp_path / "library", model_dir=shared_models)  # default threads, as the CLI's
    fp32 = registry.load_encoder("efficientnet-lite0", base.with_(precision="fp32"))
    bf16 = registry.load_encoder("efficientnet-lite0", base.with_(precision="bf16"))
    assert fp32 is not bf16
    assert registry.load_encoder("efficientnet-lite0", base.with_(precision="fp32")) is fp32
    assert (fp32.precision.precision, bf16.precision.precision) == ("fp32", "bf16")
    # bf16 forced: torch autocast, ONNX Runtime not tried
    assert bf16.onnx is None and "forced to bf16" in bf16.engine["reason"]
    if onnx_engine.available():
        # fp32 forced: ONNX Runtime (fp32) is measured against torch fp32 and used if it passes
        assert fp32.engine["key"]["candidate"] == "onnx-vs-fp32"
        assert fp32.engine["source"] == "calibrated" and fp32.engine["min_cosine"] >= onnx_engine.PARITY
        assert (fp32.onnx is not None) == (fp32.engine["engine"] == "onnxruntime")
    argv = ["--library", str(tmp_path / "library"), "--model-dir", str(shared_models), "encoders", "--json"]

    def numeric_path(*extra: str) -> dict:
        assert cli.main([*argv, *extra]) == 0
        items = {item["name"]: item for item in json.loads(capsys.readouterr().out)}
        return items["efficientnet-lite0"]["numeric_path"]

    forced = numeric_path("--precision", "fp32", "--device", "cpu")
    assert (forced["precision_setting"], forced["device_setting"]) == ("fp32", "cpu")
    (tower,) = forced["components"]
    if onnx_engine.available():
        # what the run above chose is what the report says a run with --precision fp32 chooses
        assert tower["engine"] == fp32.engine["engine"] and tower["decisions"]
        assert tower["decisions"][0]["key"]["weights"] in forced["weights_digests"]
    # another thread count: nothing measured for it yet
    other = numeric_path("--precision", "fp32", "--threads", str(base.inference_threads + 1))
    assert other["decisions"] == []
    bf16_path = numeric_path("--precision", "bf16")
    assert bf16_path["components"][0]["engine"] == "torch" and "forced to bf16" in bf16_path["reason"]
    assert bf16_path["chosen"] == ["bf16"]


# -- the report filters records -----------------------------------------------------------------


def _record(component: str, *, weights: str, threads: int, candidate: str, precision_: str, device: str = "cpu",
            engine: str | None = None, reason: str = "test record") -> tuple[str, dict]:
    key = precision.decision_key(component=component, weights=weights, candidate=candidate, device=device,
                                 threads=threads, cpu=precision.cpu_info())
    record = {"precision": precision_, "device": device, "source": "calibrated", "reason": reason, "key": key}
    if engine is not None:
        record["engine"] = engine
    return precision._key_id(key), record


def _install_stand_in(settings: Settings, model: str, relative: str) -> tuple[Path, str]:
    """A file where the store keeps ``model``, hashed once (as a load would) so its digest is known."""
    from mediasearch.modelstore import ModelStore

    root = ModelStore(settings.model_dir).path(model)
    path = root / relative if relative else root
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights of " + model.encode())
    return path, precision.weights_digest(path, precision.DecisionCache(precision.cache_path(settings)))


def test_records_for_other_weights_or_threads_are_ignored(tmp_path: Path, shared_models: Path) -> None:
    settings = Settings(library_dir=tmp_path / "library", model_dir=shared_models, threads=1, precision="auto", device="cpu")
    cache = precision.DecisionCache(precision.cache_path(settings))
    assert cache.path.parent != shared_models  # the read-only store: the per-test user cache
    if not (shared_models / EFFICIENTNET_FILE).is_file():
        pytest.skip("real EfficientNet-Lite0 weights not found")
    real = precision.weights_digest(shared_models / EFFICIENTNET_FILE, cache)
    name = "efficientnet-lite0"
    records = [
        # what a run with these settings would find: bf16 chosen on torch, ONNX Runtime slower
        _record(name, weights=real, threads=1, candidate="bf16", precision_="bf16", reason="bf16 chosen"),
        _record(name, weights=real, threads=1, candidate="onnx-vs-bf16", precision_="bf16", engine="torch", reason="torch kept"),
        # records that say onnxruntime, but for other weights, another thread count, another device
        _record(name, weights="0" * 64, threads=1, candidate="onnx-vs-bf16", precision_="fp32", engine="onnxruntime"),
        _record(name, weights=real, threads=7, candidate="onnx-vs-bf16", precision_="fp32", engine="onnxruntime"),
        _record(name, weights=precision.RANDOM_INIT, threads=1, candidate="onnx-vs-fp32", precision_="fp32", engine="onnxruntime"),
        _record(name, weights=real, threads=1, candidate="fp16", precision_="fp16", device="cuda:0:Test GPU"),
    ]
    for key_id, record in records:
        cache.update("decisions", key_id, record)
    report = precision.report(get_spec(name), settings)
    (tower,) = report["components"]
    assert tower["engine"] == "torch" and tower["precision"] == ["bf16"]
    assert sorted(r["reason"] for r in report["decisions"]) == ["bf16 chosen", "torch kept"]
    assert report["engine"] == "torch" and report["chosen"] == ["bf16"]
    assert report["weights_digests"] == [real]
    assert "onnxruntime" not in json.dumps(report["decisions"])
    # the same file through cached_decisions: threads and weights are filtered, the device is not
    assert len(precision.cached_decisions(settings, name, weights={real})) == 3
    assert len(precision.cached_decisions(settings, name, weights={real}, threads=7)) == 1
    # forced fp32: the bf16 records are not what a run would use; no onnx-vs-fp32 record for these weights yet
    forced = precision.report(get_spec(name), settings.with_(precision="fp32"))
    assert forced["components"][0]["engine"] in ("not measured yet", "torch") and forced["chosen"] == ["fp32"]
    assert precision.known_digests(settings, [shared_models / EFFICIENTNET_FILE]) == {real}


def test_each_tower_has_its_own_engine(tmp_path: Path) -> None:
    settings = _settings(tmp_path, precision="auto", device="cpu")
    spec = get_spec("siglip-vit-b16")
    weights, digest = _install_stand_in(settings, spec.models[0], "open_clip_model.safetensors")
    cache = precision.DecisionCache(precision.cache_path(settings))
    for key_id, record in [
        _record(f"{spec.name}/image", weights=digest, threads=1, candidate="bf16", precision_="bf16"),
        _record(f"{spec.name}/image", weights=digest, threads=1, candidate="onnx-vs-bf16", precision_="fp32", engine="onnxruntime"),
        _record(f"{spec.name}/text", weights=digest, threads=1, candidate="bf16", precision_="bf16"),
        _record(f"{spec.name}/text", weights=digest, threads=1, candidate="onnx-vs-bf16", precision_="bf16", engine="torch"),
    ]:
        cache.update("decisions", key_id, record)
    report = precision.report(spec, settings)
    towers = {c["component"]: c for c in report["components"]}
    if precision._onnx_installed():
        assert towers[f"{spec.name}/image"]["engine"] == "onnxruntime" and towers[f"{spec.name}/image"]["precision"] == ["fp32"]
        assert report["engine"] == "image tower on onnxruntime; text tower on torch"
        assert report["chosen"] == ["bf16", "fp32"]
    assert towers[f"{spec.name}/text"]["engine"] == "torch" and towers[f"{spec.name}/text"]["precision"] == ["bf16"]
    # --precision bf16: both towers on torch bf16, whatever the records say about ONNX Runtime
    forced = precision.report(spec, settings.with_(precision="bf16"))
    assert {c["engine"] for c in forced["components"]} == {"torch"} and forced["chosen"] == ["bf16"]
    assert all("forced to bf16" in c["reason"] for c in forced["components"])
    # other weights in the same place (another size): the records made for the old ones no longer count
    weights.write_bytes(b"other weights, another size")
    again = precision.report(spec, settings)
    assert again["weights_digests"] == [] and again["decisions"] == []
    assert {c["engine"] for c in again["components"]} <= {"not measured yet", "torch"}


def test_whisper_sentence_engine_follows_the_text_engine_variable(
    tmp_path: Path, shared_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediasearch.encoders import sentence_text

    settings = Settings(library_dir=tmp_path / "library", model_dir=shared_models, precision="bf16", device="cpu")
    spec = get_spec("whisper-tiny.en")

    def text_tower(report: dict) -> dict:
        (tower,) = [c for c in report["components"] if c["component"] == "all-minilm-l6-v2"]
        return tower

    monkeypatch.setenv("MEDIASEARCH_TEXT_ENGINE", "onnx")
    report = precision.report(spec, settings)
    assert text_tower(report)["engine"] == "onnxruntime" and "sentence model on onnxruntime" in report["engine"]
    assert "MEDIASEARCH_TEXT_ENGINE=onnx" in text_tower(report)["reason"] and text_tower(report)["precision"] == ["fp32"]
    monkeypatch.setenv("MEDIASEARCH_TEXT_ENGINE", "torch")
    tower = text_tower(precision.report(spec, settings))
    assert (tower["engine"], tower["precision"]) == ("torch", ["bf16"])
    monkeypatch.setenv("MEDIASEARCH_TEXT_ENGINE", "sentence-transformers")
    assert text_tower(precision.report(spec, settings))["engine"] == "sentence-transformers"
    monkeypatch.delenv("MEDIASEARCH_TEXT_ENGINE")
    # auto: what the loader would choose (a forced bf16 is torch autocast there)
    auto = text_tower(precision.report(spec, settings))["engine"]
    assert auto == ("torch" if hasattr(sentence_text, "auto_engine") else "onnxruntime" if precision._onnx_installed() else "torch")
    # not installed: said so
    empty = precision.report(spec, settings.with_(model_dir=tmp_path / "models"))
    assert text_tower(empty)["engine"] == "not installed"
