"""CLAP (LAION-CLAP HTSAT-unfused through transformers' ClapModel) without its weights.

- the official architecture: ``official_config()`` builds a model whose state-dict keys and
  shapes are those of HTSAT-base + RoBERTa-base as the checkpoint holds them (derived here
  independently from the architecture's description), and whose fp32 size agrees with
  the official ``pytorch_model.bin`` (614,525,833 bytes);
- preprocessing: the feature extractor built from the official ``preprocessor_config.json``
  values gives (1, 1001, 64) log-mel frames of 48 kHz audio with librosa's Slaney mel bank
  and repeat-pads short clips;
- a small random-init ClapModel of the same family, saved as the hub folder's files (config,
  preprocessor config, RoBERTa vocab/merges, pytorch_model.bin), is imported with
  ``mediasearch models import`` and loaded through the model store; the CLI indexes
  generated sounds and ``search --text "dog barking" --json`` returns hits labelled
  ``clap-htsat`` (their ranking means nothing with random weights and is not asserted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from audio_factory import chirp, clicks, noise, tone, write_audio
from mediasearch.config import Settings
from mediasearch.encoders.registry import get_spec
from mediasearch.errors import ModelUnavailableError
from mediasearch.media import MediaKind, Modality

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from mediasearch.encoders import clap as clap_mod  # noqa: E402

SR = 48_000
#: bytes of laion/clap-htsat-unfused pytorch_model.bin at revision 8fa0f1c6 (models/manifest.toml)
OFFICIAL_WEIGHTS_BYTES = 614_525_833


# -- helpers --------------------------------------------------------------------------------

from mediasearch.encoders.ct2_whisper import _bytes_to_unicode  # noqa: E402  GPT-2/RoBERTa byte-level BPE table


def write_bpe_files(folder: Path) -> int:
    """A small RoBERTa-style byte-level BPE (vocab.json + merges.txt): RoBERTa's special
    token ids, every byte, and a few merges. Returns the vocabulary size."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for ch in _bytes_to_unicode().values():
        vocab.setdefault(ch, len(vocab))
    merges = [("Ġ", "d"), ("o", "g"), ("d", "og"), ("Ġd", "og"), ("Ġ", "b"), ("a", "r"), ("Ġb", "ar"), ("i", "n"), ("in", "g"), ("k", "ing")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<mask>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    return len(vocab)


def small_config(vocab_size: int):
    """A ClapConfig of the same family, shrunk for 2 CPU cores: HTSAT with 4 stages of one
    block (16 -> 128 wide; spec size 256, window 8, 64 mel bins as the official one) and a
    one-layer RoBERTa; both projected to 512 like the official model (the encoder's dim)."""
    from transformers import ClapAudioConfig, ClapConfig, ClapTextConfig

    audio = ClapAudioConfig(
        enable_fusion=False, patch_embeds_hidden_size=16, hidden_size=128, depths=[1, 1, 1, 1],
        num_attention_heads=[1, 2, 2, 4], projection_dim=512,
    )
    text = ClapTextConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=80, projection_dim=512,
    )
    return ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=512)


def write_model_folder(folder: Path, *, seed: int = 0) -> Path:
    """A random-init model folder laid out as the hub repo laion/clap-htsat-unfused."""
    from transformers import ClapModel

    folder.mkdir(parents=True, exist_ok=True)
    vocab_size = write_bpe_files(folder)
    config = small_config(vocab_size)
    (folder / "config.json").write_text(config.to_json_string(), encoding="utf-8")
    (folder / "preprocessor_config.json").write_text(json.dumps(clap_mod.PREPROCESSOR_CONFIG), encoding="utf-8")
    torch.manual_seed(seed)
    torch.save(ClapModel(config).state_dict(), folder / "pytorch_model.bin")
    return folder


def _official_layout() -> dict[str, tuple[int, ...]]:
    """Keys and shapes of the CLAP HTSAT-unfused state dict, from the architecture itself:
    RoBERTa-base (12 layers, 768 wide, 3072 inner, vocabulary 50265, 514 positions), HTSAT
    (patch 4 -> 96 channels, stages of 2-2-6-2 Swin blocks with 4-8-16-32 heads, window 8,
    patch merging between stages, 768 out, batch norm over 64 mel bins) and two 512-d
    projection MLPs with a temperature each."""
    layout: dict[str, tuple[int, ...]] = {"logit_scale_a": (), "logit_scale_t": ()}

    def linear(prefix: str, n_out: int, n_in: int, bias: bool = True) -> None:
        layout[f"{prefix}.weight"] = (n_out, n_in)
        if bias:
            layout[f"{prefix}.bias"] = (n_out,)

    def norm(prefix: str, n: int) -> None:
        layout[f"{prefix}.weight"] = (n,)
        layout[f"{prefix}.bias"] = (n,)

    t = "text_model"
    layout.update({
        f"{t}.embeddings.word_embeddings.weight": (50265, 768),
        f"{t}.embeddings.position_embeddings.weight": (514, 768),
        f"{t}.embeddings.token_type_embeddings.weight": (1, 768),
        f"{t}.embeddings.position_ids": (1, 514),
        f"{t}.embeddings.token_type_ids": (1, 514),
    })
    norm(f"{t}.embeddings.LayerNorm", 768)
    for i in range(12):
        p = f"{t}.encoder.layer.{i}"
        for name in ("query", "key", "value"):
            linear(f"{p}.attention.self.{name}", 768, 768)
        linear(f"{p}.attention.output.dense", 768, 768)
        norm(f"{p}.attention.output.LayerNorm", 768)
        linear(f"{p}.intermediate.dense", 3072, 768)
        linear(f"{p}.output.dense", 768, 3072)
        norm(f"{p}.output.LayerNorm", 768)
    linear(f"{t}.pooler.dense", 768, 768)

    a = "audio_model.audio_encoder"
    layout[f"{a}.patch_embed.proj.weight"] = (96, 1, 4, 4)
    layout[f"{a}.patch_embed.proj.bias"] = (96,)
    norm(f"{a}.patch_embed.norm", 96)
    window_tokens = 8 * 8
    for stage, (depth, heads) in enumerate(zip((2, 2, 6, 2), (4, 8, 16, 32))):
        dim = 96 * 2**stage
        for block in range(depth):
            p = f"{a}.layers.{stage}.blocks.{block}"
            norm(f"{p}.layernorm_before", dim)
            layout[f"{p}.attention.self.relative_position_bias_table"] = ((2 * 8 - 1) ** 2, heads)
            layout[f"{p}.attention.self.relative_position_index"] = (window_tokens, window_tokens)
            for name in ("query", "key", "value"):
                linear(f"{p}.attention.self.{name}", dim, dim)
            linear(f"{p}.attention.output.dense", dim, dim)
            norm(f"{p}.layernorm_after", dim)
            linear(f"{p}.intermediate.dense", 4 * dim, dim)
            linear(f"{p}.output.dense", dim, 4 * dim)
        if stage < 3:
            linear(f"{a}.layers.{stage}.downsample.reduction", 2 * dim, 4 * dim, bias=False)
            norm(f"{a}.layers.{stage}.downsample.norm", 4 * dim)
    norm(f"{a}.batch_norm", 64)
    layout[f"{a}.batch_norm.running_mean"] = (64,)
    layout[f"{a}.batch_norm.running_var"] = (64,)
    layout[f"{a}.batch_norm.num_batches_tracked"] = ()
    norm(f"{a}.norm", 768)
    for tower in ("audio_projection", "text_projection"):
        linear(f"{tower}.linear1", 512, 768)
        linear(f"{tower}.linear2", 512, 512)
    return layout


def run_cli(args: list[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


# -- the official architecture ------------------------------------------------------------------


def test_official_architecture_keys_shapes_and_size() -> None:
    from transformers import ClapModel

    config = clap_mod.official_config()
    assert config.audio_config.enable_fusion is False and config.projection_dim == 512
    with torch.device("meta"):  # shapes and dtypes without allocating or initialising 153 M weights
        model = ClapModel(config)
    state = model.state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    expected = _official_layout()
    assert set(shapes) - set(expected) == set() and set(expected) - set(shapes) == set()
    assert shapes == expected
    # the official file holds these tensors: its size is their fp32 bytes plus pickle framing
    tensor_bytes = sum(v.numel() * v.element_size() for v in state.values())
    assert abs(OFFICIAL_WEIGHTS_BYTES - tensor_bytes) / OFFICIAL_WEIGHTS_BYTES < 0.002
    # the encoder's loader accepts exactly this layout (saved as the hub's file would be)
    clap_mod.load_weights(model, _InMemory(state))


class _InMemory:
    """A path-like stand-in that makes load_state_dict_file return a given state dict."""

    def __init__(self, state: dict) -> None:
        self.state = state


@pytest.fixture(autouse=True)
def _in_memory_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    from mediasearch.encoders import torch_utils

    real = torch_utils.load_state_dict_file
    monkeypatch.setattr(torch_utils, "load_state_dict_file", lambda p: dict(p.state) if isinstance(p, _InMemory) else real(p))


def test_loader_refuses_what_does_not_fit_and_ignores_constant_buffers() -> None:
    from transformers import ClapModel

    config = small_config(300)
    good = ClapModel(config).state_dict()
    # constant buffers may be absent (newer transformers do not save them) or extra
    without = {k: v for k, v in good.items() if not k.endswith(clap_mod.RECOMPUTED_BUFFERS)}
    assert len(without) < len(good)
    clap_mod.load_weights(ClapModel(config), _InMemory(without))
    clap_mod.load_weights(ClapModel(config), _InMemory({**good, "text_model.embeddings.position_ids_old.position_ids": torch.zeros(1)}))
    with pytest.raises(ModelUnavailableError, match="1 missing"):
        clap_mod.load_weights(ClapModel(config), _InMemory({k: v for k, v in good.items() if k != "logit_scale_a"}))
    with pytest.raises(ModelUnavailableError, match="1 wrong-shape"):
        clap_mod.load_weights(ClapModel(config), _InMemory({**good, "audio_projection.linear2.bias": torch.zeros(3)}))
    with pytest.raises(ModelUnavailableError, match="1 unexpected"):
        clap_mod.load_weights(ClapModel(config), _InMemory({**good, "head.weight": torch.zeros(3)}))


# -- preprocessing ------------------------------------------------------------------------------


def test_feature_extractor_is_the_official_48k_mel_front_end(tmp_path: Path) -> None:
    import librosa

    (tmp_path / "preprocessor_config.json").write_text(json.dumps(clap_mod.PREPROCESSOR_CONFIG))
    fe = clap_mod.load_feature_extractor(tmp_path)
    spec = get_spec("clap-htsat")
    assert fe.sampling_rate == spec.sample_rate == SR and fe.nb_max_samples == clap_mod.WINDOW_SAMPLES == 10 * SR
    assert (fe.truncation, fe.padding, fe.hop_length, fe.fft_window_size) == ("rand_trunc", "repeatpad", 480, 1024)
    assert spec.options["window_s"] == 10.0 and Modality.TEXT in spec.query_modalities and Modality.AUDIO in spec.query_modalities
    # rand_trunc uses the Slaney mel bank: librosa's, 64 bands over 50-14000 Hz
    expected = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=64, fmin=50, fmax=14_000, htk=False, norm="slaney")
    np.testing.assert_allclose(fe.mel_filters_slaney, expected.T, atol=1e-6)
    out = fe([tone(440, 2.5, sr=SR), noise(10.0, sr=SR)], sampling_rate=SR, return_tensors="np")
    assert out["input_features"].shape == (2, 1, 1001, 64) and out["input_features"].dtype == np.float32
    assert not out["is_longer"].any()
    # a short clip is repeated to fill 10 s (2.5 s x 4 = exactly 10 s here)
    tiled = fe([np.tile(tone(440, 2.5, sr=SR), 4)], sampling_rate=SR, return_tensors="np")
    np.testing.assert_allclose(out["input_features"][0], tiled["input_features"][0], atol=1e-5)


def test_tokenizer_is_roberta_bpe_from_the_folder_files(tmp_path: Path) -> None:
    write_bpe_files(tmp_path)
    tok = clap_mod.load_tokenizer(tmp_path)
    ids = tok(["dog barking"])["input_ids"][0]
    vocab = json.loads((tmp_path / "vocab.json").read_text())
    assert ids[0] == vocab["<s>"] == 0 and ids[-1] == vocab["</s>"] == 2
    assert vocab["dog"] == ids[1] and vocab["Ġbar"] in ids  # byte-level BPE with its merges
    assert tok.pad_token_id == 1  # RoBERTa's padding id (its position ids depend on it)


# -- through the model store and the CLI --------------------------------------------------------


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model_folder(tmp_path_factory.mktemp("clap") / "clap-htsat-unfused")


@pytest.fixture(scope="module")
def encoder(model_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    from mediasearch.encoders.clap import ClapEncoder

    settings = Settings(library_dir=tmp_path_factory.mktemp("lib"), model_dir=model_folder.parent, precision="fp32", batch_size=4)
    spec = get_spec("clap-htsat")
    return ClapEncoder(spec, settings, {spec.models[0]: model_folder})


def test_encoder_vectors_windows_and_text(encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = encoder.embed_audio([tone(440, 3, sr=SR), noise(1.5, sr=SR)])
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors, encoder.embed_audio([tone(440, 3, sr=SR), noise(1.5, sr=SR)]))
    texts = encoder.embed_texts(["dog barking", "rain on a roof", "dog barking"])
    assert texts.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(texts[0], texts[2], atol=1e-6)
    assert not np.allclose(texts[0], texts[1])
    assert encoder.embed_texts([]).shape == (0, 512)

    seen: list[tuple[int, ...]] = []
    features = encoder.features

    def spy(windows):
        out = features(windows)
        seen.append(tuple(out["input_features"].shape))
        return out

    monkeypatch.setattr(encoder, "features", spy)
    signal = np.concatenate([noise(9.0, sr=44_100), tone(700, 8.0, sr=44_100)])
    enc = encoder.encode_asset(write_audio(tmp_path / "x.flac", signal, sr=44_100), MediaKind.AUDIO)
    assert [(s.start_s, s.end_s) for s in enc.segments] == [(0.0, 10.0), (5.0, 15.0), (7.0, 17.0)]
    assert seen and all(shape[1:] == (1, 1001, 64) for shape in seen)
    assert all(s.vector.shape == (512,) and abs(np.linalg.norm(s.vector) - 1) < 1e-5 and s.labels == [] for s in enc.segments)


def test_text_query_reaches_sounds_through_the_cli(
    model_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # fp32: no precision calibration or ONNX export of random weights (tests/test_precision.py covers auto)
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models"), "MEDIASEARCH_PRECISION": "fp32"}
    # random weights are not the official file: import refuses them, --force installs them
    refused = run_cli(["models", "import", "clap-htsat-unfused", str(model_folder)], env, check=False)
    assert refused.returncode != 0 and "does not match model 'clap-htsat-unfused'" in refused.stderr
    assert "nothing was installed" in refused.stderr
    run_cli(["models", "import", "clap-htsat-unfused", str(model_folder), "--force"], env)

    media = tmp_path / "media"
    media.mkdir()
    write_audio(media / "barks.wav", np.concatenate([clicks(3.0, sr=SR, rate_hz=3.0), silence_pad()]), sr=SR)
    write_audio(media / "rain.ogg", noise(6.0, sr=SR, amp=0.2, seed=3), sr=SR)
    write_audio(media / "siren.flac", chirp(500, 1500, 12.0, sr=22_050), sr=22_050)
    report = json.loads(run_cli(["index", str(media), "--encoders", "clap-htsat", "--json", "-q"], env).stdout)
    assert report["encoders"]["clap-htsat"]["items"] == 3
    hits = json.loads(run_cli(["search", "--text", "dog barking", "--json", "--no-server"], env).stdout)
    assert {h["path"] for h in hits} == {str(media / n) for n in ("barks.wav", "rain.ogg", "siren.flac")}
    assert all(h["encoder"] == "clap-htsat" and h["kind"] == "audio" and h["start_s"] is not None for h in hits)
    # the table names the encoder of every hit (in this process: importing transformers again costs seconds)
    from mediasearch import cli
    from mediasearch.encoders.registry import unload_all

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        assert cli.main(["search", "--text", "dog barking", "--no-server", "-k", "2"]) == 0
    finally:
        unload_all()
    human = capsys.readouterr().out
    rows = [line for line in human.splitlines() if line.lstrip()[:1].isdigit()]
    assert len(rows) == 2 and all("clap-htsat" in row for row in rows)


def silence_pad() -> np.ndarray:
    return np.zeros(SR, np.float32)


def test_text_queries_default_to_sound_beside_frames_and_transcripts(library, monkeypatch: pytest.MonkeyPatch) -> None:
    from mediasearch.search import default_encoders

    indexed = ["baseline-image", "siglip-vit-b16", "whisper-tiny.en", "panns-cnn14", "clap-htsat", "baseline-audio"]
    monkeypatch.setattr(library, "indexed_encoders", lambda: list(indexed))
    # best first by the registry's preference ranks: one per media type
    assert default_encoders(library, Modality.TEXT) == ["clap-htsat", "siglip-vit-b16", "whisper-tiny.en"]
    assert default_encoders(library, Modality.AUDIO) == ["clap-htsat"]
    indexed.remove("clap-htsat")
    assert default_encoders(library, Modality.TEXT) == ["siglip-vit-b16", "whisper-tiny.en"]
    assert default_encoders(library, Modality.AUDIO) == ["panns-cnn14"]


@pytest.mark.slow
def test_text_query_returns_sounds_frames_and_transcripts_each_labelled(
    model_folder: Path, tmp_path: Path, shared_models: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`search --text "dog barking"` over a library of a sound, a photo and a spoken clip
    answers from CLAP (sounds), CLIP ViT-B/32 (pictures; random init, TorchScript archive
    like OpenAI's) and real Whisper tiny.en (transcripts), each hit naming its encoder."""
    import copy
    import warnings

    import open_clip

    import media_factory as mf
    from audio_factory import have_espeak, place, speech
    from mediasearch import cli
    from mediasearch.encoders.registry import unload_all

    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    pytest.importorskip("whisper")
    # fp32: no precision calibration or ONNX export of random weights (tests/test_precision.py covers auto)
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models"), "MEDIASEARCH_PRECISION": "fp32"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def main(args: list[str]) -> str:
        capsys.readouterr()
        code = cli.main(args)
        out = capsys.readouterr()
        assert code == 0, out.err
        return out.out

    torch.manual_seed(0)
    clip = open_clip.create_model("ViT-B-32", pretrained=None, force_quick_gelu=True).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace_module(copy.deepcopy(clip), {"encode_image": torch.zeros(1, 3, 224, 224)}, check_trace=False)
        torch.jit.save(traced, str(tmp_path / "ViT-B-32.pt"))
    del traced, clip
    try:
        main(["models", "import", "clap-htsat-unfused", str(model_folder), "--force"])
        main(["models", "import", "clip-vit-b32-openai", str(tmp_path / "ViT-B-32.pt"), "--force"])
        main(["models", "import", "whisper-tiny.en", str(shared_models)])
        media = tmp_path / "media"
        mf.make_image(media / "photo.jpg", seed=1)
        write_audio(media / "barks.wav", clicks(4.0, sr=SR, rate_hz=3.0), sr=SR)
        write_audio(media / "talk.wav", place([(0.5, speech("The dog is barking in the garden."))], total_s=4.0))
        main(["index", str(media), "--encoders", "clap-htsat,clip-vit-b32,whisper-tiny.en", "-q"])
        hits = json.loads(main(["search", "--text", "dog barking", "--json", "--no-server"]))
    finally:
        unload_all()
    by_encoder = {h["encoder"]: h for h in hits}
    assert set(by_encoder) == {"clap-htsat", "clip-vit-b32", "whisper-tiny.en"}
    assert by_encoder["clip-vit-b32"]["path"].endswith("photo.jpg") and by_encoder["clip-vit-b32"]["kind"] == "image"
    assert by_encoder["whisper-tiny.en"]["path"].endswith("talk.wav") and "barking" in by_encoder["whisper-tiny.en"]["text"].lower()
    assert by_encoder["clap-htsat"]["kind"] == "audio"
    assert {h["path"].rsplit("/", 1)[-1] for h in hits if h["encoder"] == "clap-htsat"} == {"barks.wav", "talk.wav"}
