"""The weight-free baselines beat trivial references by a clear MAP margin on generated dev sets (sound: MFCC mean/std on categories and near-duplicates; pictures: colour histogram and thumbnail on categories, thumbnail on near-duplicates, on par with the colour histogram there), and baseline-audio's fixed constants are what its generic corpus gives."""

from __future__ import annotations

import numpy as np
import pytest

from audio_factory import category_dev_set, have_espeak, near_duplicate_dev_set
from baseline_refs import colour_histogram, leave_one_out_map, mfcc_mean_std, tiny_thumbnail
from media_factory import near_duplicate_picture_set, scene_dev_set
from mediasearch.config import Settings
from mediasearch.encoders import baseline_audio_norm
from mediasearch.encoders.registry import load_encoder

#: Why 0.08: each MAP here averages 48-90 queries whose average precisions spread with a
#: standard deviation of about 0.25, so a MAP has a standard error near 0.03 and a gap of
#: 0.08 is more than two and a half of them. The gaps measured on other seeds
#: (docs/PERFORMANCE.md) are 0.21-0.28 for sound against MFCC mean/std and 0.12-0.27 for
#: pictures against the thumbnail and the colour histogram, so the test fails when a change
#: really costs quality, not by the luck of a seed. The seeds here (3, 4) differ from the
#: ones the weights and thresholds were tuned on (0, 1, 5, 7).
MARGIN = 0.08


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("baselines")
    return Settings(library_dir=tmp / "lib", model_dir=tmp / "models")


@pytest.fixture(scope="module")
def audio_sets() -> dict[str, tuple[list[np.ndarray], list[str]]]:
    if not have_espeak():
        pytest.skip("espeak-ng is needed for the speech class")
    return {
        "category": category_dev_set(6, seed=3),  # 10 classes x 6 clips of 3 s
        "near-duplicate": near_duplicate_dev_set(3, copies=2, seed=4),  # 30 originals + 60 degraded copies
    }


@pytest.fixture(scope="module")
def audio_maps(audio_sets, settings: Settings) -> dict[str, dict[str, float]]:
    """MAP of each descriptor on each dev set, measured in one run."""
    new = load_encoder("baseline-audio", settings)
    fingerprint = load_encoder("fingerprint-audio", settings)
    out: dict[str, dict[str, float]] = {}
    for task, (clips, labels) in audio_sets.items():
        out[task] = {
            "baseline-audio": leave_one_out_map(new.embed_audio(clips), labels),
            "fingerprint-audio": leave_one_out_map(fingerprint.embed_audio(clips), labels),
            "mfcc-mean-std": leave_one_out_map(mfcc_mean_std(clips), labels),
        }
    return out


@pytest.mark.parametrize("task", ["category", "near-duplicate"])
def test_baseline_audio_beats_mfcc_mean_std(audio_maps, task: str) -> None:
    maps = audio_maps[task]
    assert maps["baseline-audio"] >= maps["mfcc-mean-std"] + MARGIN, maps


def test_fingerprint_finds_copies_but_not_categories(audio_maps) -> None:
    # the landmark fingerprint is the near-duplicate specialist: near perfect there, and no
    # better than the texture at saying what kind of sound a clip is
    assert audio_maps["near-duplicate"]["fingerprint-audio"] > 0.9, audio_maps
    assert audio_maps["category"]["fingerprint-audio"] < audio_maps["category"]["baseline-audio"], audio_maps


def test_texture_constants_are_the_generic_corpus_statistics() -> None:
    mean, std = baseline_audio_norm.compute_constants(n=baseline_audio_norm.CORPUS_SIZE)
    np.testing.assert_allclose(baseline_audio_norm.TEXTURE_MEAN, mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(baseline_audio_norm.TEXTURE_STD, std, rtol=1e-4, atol=1e-5)


def test_map_agrees_with_the_evaluation_metric(audio_sets, settings: Settings) -> None:
    """The leave-one-out MAP used above equals mediasearch.evaluation.metrics.average_precision."""
    from mediasearch.evaluation.metrics import average_precision

    clips, labels = audio_sets["category"]
    vectors = load_encoder("baseline-audio", settings).embed_audio(clips[:24])
    labels = labels[:24]
    scores = vectors @ vectors.T
    aps = []
    for q in range(len(labels)):
        ranking = [str(i) for i in np.argsort(-scores[q], kind="stable") if i != q]
        qrels = {str(i): 1 for i in range(len(labels)) if i != q and labels[i] == labels[q]}
        if qrels:
            aps.append(average_precision(ranking, qrels))
    assert leave_one_out_map(vectors, labels) == pytest.approx(float(np.mean(aps)))


# -- pictures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def image_maps(settings: Settings) -> dict[str, dict[str, float]]:
    """MAP of baseline-image and the two trivial references on each generated picture set."""
    sets = {
        "category": scene_dev_set(6, seed=3),  # 8 scene classes x 6 pictures
        "near-duplicate": near_duplicate_picture_set(3, copies=2, seed=4),  # 24 originals + 48 copies
    }
    encoder = load_encoder("baseline-image", settings)
    return {
        task: {
            "baseline-image": leave_one_out_map(encoder.embed_images(images), labels),
            "colour-histogram": leave_one_out_map(colour_histogram(images), labels),
            "thumbnail-8x8": leave_one_out_map(tiny_thumbnail(images), labels),
        }
        for task, (images, labels) in sets.items()
    }


@pytest.mark.parametrize("reference", ["colour-histogram", "thumbnail-8x8"])
def test_baseline_image_beats_trivial_references_on_categories(image_maps, reference: str) -> None:
    maps = image_maps["category"]
    assert maps["baseline-image"] >= maps[reference] + MARGIN, maps


def test_baseline_image_near_duplicates(image_maps) -> None:
    """Clearly better than a thumbnail; only on par with a colour histogram.

    Rotation, crop and JPEG keep a picture's colours, and within a generated scene class the
    colours are what varies most, so a fine colour histogram is near the ceiling of this set
    (the baseline contains one); what is pinned is that the texture and spectrum blocks, which
    win on categories, cost at most 0.05 MAP against it (measured: -0.02 to +0.03).
    """
    maps = image_maps["near-duplicate"]
    assert maps["baseline-image"] >= maps["thumbnail-8x8"] + MARGIN, maps
    assert maps["baseline-image"] >= maps["colour-histogram"] - 0.05, maps
