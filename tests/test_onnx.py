"""ONNX Runtime engine: graphs exported from the loaded weights match PyTorch (cosine >= 0.9999), are cached by weights sha256 + export settings and reused, re-exported when damaged, and a text query on a cached graph imports no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mediasearch.config import Settings
from mediasearch.encoders import onnx_engine, precision

pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
MINILM = REPO.parent / "shared" / "models" / "sentence-transformers" / "all-MiniLM-L6-v2"
needs_minilm = pytest.mark.skipif(not (MINILM / "model.safetensors").is_file(), reason=f"real all-MiniLM-L6-v2 not found at {MINILM}")

TEXTS = ["a cat on the sofa", "Quarterly budget: moved to Thursday!", "", "résumé naïve café " * 120, "短い文"]


def settings_at(tmp_path: Path) -> Settings:
    return Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models", precision="fp32")


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_random_init_bert_graph_matches_torch(tmp_path: Path) -> None:
    from mediasearch.encoders.minilm import MiniBert

    torch.manual_seed(0)
    config = {"hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 128, "num_hidden_layers": 2,
              "vocab_size": 500, "max_position_embeddings": 64}
    net = MiniBert(config).eval()
    ids = torch.randint(1, 500, (3, 11))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0  # padding must not change the pooled state
    dest = tmp_path / "bert.onnx"
    onnx_engine.export_module(net, (ids, mask), dest, input_names=["ids", "mask"], output_names=["pooled"],
                              dynamic_axes={"ids": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}, "pooled": {0: "b"}})
    session = onnx_engine.OnnxSession(dest, threads=1)
    other = torch.randint(1, 500, (2, 5))  # another batch size and length: the axes are dynamic
    for batch_ids, batch_mask in ((ids, mask), (other, torch.ones_like(other))):
        with torch.inference_mode():
            expected = net(batch_ids, batch_mask).numpy()
        got = session.run({"ids": batch_ids.numpy(), "mask": batch_mask.numpy()})
        assert got.shape == expected.shape
        assert row_cosines(got, expected).min() >= 0.9999


@needs_minilm
def test_sentence_model_on_onnx_matches_sentence_transformers(tmp_path: Path) -> None:
    from mediasearch.encoders.sentence_text import OnnxSentenceEmbedder, SentenceEmbedder

    onnx = OnnxSentenceEmbedder(MINILM, settings=settings_at(tmp_path))
    reference = SentenceEmbedder(MINILM).embed(TEXTS)
    vectors = onnx.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert row_cosines(vectors, reference).min() >= 0.9999
    assert onnx.embed([]).shape == (0, 384)


@needs_minilm
def test_the_graph_is_cached_by_weights_digest_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mediasearch.encoders import sentence_text

    settings = settings_at(tmp_path)
    first = sentence_text.OnnxSentenceEmbedder(MINILM, settings=settings)
    sha = json.loads((tmp_path / "models" / precision.CACHE_FILE).read_text())["digests"][str((MINILM / "model.safetensors").resolve())]["sha256"]
    assert sha[:16] in first.onnx_path.name
    # the shared weights folder is read-only: the graph goes to the model store, never beside it
    assert first.onnx_path.parent == tmp_path / "models" / onnx_engine.FOLDER
    mtime = first.onnx_path.stat().st_mtime_ns

    def no_export(folder: Path, dest: Path) -> None:
        raise AssertionError("exported again although the graph was cached")

    monkeypatch.setattr(sentence_text, "export_bert", no_export)
    second = sentence_text.OnnxSentenceEmbedder(MINILM, settings=settings)
    assert second.onnx_path == first.onnx_path and second.onnx_path.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(second.embed(TEXTS[:2]), first.embed(TEXTS[:2]))
    # other export settings are another file
    other = onnx_engine.onnx_path(MINILM / "model.safetensors", settings, onnx_engine.export_settings("bert-mean-pooled", max_length=128))
    assert other != first.onnx_path


@needs_minilm
def test_a_damaged_graph_is_exported_again(tmp_path: Path) -> None:
    from mediasearch.encoders.sentence_text import OnnxSentenceEmbedder

    settings = settings_at(tmp_path)
    path = OnnxSentenceEmbedder(MINILM, settings=settings).onnx_path
    path.write_bytes(b"not an onnx graph")
    again = OnnxSentenceEmbedder(MINILM, settings=settings)
    assert again.embed(["hello"]).shape == (1, 384)
    assert path.stat().st_size > 1_000_000


@needs_minilm
def test_a_text_query_on_a_cached_graph_imports_no_torch(tmp_path: Path) -> None:
    from mediasearch.encoders.sentence_text import load_sentence_embedder

    from mediasearch.encoders import sentence_text

    settings = settings_at(tmp_path)
    # embedders are cached per process: one loaded by an earlier test holds a graph under
    # that test's folders, so start afresh to export under this test's settings
    sentence_text._cache.clear()
    load_sentence_embedder(MINILM, settings=settings, engine="onnx")  # exports (torch) in this process
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mediasearch.config import Settings\n"
        "from mediasearch.encoders.sentence_text import load_sentence_embedder\n"
        f"s = Settings(library_dir=Path({str(tmp_path / 'library')!r}), model_dir=Path({str(tmp_path / 'models')!r}))\n"
        f"e = load_sentence_embedder(Path({str(MINILM)!r}), settings=s)\n"
        "assert e.engine == 'onnxruntime', e.engine\n"
        "assert e.embed(['a quick brown fox']).shape == (1, 384)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'whisper') if m in sys.modules))\n"
    )
    # the engine forced as above: with auto, the choice is measured first (torch), see
    # tests/test_device_precision_text_audio.py for a measured ONNX choice read without torch
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEDIASEARCH_TEXT_ENGINE": "onnx"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


# -- image backbones ------------------------------------------------------------------------


def _saved_random(tmp_path: Path, name: str) -> tuple[object, Path]:
    """(spec, a weights file of a randomly initialised model with the official layout)."""
    from safetensors.torch import save_file

    from mediasearch.encoders.registry import get_spec

    torch.manual_seed(0)
    spec = get_spec(name)
    if name == "resnet50":
        import torchvision

        state = torchvision.models.resnet50(weights=None).state_dict()
    else:
        import timm

        state = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    path = tmp_path / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return spec, path


@pytest.mark.parametrize("name", ["efficientnet-lite0", "resnet50"])
def test_image_backbone_on_onnx_matches_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from media_factory import synthetic_scene

    from mediasearch.encoders.timm_backbone import TimmBackboneEncoder
    from mediasearch.encoders.torchvision_resnet import ResNet50Encoder

    cls = ResNet50Encoder if name == "resnet50" else TimmBackboneEncoder
    spec, weights = _saved_random(tmp_path, name)
    images = [synthetic_scene(seed) for seed in range(3)]
    base = Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models", batch_size=2)
    monkeypatch.setenv(onnx_engine.IMAGE_ENGINE_ENV, "torch")  # the reference: torch fp32 (a forced fp32 may run on ONNX Runtime)
    reference = cls(spec, base.with_(precision="fp32"), {spec.models[0]: weights})
    assert reference.onnx is None and "=torch" in reference.engine["reason"]
    monkeypatch.setenv(onnx_engine.IMAGE_ENGINE_ENV, "onnx")
    onnx = cls(spec, base.with_(precision="auto"), {spec.models[0]: weights})
    assert onnx.onnx is not None and onnx.engine["engine"] == "onnxruntime"
    graph = next((weights.parent / onnx_engine.FOLDER).glob("*.onnx"))  # beside the (writable) weights
    assert onnx.engine["min_cosine"] >= onnx_engine.PARITY
    vectors = onnx.embed_images(images)
    assert vectors.shape == (3, spec.dim) and vectors.dtype == np.float32
    assert row_cosines(vectors, reference.embed_images(images)).min() >= 0.9999
    # auto: the measured decision is cached next to the precision decision and reused
    monkeypatch.setenv(onnx_engine.IMAGE_ENGINE_ENV, "auto")
    first = cls(spec, base.with_(precision="auto"), {spec.models[0]: weights}).engine
    again = cls(spec, base.with_(precision="auto"), {spec.models[0]: weights}).engine
    assert again["source"] == "cached" and again["engine"] == first["engine"]
    assert graph.is_file()


# -- SigLIP towers and PANNs CNN14 ------------------------------------------------------------


@pytest.mark.slow
def test_siglip_towers_on_onnx_match_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random-init ViT-B-16-SigLIP saved as the hub file, loaded by SiglipEncoder: both towers exported and cosine >= 0.9999."""
    import shutil

    open_clip = pytest.importorskip("open_clip")
    from safetensors.torch import save_file

    from media_factory import synthetic_scene

    from mediasearch.encoders.registry import get_spec
    from mediasearch.encoders.siglip import SiglipEncoder

    folder = tmp_path / "ViT-B-16-SigLIP"
    folder.mkdir()
    torch.manual_seed(0)
    upstream = open_clip.create_model("ViT-B-16-SigLIP", pretrained=None).eval()
    save_file({k: v.contiguous() for k, v in upstream.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    del upstream
    if (MINILM / "tokenizer.json").is_file():  # the real SigLIP tokenizer is not available offline: MiniLM's stands in
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
            shutil.copy(MINILM / name, folder / name)
    spec = get_spec("siglip-vit-b16")
    base = Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models", batch_size=2)
    monkeypatch.setenv(onnx_engine.IMAGE_ENGINE_ENV, "torch")  # the reference: torch fp32 (a forced fp32 may run on ONNX Runtime)
    reference = SiglipEncoder(spec, base.with_(precision="fp32"), {spec.models[0]: folder})
    assert reference.onnx is None and "=torch" in reference.engine["reason"]
    monkeypatch.setenv(onnx_engine.IMAGE_ENGINE_ENV, "onnx")
    onnx = SiglipEncoder(spec, base.with_(precision="auto"), {spec.models[0]: folder})
    assert onnx.onnx is not None and onnx.engine["engine"] == "onnxruntime" and onnx.engine["min_cosine"] >= onnx_engine.PARITY
    images = [synthetic_scene(seed) for seed in range(3)]
    vectors = onnx.embed_images(images)
    assert vectors.shape == (3, 768) and vectors.dtype == np.float32
    assert row_cosines(vectors, reference.embed_images(images)).min() >= 0.9999
    graphs = sorted(p.name for p in (folder / onnx_engine.FOLDER).glob("*.onnx"))  # beside the (writable) weights
    assert len(graphs) == 1
    if (folder / "tokenizer.json").is_file():
        texts = ["a dog on the beach", "rain on a tin roof", "x"]
        got = onnx.embed_texts(texts)
        assert onnx.text_engine["engine"] == "onnxruntime" and onnx._text_onnx is not None
        assert row_cosines(got, reference.embed_texts(texts)).min() >= 0.9999
        assert len(list((folder / onnx_engine.FOLDER).glob("*.onnx"))) == 2  # the text tower: its own graph
    # torch forced: no session, whatever is cached
    monkeypatch.setenv(onnx_engine.IMAGE_ENGINE_ENV, "torch")
    assert SiglipEncoder(spec, base.with_(precision="auto"), {spec.models[0]: folder}).onnx is None


@pytest.mark.slow
def test_cnn14_on_onnx_matches_torch_and_the_graph_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audio_factory import noise, tone

    from mediasearch.encoders import panns
    from mediasearch.encoders.registry import get_spec

    labels = REPO.parent / "shared" / "models" / "panns" / "class_labels_indices.csv"
    if not labels.is_file():
        labels = REPO / "models" / "panns" / "class_labels_indices.csv"
    if not labels.is_file():
        pytest.skip("AudioSet labels not found")
    torch.manual_seed(0)
    weights = tmp_path / "panns" / "Cnn14_mAP=0.431.pth"
    weights.parent.mkdir()
    torch.save({"model": panns.build_cnn14().state_dict()}, str(weights))
    spec = get_spec("panns-cnn14")
    paths = {"panns-cnn14": weights, "audioset-labels": labels}
    base = Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models", batch_size=2)
    monkeypatch.setenv(onnx_engine.AUDIO_ENGINE_ENV, "torch")  # the reference: torch fp32 (a forced fp32 may run on ONNX Runtime)
    reference = panns.PannsCnn14Encoder(spec, base.with_(precision="fp32"), paths)
    assert reference.onnx is None
    monkeypatch.setenv(onnx_engine.AUDIO_ENGINE_ENV, "onnx")
    onnx = panns.PannsCnn14Encoder(spec, base.with_(precision="auto"), paths)
    assert onnx.onnx is not None and onnx.engine["engine"] == "onnxruntime" and onnx.engine["min_cosine"] >= onnx_engine.PARITY
    sr = 32_000
    # other batch sizes and lengths than the export's: both axes are dynamic
    for windows in ([tone(440, 3, sr=sr), noise(3, sr=sr)], [noise(7, sr=sr, seed=3)]):
        (e_onnx, l_onnx), (e_torch, l_torch) = onnx.embed_windows(windows), reference.embed_windows(windows)
        assert e_onnx.shape == (len(windows), 2048)
        assert row_cosines(e_onnx, e_torch).min() >= 0.9999
        assert [name for name, _ in l_onnx[0]] == [name for name, _ in l_torch[0]]
    graph = next((weights.parent / onnx_engine.FOLDER).glob("*.onnx"))
    mtime = graph.stat().st_mtime_ns

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("exported again although the graph was cached")

    monkeypatch.setattr(onnx_engine, "export_module", no_export)
    again = panns.PannsCnn14Encoder(spec, base.with_(precision="auto"), paths)
    assert again.onnx is not None and graph.stat().st_mtime_ns == mtime
    monkeypatch.setenv(onnx_engine.AUDIO_ENGINE_ENV, "auto")
    auto = panns.PannsCnn14Encoder(spec, base.with_(precision="auto"), paths).engine
    assert auto["source"] == "cached" and "onnxruntime fp32" in auto["reason"]
