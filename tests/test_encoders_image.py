"""Image encoders without real weights: upstream preprocessing, shapes, norms, checkpoint layout, offline loading.

Learned encoders are loaded through their normal constructor from a randomly initialised
state dict saved in the official file layout, so the real loading code runs; the baseline
needs no weights and is checked for determinism and near-duplicate robustness.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_factory import jpeg_roundtrip, synthetic_scene
from mediasearch.config import Settings
from mediasearch.encoders import registry

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
MINILM = SHARED_MODELS / "sentence-transformers" / "all-MiniLM-L6-v2"


# -- helpers ---------------------------------------------------------------------------


def photo() -> Image.Image:
    """A real decoded JPEG photo: matplotlib's grace_hopper.jpg, else a JPEG-decoded scene."""
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        if path.is_file():
            with Image.open(path) as im:
                return im.convert("RGB")
    except ImportError:
        pass
    return jpeg_roundtrip(synthetic_scene(1234, (640, 480)))


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Fail any socket connection made inside the block."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket.socket, "connect_ex", refuse)
        mp.setattr(socket, "create_connection", refuse)
        yield


def settings_for(tmp: Path, **changes: object) -> Settings:
    changes.setdefault("precision", "fp32")  # outputs are compared with upstream fp32 (tests/test_precision.py covers auto)
    return Settings(library_dir=tmp / "library", model_dir=tmp / "models", **changes)  # type: ignore[arg-type]


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def image() -> Image.Image:
    return photo()


# -- baseline --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory):
    return registry.load_encoder("baseline-image", settings_for(tmp_path_factory.mktemp("baseline")))


def test_baseline_shape_dtype_norm_and_determinism(baseline, image: Image.Image) -> None:
    images = [image, synthetic_scene(1), synthetic_scene(2)]
    first = baseline.embed_images(images)
    assert_unit_rows(first, 3, registry.get_spec("baseline-image").dim)
    np.testing.assert_array_equal(first, baseline.embed_images(images))
    assert baseline.embed_images([]).shape == (0, registry.get_spec("baseline-image").dim)


def test_baseline_odd_inputs(baseline) -> None:
    odd = [
        Image.new("RGB", (1, 1), (10, 200, 30)),
        Image.new("RGB", (300, 2), (0, 0, 0)),
        Image.new("L", (50, 80), 128),
        synthetic_scene(5).convert("RGBA"),
        synthetic_scene(6).convert("P"),
    ]
    assert_unit_rows(baseline.embed_images(odd), len(odd), registry.get_spec("baseline-image").dim)


@pytest.mark.parametrize("edit", ["crop", "resize", "jpeg", "rotate", "combo"])
def test_baseline_near_duplicate_ranks_first(baseline, image: Image.Image, edit: str) -> None:
    originals = [image] + [synthetic_scene(seed) for seed in range(9)]
    database = baseline.embed_images(originals)
    w, h = image.size
    edited = {
        "crop": image.crop((int(0.06 * w), int(0.04 * h), int(0.95 * w), int(0.94 * h))),
        "resize": image.resize((w // 3, h // 3), Image.Resampling.BICUBIC),
        "jpeg": jpeg_roundtrip(image, 30),
        "rotate": image.rotate(3, resample=Image.Resampling.BICUBIC),
        "combo": jpeg_roundtrip(image.crop((int(0.05 * w), 0, w, int(0.95 * h))).resize((w // 2, h // 2)), 50),
    }[edit]
    scores = database @ baseline.embed_images([edited])[0]
    assert int(np.argmax(scores)) == 0, scores
    assert scores[0] > 0.7


# -- ResNet50 (torchvision) ----------------------------------------------------------


@pytest.fixture(scope="module")
def resnet(tmp_path_factory: pytest.TempPathFactory):
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from mediasearch.encoders.torchvision_resnet import WEIGHTS_FILE, ResNet50Encoder

    tmp = tmp_path_factory.mktemp("resnet")
    torch.manual_seed(0)
    upstream = torchvision.models.resnet50(weights=None).eval()
    path = tmp / WEIGHTS_FILE
    torch.save(upstream.state_dict(), path)
    spec = registry.get_spec("resnet50")
    with no_network():
        encoder = ResNet50Encoder(spec, settings_for(tmp, batch_size=2), {spec.models[0]: path})
    return encoder, upstream, path


def test_resnet50_preprocess_is_torchvision_weights_transform(resnet, image: Image.Image) -> None:
    import torch
    import torchvision

    encoder, _, _ = resnet
    expected = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.transforms()(image)
    actual = encoder.preprocess(image)
    assert actual.shape == (3, 224, 224)
    assert torch.equal(actual, expected)


def test_resnet50_output_matches_upstream_pooled_features(resnet, image: Image.Image) -> None:
    import torch
    import torchvision

    encoder, upstream, _ = resnet
    images = [image, synthetic_scene(1), synthetic_scene(2)]  # batch_size 2: crosses a batch boundary
    vectors = encoder.embed_images(images)
    assert_unit_rows(vectors, 3, 2048)
    transform = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.transforms()
    with torch.inference_mode():
        trunk = torch.nn.Sequential(*list(upstream.children())[:-1])  # everything up to avgpool
        reference = trunk(torch.stack([transform(im) for im in images])).flatten(1).numpy()
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, reference, atol=2e-4)
    assert encoder.embed_images([]).shape == (0, 2048)


def test_resnet50_checkpoint_layout_is_torchvision(resnet, tmp_path: Path) -> None:
    import torch
    import torchvision

    from mediasearch.encoders.torchvision_resnet import ResNet50Encoder

    encoder, _, path = resnet
    official_keys = set(torchvision.models.resnet50().state_dict())
    assert set(torch.load(path, weights_only=True)) == official_keys
    assert set(encoder.model.state_dict()) == {k for k in official_keys if not k.startswith("fc.")}
    # a checkpoint of another layout is refused (strict loading)
    bad = tmp_path / "bad.pth"
    state = torch.load(path, weights_only=True)
    state.pop("layer1.0.conv1.weight")
    torch.save(state, bad)
    spec = registry.get_spec("resnet50")
    with pytest.raises(RuntimeError, match="Missing key"):
        ResNet50Encoder(spec, settings_for(tmp_path), {spec.models[0]: bad})


# -- timm backbones (EfficientNet-Lite0 and any other) ---------------------------------


@pytest.fixture(scope="module")
def efficientnet(tmp_path_factory: pytest.TempPathFactory):
    torch = pytest.importorskip("torch")
    timm = pytest.importorskip("timm")
    from safetensors.torch import save_file

    from mediasearch.encoders.timm_backbone import TimmBackboneEncoder

    tmp = tmp_path_factory.mktemp("effnet")
    torch.manual_seed(0)
    upstream = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    path = tmp / "tf_efficientnet_lite0.imagenet.safetensors"
    save_file({k: v.contiguous() for k, v in upstream.state_dict().items()}, str(path))
    spec = registry.get_spec("efficientnet-lite0")
    with no_network():
        encoder = TimmBackboneEncoder(spec, settings_for(tmp, batch_size=2), {spec.models[0]: path})
    return encoder, upstream, path


def test_efficientnet_preprocess_is_timm_pretrained_cfg(efficientnet, image: Image.Image) -> None:
    import timm
    import torch
    from timm.data import create_transform, resolve_data_config
    from torchvision import transforms as T

    encoder, _, _ = efficientnet
    # the cfg of Google's TF weights (shared/models/timm/tf_efficientnet_lite0.preprocess.json)
    assert encoder.data_config == {
        "input_size": (3, 224, 224),
        "interpolation": "bicubic",
        "mean": (0.5, 0.5, 0.5),
        "std": (0.5, 0.5, 0.5),
        "crop_pct": 0.875,
        "crop_mode": "center",
    }
    actual = encoder.preprocess(image)
    reference_model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    timm_own = create_transform(**resolve_data_config({}, model=reference_model))(image)
    by_hand = T.Compose(
        [
            T.Resize(256, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )(image)
    assert actual.shape == (3, 224, 224)
    assert torch.equal(actual, timm_own)
    assert torch.equal(actual, by_hand)


def test_efficientnet_output_and_checkpoint_layout(efficientnet, image: Image.Image) -> None:
    import timm
    import torch
    from safetensors.torch import load_file

    encoder, upstream, path = efficientnet
    official_keys = set(timm.create_model("tf_efficientnet_lite0").state_dict())
    assert set(load_file(str(path))) == official_keys
    assert set(encoder.model.state_dict()) == {k for k in official_keys if not k.startswith("classifier.")}
    images = [image, synthetic_scene(3), synthetic_scene(4)]
    vectors = encoder.embed_images(images)
    assert_unit_rows(vectors, 3, 1280)
    with torch.inference_mode():
        batch = torch.stack([encoder.preprocess(im) for im in images])
        reference = upstream.forward_head(upstream.forward_features(batch), pre_logits=True).numpy()
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, reference, atol=2e-4)


def test_another_timm_model_is_one_registry_entry(tmp_path: Path, image: Image.Image) -> None:
    """A spec naming another architecture (here resnet18, classifier "fc") just works."""
    torch = pytest.importorskip("torch")
    timm = pytest.importorskip("timm")
    from safetensors.torch import save_file

    from mediasearch.encoders.timm_backbone import TimmBackboneEncoder

    path = tmp_path / "resnet18.safetensors"
    save_file(timm.create_model("resnet18.a1_in1k").state_dict(), str(path))
    spec = dataclasses.replace(
        registry.get_spec("efficientnet-lite0"),
        name="resnet18-timm",
        dim=512,
        models=("resnet18-a1-in1k",),
        options={"architecture": "resnet18.a1_in1k"},
    )
    encoder = TimmBackboneEncoder(spec, settings_for(tmp_path), {"resnet18-a1-in1k": path})
    assert encoder.data_config["crop_pct"] == 0.95  # the tag's own cfg, not a default
    assert_unit_rows(encoder.embed_images([image]), 1, 512)
    with pytest.raises(ValueError, match="512-d"):
        TimmBackboneEncoder(dataclasses.replace(spec, dim=1000), settings_for(tmp_path), {"resnet18-a1-in1k": path})
    assert torch.get_num_threads() >= 1


# -- SigLIP (open_clip) ----------------------------------------------------------------

SIGLIP_ARCH = "ViT-B-16-SigLIP"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


@pytest.fixture(scope="module")
def siglip(tmp_path_factory: pytest.TempPathFactory, image: Image.Image):
    """(encoder, official state-dict keys, upstream image vector, has tokenizer).

    The ~200M-parameter model is built once: random weights saved as the hub repo's
    open_clip_model.safetensors, then loaded by SiglipEncoder from that folder. The real
    SigLIP tokenizer files are not available offline, so the all-MiniLM-L6-v2 tokenizer
    (vocabulary 30522 < 32000) stands in, when ../shared/models has it, to drive the text tower.
    """
    torch = pytest.importorskip("torch")
    open_clip = pytest.importorskip("open_clip")
    from open_clip.transform import (
        PreprocessCfg,
        image_transform_v2,
        merge_preprocess_dict,
    )
    from safetensors.torch import save_file

    from mediasearch.encoders.siglip import SiglipEncoder

    folder = tmp_path_factory.mktemp("siglip") / "ViT-B-16-SigLIP"
    folder.mkdir()
    torch.manual_seed(0)
    upstream = open_clip.create_model(SIGLIP_ARCH, pretrained=None).eval()
    keys = set(upstream.state_dict())
    save_file({k: v.contiguous() for k, v in upstream.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    pp = merge_preprocess_dict(PreprocessCfg(size=224), open_clip.get_pretrained_cfg(SIGLIP_ARCH, "webli"))
    upstream_transform = image_transform_v2(PreprocessCfg(**pp), is_train=False)
    with torch.inference_mode():
        reference = upstream.encode_image(upstream_transform(image)[None], normalize=True)[0].numpy()
    del upstream
    has_tokenizer = all((MINILM / name).is_file() for name in TOKENIZER_FILES)
    if has_tokenizer:
        for name in TOKENIZER_FILES:
            shutil.copy(MINILM / name, folder / name)
    spec = registry.get_spec("siglip-vit-b16")
    with no_network():
        encoder = SiglipEncoder(spec, settings_for(folder.parent, batch_size=2), {spec.models[0]: folder})
    return encoder, keys, reference, upstream_transform, has_tokenizer


def test_siglip_preprocess_weights_and_image_tower(siglip, image: Image.Image) -> None:
    import torch
    from torchvision import transforms as T

    encoder, keys, reference, upstream_transform, _ = siglip
    # preprocessing: open_clip's own transform for ViT-B-16-SigLIP / webli = squash 224 bicubic, mean = std = 0.5
    actual = encoder.preprocess(image)
    by_hand = T.Compose(
        [
            T.Resize((224, 224), interpolation=T.InterpolationMode.BICUBIC),
            T.ToTensor(),
            T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )(image)
    assert torch.equal(actual, upstream_transform(image))
    assert torch.equal(actual, by_hand)
    # checkpoint layout = open_clip's ViT-B-16-SigLIP, loaded strictly
    assert set(encoder.model.state_dict()) == keys
    vectors = encoder.embed_images([image, synthetic_scene(7), synthetic_scene(8)])
    assert_unit_rows(vectors, 3, 768)
    np.testing.assert_allclose(vectors[0], reference, atol=2e-4)


def test_siglip_text_tower(siglip) -> None:
    encoder, _, _, _, has_tokenizer = siglip
    if not has_tokenizer:
        pytest.skip(f"no offline tokenizer to stand in for SigLIP's (looked in {MINILM})")
    texts = ["a cat", "a photo of a dog on a beach", "sunset"]
    with no_network():
        vectors = encoder.embed_texts(texts)
    assert_unit_rows(vectors, 3, 768)
    np.testing.assert_array_equal(vectors, encoder.embed_texts(texts))
    assert not np.allclose(vectors[0], vectors[1])
    assert encoder.tokenizer.context_length == 64
    assert encoder.embed_texts([]).shape == (0, 768)


# -- shared torch helpers --------------------------------------------------------------


def test_offline_hub_guard_restores_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    import os

    from mediasearch.encoders import torch_utils

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with torch_utils.offline_hub():
        assert os.environ["HF_HUB_OFFLINE"] == "1"
        from huggingface_hub import constants

        assert constants.HF_HUB_OFFLINE is True
    assert "HF_HUB_OFFLINE" not in os.environ
