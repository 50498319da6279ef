"""The weight-free baselines beat trivial references (MFCC mean/std for sound, a colour histogram and a tiny thumbnail for pictures) by a clear MAP margin on generated category and near-duplicate dev sets, and their fixed constants are what their generic corpus gives."""

from __future__ import annotations

import numpy as np
import pytest

from audio_factory import category_dev_set, have_espeak, near_duplicate_dev_set
from baseline_refs import leave_one_out_map, mfcc_mean_std
from mediasearch.config import Settings
from mediasearch.encoders import baseline_audio_norm
from mediasearch.encoders.registry import load_encoder

#: Why 0.08: each MAP here averages 60-90 queries whose average precisions spread with a
#: standard deviation of about 0.25, so a MAP has a standard error near 0.03 and a gap of
#: 0.08 is more than two and a half of them; the gaps measured on other seeds are two to
#: three times larger (docs/PERFORMANCE.md), so the test fails only if a change really
#: costs quality, not by the luck of a seed. The seeds differ from the ones the weights
#: and thresholds were tuned on (0 and 1).
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
