"""The image table: CLIP ViT-B/32 and ViT-L/14 (OpenAI weights), SigLIP 2 B/16-256 and DINOv2
ViT-S/14 and ViT-B/14, each one registry entry of a known family (open_clip, timm).

No official weights here: random-init models of the exact architectures. For every entry
its preprocessing equals the upstream library's transform on real decoded images (tensor
equality). CLIP ViT-B/32 and DINOv2 ViT-S/14 are loaded through the model store (a
TorchScript archive laid out like OpenAI's ``ViT-B-32.pt``; a timm safetensors state dict)
and their vectors equal the upstream model's; the larger models (ViT-L/14, SigLIP 2,
DINOv2 ViT-B/14) are built on the meta device (shapes only) to check the checkpoint
layout and take their transform from the same open_clip / timm call the encoder makes,
with a real forward for DINOv2 ViT-B/14.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_factory import jpeg_roundtrip, synthetic_scene
from mediasearch.config import Settings
from mediasearch.encoders import registry
from mediasearch.media import Modality

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")
timm = pytest.importorskip("timm")

from torchvision import transforms as T  # noqa: E402

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

OPEN_CLIP_ENTRIES = ["clip-vit-b32", "clip-vit-l14", "siglip2-vit-b16-256"]
TIMM_ENTRIES = ["dinov2-vit-s14", "dinov2-vit-b14"]


# -- helpers ---------------------------------------------------------------------------------


def real_images() -> list[Image.Image]:
    """Decoded JPEGs of different shapes: matplotlib's grace_hopper.jpg when present, and
    JPEG-decoded generated scenes (landscape and portrait)."""
    images = [jpeg_roundtrip(synthetic_scene(11, (640, 480))), jpeg_roundtrip(synthetic_scene(12, (300, 520)))]
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        if path.is_file():
            with Image.open(path) as im:
                images.insert(0, im.convert("RGB"))
    except ImportError:
        pass
    return images


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    return real_images()


def settings_for(tmp: Path) -> Settings:
    return Settings(library_dir=tmp / "library", model_dir=tmp / "models", precision="fp32", batch_size=2)  # fp32: no ONNX, compared with upstream fp32


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def upstream_open_clip_transform(architecture: str, tag: str):
    """The eval transform open_clip.create_model_and_transforms(architecture, pretrained=tag)
    returns: the model's preprocess cfg merged with the pretrained tag's (no weights needed)."""
    from open_clip.transform import PreprocessCfg, image_transform_v2, merge_preprocess_dict

    cfg = open_clip.get_model_config(architecture)
    size = cfg["vision_cfg"]["image_size"]
    merged = merge_preprocess_dict(PreprocessCfg(size=size), open_clip.get_pretrained_cfg(architecture, tag))
    return image_transform_v2(PreprocessCfg(**merged), is_train=False)


def encoder_transform_on_meta(spec):
    """The transform SiglipEncoder gets from its create_model_and_transforms call, with the
    model built on the meta device (no memory, no init)."""
    from mediasearch.encoders.siglip import preprocess_overrides

    arch, tag = spec.options["architecture"], spec.options["pretrained"]
    quick = bool(open_clip.get_pretrained_cfg(arch, tag).get("quick_gelu"))
    with torch.device("meta"):
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=None, device="meta", force_quick_gelu=quick, **preprocess_overrides(arch, tag)
        )
    return model, preprocess


def by_hand_transform(spec) -> T.Compose:
    """The preprocessing the registry entry's text describes, written with torchvision."""
    size = spec.image_size
    if spec.name.startswith("clip-"):
        steps = [T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(size)]
        mean, std = OPENAI_MEAN, OPENAI_STD
    elif spec.name.startswith("siglip2"):
        steps = [T.Resize((size, size), interpolation=T.InterpolationMode.BICUBIC)]
        mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    else:  # DINOv2: timm, crop_pct 1.0
        steps = [T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(size)]
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    return T.Compose([*steps, T.ToTensor(), T.Normalize(mean, std)])


# -- every entry is data of a known family ------------------------------------------------------


@pytest.mark.parametrize("name", OPEN_CLIP_ENTRIES + TIMM_ENTRIES)
def test_entry_is_data_of_a_known_family(name: str) -> None:
    from mediasearch.modelstore import load_manifest

    spec = registry.get_spec(name)
    assert spec.factory == registry.FACTORIES[(spec.family, "visual")]
    assert spec.models and all(m in load_manifest() for m in spec.models)
    assert spec.licence and spec.preprocessing and spec.benchmark
    assert spec.benchmark_metric in {"imagenet-zeroshot-top1", "imagenet-knn-top1"} and spec.benchmark_value > 50
    # the same entry as plain data builds the same spec (the factory comes from the family)
    data = {k: v for k, v in vars(spec).items() if k != "factory"}
    data["streams"] = [s.value for s in spec.streams]
    data["query_modalities"] = [m.value for m in spec.query_modalities]
    assert registry.spec_from_data(data) == spec
    if spec.family == "open_clip":
        arch, tag = spec.options["architecture"], spec.options["pretrained"]
        assert (arch, tag) in open_clip.list_pretrained()
        cfg = open_clip.get_model_config(arch)
        assert cfg["embed_dim"] == spec.dim and spec.query_modalities == {Modality.IMAGE, Modality.TEXT}
        size = cfg["vision_cfg"]["image_size"]
        assert (size if isinstance(size, int) else size[0]) == spec.image_size
    else:
        with torch.device("meta"):
            model = timm.create_model(spec.options["architecture"], pretrained=False, num_classes=0)
        assert model.num_features == spec.dim and spec.query_modalities == {Modality.IMAGE}
        assert model.pretrained_cfg["input_size"][-1] == spec.image_size


# -- CLIP ViT-B/32: through the model store, from a TorchScript archive like OpenAI's --------------


@pytest.fixture(scope="module")
def clip_b32(tmp_path_factory: pytest.TempPathFactory):
    """(encoder, upstream model) for a random-init ViT-B-32 saved as OpenAI's ``ViT-B-32.pt``
    (a TorchScript archive with an ``input_resolution`` entry) and imported into the store."""
    import copy
    import warnings

    from mediasearch.modelstore import ModelStore

    torch.manual_seed(0)
    upstream = open_clip.create_model("ViT-B-32", pretrained=None, force_quick_gelu=True).eval()
    archive_model = copy.deepcopy(upstream)
    archive_model.register_buffer("input_resolution", torch.tensor(224))
    folder = tmp_path_factory.mktemp("openai")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace_module(archive_model, {"encode_image": torch.zeros(1, 3, 224, 224)}, check_trace=False)
    torch.jit.save(traced, str(folder / "ViT-B-32.pt"))
    del traced, archive_model
    tmp = tmp_path_factory.mktemp("clip")
    settings = settings_for(tmp)
    store = ModelStore(settings.model_dir)
    store.import_("clip-vit-b32-openai", folder / "ViT-B-32.pt", force=True)  # random weights: not OpenAI's sha256
    refuse = []

    def no_network(*args, **kwargs):
        refuse.append(args)
        raise OSError("network access attempted")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", no_network)
        encoder = registry.load_encoder("clip-vit-b32", settings)
        encoder.tokenizer  # noqa: B018 (the tokenizer loads here, offline)
    assert not refuse
    yield encoder, upstream
    registry.unload_all()


def test_clip_b32_preprocessing_weights_image_and_text(clip_b32, images: list[Image.Image]) -> None:
    encoder, upstream = clip_b32
    spec = encoder.spec
    upstream_transform = upstream_open_clip_transform("ViT-B-32", "openai")
    for image in images:
        actual = encoder.preprocess(image)
        assert torch.equal(actual, upstream_transform(image))
        assert torch.equal(actual, by_hand_transform(spec)(image))
    # the archive's weights are in open_clip's model, built with QuickGELU as OpenAI's CLIP is
    assert set(encoder.model.state_dict()) == set(upstream.state_dict())
    assert type(encoder.model.visual.transformer.resblocks[0].mlp.gelu).__name__ == "QuickGELU"
    vectors = encoder.embed_images(images)
    assert_unit_rows(vectors, len(images), 512)
    with torch.inference_mode():
        batch = torch.stack([upstream_transform(im) for im in images])
        reference = upstream.encode_image(batch, normalize=True).numpy()
    np.testing.assert_allclose(vectors, reference, atol=2e-4)
    texts = ["a dog barking", "a photo of a cat", "a dog barking"]
    text_vectors = encoder.embed_texts(texts)
    assert_unit_rows(text_vectors, 3, 512)
    np.testing.assert_allclose(text_vectors[0], text_vectors[2], atol=1e-6)
    tokens = open_clip.get_tokenizer("ViT-B-32")(texts)
    assert tokens.shape == (3, 77)
    with torch.inference_mode():
        text_reference = upstream.encode_text(tokens, normalize=True).numpy()
    np.testing.assert_allclose(text_vectors, text_reference, atol=2e-4)


# -- ViT-L/14 and SigLIP 2: instantiated on the meta device ---------------------------------------


def test_clip_l14_layout_and_preprocessing(images: list[Image.Image]) -> None:
    spec = registry.get_spec("clip-vit-l14")
    model, preprocess = encoder_transform_on_meta(spec)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    # OpenAI's ViT-L/14: 24 vision blocks of width 1024 on 14-px patches of 224 px, 12 text blocks of 768
    assert shapes["visual.conv1.weight"] == (1024, 3, 14, 14)
    assert shapes["visual.positional_embedding"] == (257, 1024)
    assert shapes["visual.proj"] == (1024, 768) and shapes["text_projection"] == (768, 768)
    assert shapes["token_embedding.weight"] == (49408, 768) and shapes["positional_embedding"] == (77, 768)
    assert len({k.split(".")[3] for k in shapes if k.startswith("visual.transformer.resblocks.")}) == 24
    assert len({k.split(".")[2] for k in shapes if k.startswith("transformer.resblocks.")}) == 12
    assert type(model.visual.transformer.resblocks[0].mlp.gelu).__name__ == "QuickGELU"
    upstream = upstream_open_clip_transform("ViT-L-14", "openai")
    for image in images:
        assert torch.equal(preprocess(image), upstream(image))
        assert torch.equal(preprocess(image), by_hand_transform(spec)(image))


def test_siglip2_layout_and_preprocessing(images: list[Image.Image]) -> None:
    spec = registry.get_spec("siglip2-vit-b16-256")
    model, preprocess = encoder_transform_on_meta(spec)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    # timm's ViT-B/16 at 256 px (16 x 16 patches) and a Gemma-vocabulary text tower, both 768-d
    assert shapes["visual.trunk.patch_embed.proj.weight"] == (768, 3, 16, 16)
    assert shapes["visual.trunk.pos_embed"] == (1, 256, 768)
    assert shapes["text.token_embedding.weight"] == (256_000, 768)
    assert open_clip.get_model_config(spec.options["architecture"])["text_cfg"]["hf_tokenizer_name"] == "timm/ViT-B-16-SigLIP2-256"
    upstream = upstream_open_clip_transform("ViT-B-16-SigLIP2-256", "webli")
    for image in images:
        actual = preprocess(image)
        assert actual.shape == (3, 256, 256)
        assert torch.equal(actual, upstream(image))
        assert torch.equal(actual, by_hand_transform(spec)(image))


# -- DINOv2 through timm --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dinov2_s14(tmp_path_factory: pytest.TempPathFactory):
    from safetensors.torch import save_file

    from mediasearch.modelstore import ModelStore

    torch.manual_seed(0)
    upstream = timm.create_model("vit_small_patch14_dinov2.lvd142m", pretrained=False, num_classes=0).eval()
    folder = tmp_path_factory.mktemp("dinov2")
    path = folder / "vit_small_patch14_dinov2.lvd142m.safetensors"
    save_file({k: v.contiguous() for k, v in upstream.state_dict().items()}, str(path))
    tmp = tmp_path_factory.mktemp("dino")
    settings = settings_for(tmp)
    ModelStore(settings.model_dir).import_("dinov2-vit-s14-lvd142m", path)  # trusted on first use: accepted
    encoder = registry.load_encoder("dinov2-vit-s14", settings)
    yield encoder, upstream
    registry.unload_all()


def test_dinov2_s14_preprocessing_and_vectors(dinov2_s14, images: list[Image.Image]) -> None:
    from timm.data import create_transform, resolve_data_config

    encoder, upstream = dinov2_s14
    upstream_transform = create_transform(**resolve_data_config({}, model=upstream), is_training=False)
    for image in images:
        actual = encoder.preprocess(image)
        assert actual.shape == (3, 518, 518)
        assert torch.equal(actual, upstream_transform(image))
        assert torch.equal(actual, by_hand_transform(encoder.spec)(image))
    vectors = encoder.embed_images(images[:2])
    assert_unit_rows(vectors, 2, 384)
    with torch.inference_mode():
        reference = torch.nn.functional.normalize(upstream(torch.stack([upstream_transform(im) for im in images[:2]])), dim=-1)
    np.testing.assert_allclose(vectors, reference.numpy(), atol=2e-4)


def test_dinov2_b14_layout_preprocessing_and_forward(images: list[Image.Image]) -> None:
    from timm.data import create_transform, resolve_data_config

    from mediasearch.encoders.base import l2_normalise
    from mediasearch.encoders.timm_backbone import build_transform, strip_classifier

    spec = registry.get_spec("dinov2-vit-b14")
    torch.manual_seed(1)
    model = timm.create_model(spec.options["architecture"], pretrained=False, num_classes=0).eval()
    state = model.state_dict()
    assert strip_classifier(state, model).keys() == state.keys()  # the hub file has no classifier
    assert tuple(state["patch_embed.proj.weight"].shape) == (768, 3, 14, 14)
    assert tuple(state["pos_embed"].shape) == (1, 1 + 37 * 37, 768)  # 518 px / 14 = 37 patches a side
    assert len({k.split(".")[1] for k in state if k.startswith("blocks.")}) == 12
    ours = build_transform(model)  # what TimmBackboneEncoder uses
    upstream = create_transform(**resolve_data_config({}, model=model), is_training=False)
    for image in images:
        assert torch.equal(ours(image), upstream(image))
        assert torch.equal(ours(image), by_hand_transform(spec)(image))
    with torch.inference_mode():
        vector = l2_normalise(model(ours(images[0])[None]).numpy())
    assert_unit_rows(vector, 1, spec.dim)
