"""Audio encoders: the weight-free baseline and PANNs CNN14 (random init) embed windows at the right rate, shape, times and norm, and load the official checkpoint layout."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from audio_factory import chirp, clicks, noise, place, silence, tone, write_audio, write_video
from mediasearch.config import Settings
from mediasearch.decode.audio import NoAudioStreamError, window_spans
from mediasearch.encoders.registry import get_spec, load_encoder
from mediasearch.errors import DecodeError, ModelUnavailableError
from mediasearch.media import MediaKind

LABELS_CSV = Path(__file__).resolve().parents[2] / "shared" / "models" / "panns" / "class_labels_indices.csv"


# -- baseline-audio -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory):
    settings = Settings(library_dir=tmp_path_factory.mktemp("lib"), model_dir=tmp_path_factory.mktemp("models"))
    return load_encoder("baseline-audio", settings)  # needs no weights


def test_baseline_vectors(baseline) -> None:
    sr = baseline.spec.sample_rate
    clips = [tone(440, 3, sr=sr), tone(470, 3, sr=sr, amp=0.1), noise(3, sr=sr), noise(3, sr=sr, seed=1, amp=0.3), silence(3, sr=sr)]
    vectors = baseline.embed_audio(clips)
    assert vectors.shape == (5, baseline.spec.dim) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all() and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, baseline.embed_audio(clips))  # deterministic
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] and sims[0, 1] > sims[0, 3]  # a tone is nearer a tone than noise
    assert sims[2, 3] > sims[2, 0] and sims[2, 3] > sims[2, 1]  # noise is nearer noise
    # loudness does not matter: the same sound 20 dB quieter is the same vector
    quieter = baseline.embed_audio([0.1 * clips[3]])[0]
    assert float(quieter @ vectors[3]) > 0.999
    # two different noises share no landmarks, so only the texture part (weight 0.4) agrees
    assert 0.3 < sims[2, 3] < 0.45


def test_long_query_is_the_mean_of_its_windows(baseline) -> None:
    sr = baseline.spec.sample_rate
    clip = np.concatenate([tone(300, 10, sr=sr), noise(10, sr=sr), chirp(200, 2000, 3, sr=sr)])
    (vector,) = baseline.embed_audio([clip])
    windows = [clip[a:b] for a, b in window_spans(clip.size, sr, window_s=10, hop_s=5)]
    mean = baseline.embed_windows(windows)[0].mean(axis=0)
    assert np.allclose(vector, mean / np.linalg.norm(mean), atol=1e-5)


def test_baseline_encode_asset_windows(baseline, tmp_path: Path) -> None:
    sr = baseline.spec.sample_rate
    signal = place([(0.0, chirp(100, 3000, 23.0, sr=sr)), (10.0, clicks(5.0, sr=sr))], total_s=23.0, sr=sr)
    path = write_audio(tmp_path / "a.ogg", signal, sr=sr)
    enc = baseline.encode_asset(path, MediaKind.AUDIO)
    spans = window_spans(23 * sr, sr, window_s=10, hop_s=5)
    assert [(s.start_s, s.end_s) for s in enc.segments] == [(a / sr, b / sr) for a, b in spans]
    assert enc.media_s == pytest.approx(23.0)
    assert all(s.vector.shape == (baseline.spec.dim,) and abs(np.linalg.norm(s.vector) - 1) < 1e-5 for s in enc.segments)
    assert enc.transcript is None


def test_baseline_short_silent_and_bad_files(baseline, tmp_path: Path) -> None:
    short = baseline.encode_asset(write_audio(tmp_path / "s.wav", tone(900, 0.4)), MediaKind.AUDIO)
    assert len(short.segments) == 1 and short.segments[0].start_s == 0.0 and short.segments[0].end_s == pytest.approx(0.4)
    quiet = baseline.encode_asset(write_audio(tmp_path / "q.flac", silence(12.0)), MediaKind.AUDIO)
    assert [(s.start_s, s.end_s) for s in quiet.segments] == [(0.0, 10.0), (2.0, 12.0)]
    assert all(np.isfinite(s.vector).all() for s in quiet.segments)
    (tmp_path / "zero.mp3").write_bytes(b"")
    with pytest.raises(DecodeError):
        baseline.encode_asset(tmp_path / "zero.mp3", MediaKind.AUDIO)


def test_baseline_video_soundtrack(baseline, tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", 4.0, audio=tone(500, 4.0))
    enc = baseline.encode_asset(video, MediaKind.VIDEO)
    assert len(enc.segments) == 1 and enc.media_s == pytest.approx(4.0, abs=0.1)
    mute = write_video(tmp_path / "m.mp4", 2.0)
    assert baseline.encode_asset(mute, MediaKind.VIDEO).segments == []
    with pytest.raises(NoAudioStreamError):
        baseline.encode_asset(mute, MediaKind.AUDIO)


# -- PANNs CNN14 ----------------------------------------------------------------------------------
def _official_layout() -> dict[str, tuple[int, ...]]:
    """The keys and shapes of ``checkpoint['model']`` in Cnn14_mAP=0.431.pth (Zenodo 3987831)."""
    layout: dict[str, tuple[int, ...]] = {
        "spectrogram_extractor.stft.conv_real.weight": (513, 1, 1024),
        "spectrogram_extractor.stft.conv_imag.weight": (513, 1, 1024),
        "logmel_extractor.melW": (513, 64),
    }

    def bn(prefix: str, n: int) -> None:
        layout.update({f"{prefix}.weight": (n,), f"{prefix}.bias": (n,), f"{prefix}.running_mean": (n,)})
        layout.update({f"{prefix}.running_var": (n,), f"{prefix}.num_batches_tracked": ()})

    bn("bn0", 64)
    channels = [1, 64, 128, 256, 512, 1024, 2048]
    for i in range(1, 7):
        c_in, c_out = channels[i - 1], channels[i]
        layout[f"conv_block{i}.conv1.weight"] = (c_out, c_in, 3, 3)
        layout[f"conv_block{i}.conv2.weight"] = (c_out, c_out, 3, 3)
        bn(f"conv_block{i}.bn1", c_out)
        bn(f"conv_block{i}.bn2", c_out)
    layout.update({"fc1.weight": (2048, 2048), "fc1.bias": (2048,), "fc_audioset.weight": (527, 2048), "fc_audioset.bias": (527,)})
    return layout


@pytest.fixture(scope="module")
def cnn14_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchlibrosa")
    from mediasearch.encoders.panns import build_cnn14

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "panns" / "Cnn14_mAP=0.431.pth"
    path.parent.mkdir(parents=True)
    torch.save({"model": build_cnn14().state_dict(), "iteration": 0}, path)  # the official file's layout
    return path


@pytest.fixture(scope="module")
def panns(cnn14_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    if not LABELS_CSV.is_file():
        pytest.skip(f"AudioSet labels not found at {LABELS_CSV}")
    from mediasearch.encoders.panns import PannsCnn14Encoder

    settings = Settings(library_dir=tmp_path_factory.mktemp("lib"), model_dir=cnn14_checkpoint.parents[1], precision="fp32")
    paths = {"panns-cnn14": cnn14_checkpoint, "audioset-labels": LABELS_CSV}
    return PannsCnn14Encoder(get_spec("panns-cnn14"), settings, paths)


def test_cnn14_is_built_without_running_panns_inference(cnn14_checkpoint: Path) -> None:
    from mediasearch.encoders.panns import build_cnn14

    model = build_cnn14()
    assert "panns_inference" not in sys.modules  # its __init__ would wget the label CSV
    assert type(model).__name__ == "Cnn14"
    state = model.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == _official_layout()


def test_cnn14_front_end_is_32k_log_mel() -> None:
    import librosa

    from mediasearch.encoders.panns import CNN14_CONFIG, build_cnn14

    assert get_spec("panns-cnn14").sample_rate == CNN14_CONFIG["sample_rate"] == 32_000
    mel = build_cnn14().logmel_extractor.melW.detach().numpy()
    expected = librosa.filters.mel(sr=32_000, n_fft=1024, n_mels=64, fmin=50, fmax=14_000).T
    assert np.allclose(mel, expected, atol=1e-6)


def test_panns_embeddings_and_labels(panns) -> None:
    assert len(panns.labels) == 527 and panns.labels[0] == "Speech"
    sr = 32_000
    vectors = panns.embed_audio([tone(440, 3, sr=sr), noise(1.5, sr=sr), tone(440, 0.2, sr=sr)])
    assert vectors.shape == (3, 2048) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # a very short clip is zero-padded to 1 s
    padded = panns.embed_audio([np.pad(tone(440, 0.2, sr=sr), (0, sr - int(0.2 * sr)))])
    assert np.allclose(vectors[2], padded[0], atol=1e-5)
    _, labels = panns.embed_windows([noise(2, sr=sr)])
    scores = [s for _, s in labels[0]]
    assert len(labels[0]) == 5 and scores == sorted(scores, reverse=True)
    assert all(name in panns.labels and 0.0 <= s <= 1.0 for name, s in labels[0])


def test_panns_encode_asset_windows_at_32k(panns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, ...]] = []
    forward = panns.forward

    def spy(batch):
        seen.append(np.asarray(batch).shape)
        return forward(batch)

    monkeypatch.setattr(panns, "forward", spy)
    signal = place([(2.0, noise(3.0, sr=44_100)), (12.0, tone(1000, 4.0, sr=44_100))], total_s=23.0, sr=44_100)
    enc = panns.encode_asset(write_audio(tmp_path / "x.flac", signal, sr=44_100), MediaKind.AUDIO)
    assert [(s.start_s, s.end_s) for s in enc.segments] == [(0.0, 10.0), (5.0, 15.0), (10.0, 20.0), (13.0, 23.0)]
    assert all(shape[1] == 320_000 for shape in seen)  # 10 s at 32 kHz
    assert all(s.vector.shape == (2048,) and abs(np.linalg.norm(s.vector) - 1) < 1e-5 for s in enc.segments)
    assert all(len(s.labels) == 5 for s in enc.segments)
    short = panns.encode_asset(write_audio(tmp_path / "s.m4a", clicks(0.6, sr=16_000)), MediaKind.AUDIO)
    assert len(short.segments) == 1 and short.segments[0].end_s == pytest.approx(0.6, abs=0.05)


def test_panns_video_without_audio_and_bad_audio(panns, tmp_path: Path) -> None:
    mute = write_video(tmp_path / "m.mp4", 2.0)
    assert panns.encode_asset(mute, MediaKind.VIDEO).segments == []
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(DecodeError):
        panns.encode_asset(tmp_path / "bad.wav", MediaKind.AUDIO)


class _Payload:
    """Any object a checkpoint could pickle (and so run code when unpickled)."""


def test_checkpoint_loading_is_weights_only(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from mediasearch.encoders.panns import load_checkpoint_state

    state = {"fc1.weight": torch.ones(2, 2)}
    # training checkpoints also pickle NumPy scalars: allowed without a full unpickle
    torch.save({"model": state, "iteration": np.int64(5), "lr": np.float64(1e-3)}, tmp_path / "np.pth")
    assert torch.equal(load_checkpoint_state(tmp_path / "np.pth")["fc1.weight"], state["fc1.weight"])

    torch.save({"model": state, "extra": _Payload()}, tmp_path / "code.pth")
    with pytest.raises(ModelUnavailableError):
        load_checkpoint_state(tmp_path / "code.pth")  # arbitrary objects need a matching sha256
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(ModelUnavailableError):
        load_checkpoint_state(tmp_path / "list.pth")


def test_wrong_checkpoint_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    if not LABELS_CSV.is_file():
        pytest.skip("no AudioSet labels")
    from mediasearch.encoders import panns as panns_module

    settings = Settings(library_dir=tmp_path, model_dir=tmp_path, precision="fp32")
    paths = {"panns-cnn14": tmp_path / "any.pth", "audioset-labels": LABELS_CSV}
    good = panns_module.build_cnn14().state_dict()
    checkpoint: dict = {}
    monkeypatch.setattr(panns_module, "load_checkpoint_state", lambda path, sha256=None: checkpoint)

    def load():
        return panns_module.PannsCnn14Encoder(get_spec("panns-cnn14"), settings, paths)

    checkpoint.update({"fc1.weight": torch.zeros(3)})
    with pytest.raises(ModelUnavailableError, match="does not fit CNN14"):
        load()
    checkpoint.clear()
    checkpoint.update(good, **{"fc1.weight": torch.zeros(10, 10)})  # right names, wrong shape
    with pytest.raises(ModelUnavailableError, match="does not fit CNN14"):
        load()
    # a checkpoint without the fixed STFT/mel matrices still loads: they follow from the config
    checkpoint.clear()
    checkpoint.update({k: v for k, v in good.items() if not k.startswith(("spectrogram_", "logmel_"))})
    assert load().embed_audio([tone(440, 1.0, sr=32_000)]).shape == (1, 2048)

def test_speech_chunks_are_cut_at_quiet_points() -> None:
    from mediasearch.encoders.whisper_speech import split_at_quiet_points

    sr = 100
    rng = np.random.default_rng(0)
    signal = rng.uniform(0.2, 1.0, 1000).astype(np.float32)  # 10 s of "speech"
    signal[530:540] = 0.0  # a pause at 5.3-5.4 s, inside the search region before the 6 s limit
    signal[880:890] = 0.0
    blocks = [signal[i : i + 70] for i in range(0, signal.size, 70)]
    chunks = list(split_at_quiet_points(iter(blocks), sr=sr, chunk_s=6.0, search_s=2.0))
    assert np.array_equal(np.concatenate([c for _, c in chunks]), signal)
    assert all(c.size <= 600 for _, c in chunks)
    starts = [s for s, _ in chunks]
    assert starts[0] == 0.0 and 5.3 <= starts[1] <= 5.4
    assert starts == [0.0, *np.cumsum([c.size / sr for _, c in chunks])[:-1].tolist()]
