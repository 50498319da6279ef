"""EfficientNet-Lite0 with its real ImageNet weights: edited copies of a photo find the original first.

Uses ../shared/models (the real weights, loaded through the registry and the model store);
skipped with the reason when that folder or the weights are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_factory import jpeg_roundtrip, synthetic_scene
from mediasearch.config import Settings
from mediasearch.encoders import registry

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
WEIGHTS = SHARED_MODELS / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not WEIGHTS.is_file(), reason=f"real EfficientNet-Lite0 weights not found at {WEIGHTS}"),
]


def real_photos() -> dict[str, Image.Image]:
    """Photos shipped with installed packages (matplotlib's grace_hopper, scikit-learn's china and flower)."""
    found: dict[str, Image.Image] = {}
    candidates: list[tuple[str, Path]] = []
    try:
        import matplotlib

        candidates.append(("grace_hopper", Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    except ImportError:
        pass
    try:
        import sklearn

        images = Path(sklearn.__file__).parent / "datasets" / "images"
        candidates += [("china", images / "china.jpg"), ("flower", images / "flower.jpg")]
    except ImportError:
        pass
    for name, path in candidates:
        if path.is_file():
            with Image.open(path) as im:
                found[name] = im.convert("RGB")
    return found


def edit(image: Image.Image, kind: str) -> Image.Image:
    """A near-duplicate: crop, resize, JPEG re-encode, small rotation, or all of them."""
    w, h = image.size
    if kind == "crop":
        return image.crop((int(0.06 * w), int(0.04 * h), int(0.95 * w), int(0.93 * h)))
    if kind == "resize":
        return image.resize((w // 3, h // 3), Image.Resampling.BICUBIC)
    if kind == "jpeg":
        return jpeg_roundtrip(image, 30)
    if kind == "rotate":
        rotated = image.rotate(4, resample=Image.Resampling.BICUBIC)
        return rotated.crop((int(0.05 * w), int(0.05 * h), int(0.95 * w), int(0.95 * h)))
    if kind == "combo":
        image = image.crop((int(0.05 * w), int(0.07 * h), int(0.97 * w), int(0.96 * h)))
        image = image.rotate(3, resample=Image.Resampling.BICUBIC)
        image = image.resize((image.width * 2 // 5, image.height * 2 // 5), Image.Resampling.BILINEAR)
        return jpeg_roundtrip(image, 50)
    raise ValueError(kind)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("timm")
    tmp = tmp_path_factory.mktemp("effnet-real")
    settings = Settings(library_dir=tmp, model_dir=SHARED_MODELS)
    registry.unload_all()
    yield registry.load_encoder("efficientnet-lite0", settings)
    registry.unload_all()


@pytest.fixture(scope="module")
def collection() -> list[Image.Image]:
    """~10 distinct pictures: the real photos available offline, topped up with scenes."""
    photos = list(real_photos().values())
    return photos + [synthetic_scene(seed) for seed in range(10 - len(photos))]


@pytest.fixture(scope="module")
def database(encoder, collection: list[Image.Image]) -> np.ndarray:
    vectors = encoder.embed_images(collection)
    assert vectors.shape == (len(collection), 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    return vectors


@pytest.mark.parametrize("kind", ["crop", "resize", "jpeg", "rotate", "combo"])
def test_edited_copy_ranks_its_original_first(
    encoder, collection: list[Image.Image], database: np.ndarray, kind: str
) -> None:
    queries = encoder.embed_images([edit(im, kind) for im in collection])
    scores = queries @ database.T
    assert list(np.argmax(scores, axis=1)) == list(range(len(collection))), np.round(scores, 3)
    margins = np.diag(scores) - np.max(scores - 2 * np.eye(len(collection)), axis=1)
    assert margins.min() > 0.05, np.round(margins, 3)


def test_photo_beats_synthetic_distractors(encoder) -> None:
    """Between real photos, a photo's edited copy is much closer to it than to the others."""
    photos = real_photos()
    if len(photos) < 2:
        pytest.skip("needs two offline sample photos (matplotlib, scikit-learn)")
    names = list(photos)
    database = encoder.embed_images([photos[n] for n in names])
    queries = encoder.embed_images([edit(photos[n], "combo") for n in names])
    scores = queries @ database.T
    assert np.all(np.diag(scores) > 0.6)
    assert np.all(scores[~np.eye(len(names), dtype=bool)] < 0.5)


def test_classifier_head_predicts_plausible_classes() -> None:
    """The full model (with the classifier the encoder drops) and the encoder's preprocessing
    recognise the sample photos: the weights and the mean = std = 0.5 normalisation are right."""
    torch = pytest.importorskip("torch")
    timm = pytest.importorskip("timm")
    torchvision = pytest.importorskip("torchvision")
    from safetensors.torch import load_file

    from mediasearch.encoders.timm_backbone import build_transform

    photos = real_photos()
    expected = {
        "grace_hopper": {"military uniform", "academic gown", "mortarboard", "suit", "Windsor tie"},
        "china": {"palace", "monastery", "bell cote", "pagoda", "church"},
        "flower": {"daisy"},
    }
    if not photos:
        pytest.skip("no offline sample photos (matplotlib, scikit-learn)")
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(load_file(str(WEIGHTS)), strict=True)
    model.eval()
    transform = build_transform(model)
    categories = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"]  # ImageNet-1k order
    with torch.inference_mode():
        probabilities = model(torch.stack([transform(im) for im in photos.values()])).softmax(-1)
    for name, row in zip(photos, probabilities):
        top3 = {categories[i] for i in row.topk(3).indices.tolist()}
        assert top3 & expected[name], (name, top3)
