"""Incremental indexing: add, change, delete, rename, bad input, cancel and crash recovery."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import media_factory as mf
from mediasearch.indexing import index_paths
from mediasearch.library import Library
from mediasearch.media import AssetStatus, MediaKind, Modality, Stream
from mediasearch.progress import CancelToken
from mediasearch.search import Query, search

ENC = ["baseline-image"]


def _photos(folder: Path, n: int, start_seed: int = 0) -> list[Path]:
    return [mf.make_image(folder / f"img{start_seed + i:03d}.jpg", seed=start_seed + i) for i in range(n)]


def _bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_first_run_then_unchanged_rerun_decodes_nothing(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _photos(folder, 5)
    r1 = index_paths(library, [folder], encoders=ENC)
    assert (r1.new, r1.unchanged, r1.encoders["baseline-image"].items) == (5, 0, 5)
    r2 = index_paths(library, [folder], encoders=ENC)
    assert (r2.new, r2.unchanged, r2.changed, r2.encoders["baseline-image"].items) == (0, 5, 0, 0)
    assert len(library.index("baseline-image")) == 5


def test_changed_file_is_reembedded_and_deleted_file_leaves(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    paths = _photos(folder, 4)
    index_paths(library, [folder], encoders=ENC)
    old_asset = library.catalog.asset_by_path(paths[0])
    mf.make_image(paths[0], seed=99)  # new content at the same path
    _bump_mtime(paths[0])
    paths[1].unlink()
    r = index_paths(library, [folder], encoders=ENC)
    assert (r.changed, r.removed, r.unchanged) == (1, 1, 2)
    assert r.encoders["baseline-image"].items == 1
    assert library.catalog.asset_by_path(paths[1]) is None
    new_asset = library.catalog.asset_by_path(paths[0])
    assert new_asset.content_hash != old_asset.content_hash
    # the changed and deleted files' old vectors are tombstones: not searchable, compacted later
    assert library.catalog.live_count("baseline-image") == 3 == len(library.catalog.embedded_ids("baseline-image"))
    # the changed file is found by its new content
    hits = search(library, Query(Modality.IMAGE, path=paths[0]), encoder="baseline-image", k=1)
    assert hits[0].path == paths[0] and hits[0].score > 0.99


def test_rename_and_move_reuse_vectors(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    paths = _photos(folder, 3)
    index_paths(library, [folder], encoders=ENC)
    before = library.catalog.asset_by_path(paths[2])
    seg_before = library.catalog.segments_of(before.id)
    (folder / "sub").mkdir()
    moved = folder / "sub" / "renamed.jpg"
    shutil.move(paths[2], moved)
    r = index_paths(library, [folder], encoders=ENC)
    assert (r.moved, r.new, r.removed) == (1, 0, 0)
    assert r.encoders["baseline-image"].items == 0  # nothing decoded again
    after = library.catalog.asset_by_path(moved)
    assert after.id == before.id and library.catalog.segments_of(after.id) == seg_before
    hits = search(library, Query(Modality.IMAGE, path=moved), encoder="baseline-image", k=1)
    assert hits[0].path == moved


def test_bad_inputs_are_skipped_with_reasons(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    _photos(folder, 2)
    bad = mf.make_bad_files(folder / "bad")
    r = index_paths(library, [folder], encoders=ENC)
    skipped = dict(library.catalog.skipped())
    not_media = dict(library.catalog.not_media())
    expected_bad = {"empty", "truncated_jpeg", "corrupt_png", "random_jpg", "truncated_mp4", "garbage_mp4"}
    for name in expected_bad & set(bad):
        assert str(bad[name]) in skipped, name
        assert skipped[str(bad[name])], f"{name} has no reason"
    for name in {"text", "pdf"} & set(bad):  # documents are not media: counted, not failures
        assert str(bad[name]) in not_media and str(bad[name]) not in skipped, name
    assert r.not_media == len({"text", "pdf"} & set(bad))
    assert r.new + r.changed + r.moved + r.unchanged + r.skipped + r.not_media == r.scanned
    assert "0 bytes" in skipped[str(bad["empty"])] or "empty" in skipped[str(bad["empty"])]
    # a valid PNG named .jpg is indexed, not skipped
    assert library.catalog.asset_by_path(bad["png_as_jpg"]).status is AssetStatus.OK
    assert r.encoders["baseline-image"].items >= 3
    # and a rerun does not try the bad files again
    r2 = index_paths(library, [folder], encoders=ENC)
    assert r2.new == r2.changed == 0 and r2.encoders["baseline-image"].items == 0
    assert r2.new + r2.changed + r2.moved + r2.unchanged + r2.skipped + r2.not_media == r2.scanned


def test_unreadable_file_is_skipped(library: Library, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: permissions do not stop reads")
    folder = tmp_path / "p"
    (p,) = _photos(folder, 1)
    p.chmod(0)
    try:
        index_paths(library, [folder], encoders=ENC)
        assert "permission" in dict(library.catalog.skipped())[str(p)].lower()
    finally:
        p.chmod(0o644)


def test_video_frames_are_segments_with_times(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "v"
    video = mf.make_video(folder / "clip.mp4", duration_s=7.0, fps=10, seed=3)
    short = mf.make_video(folder / "short.mp4", duration_s=0.3, fps=10, seed=4)
    index_paths(library, [folder], encoders=ENC)
    asset = library.catalog.asset_by_path(video)
    assert asset.kind is MediaKind.VIDEO
    times = [s.start_s for s in library.catalog.segments_of(asset.id, stream=Stream.FRAME)]
    assert len(times) >= 3 and times[0] < 0.2
    assert all(abs(t - round(t / 2) * 2) < 0.2 for t in times)
    assert library.catalog.asset(asset.id).duration_s == pytest.approx(7.0, abs=0.3)
    short_asset = library.catalog.asset_by_path(short)
    assert len(library.catalog.segments_of(short_asset.id)) == 1
    # grouped search: one hit per video, best frame with its time; --frames lists frames
    q = Query(Modality.IMAGE, path=video, start_s=4.0)
    grouped = search(library, q, encoder="baseline-image", k=5)
    assert [h.path for h in grouped].count(video) == 1
    assert grouped[0].path == video and grouped[0].start_s == pytest.approx(4.0, abs=0.2)
    frames = search(library, q, encoder="baseline-image", k=5, group=False, kind=MediaKind.VIDEO)
    assert sum(h.path == video for h in frames) >= 2


def test_second_encoder_reuses_frame_segments(library: Library, tmp_path: Path, shared_models: Path) -> None:
    folder = tmp_path / "v"
    video = mf.make_video(folder / "clip.mp4", duration_s=5.0, fps=10, seed=5)
    index_paths(library, [folder], encoders=["baseline-image"])
    aid = library.catalog.asset_by_path(video).id
    segs = library.catalog.segments_of(aid)
    lib2 = Library(library.settings.with_(model_dir=shared_models))
    try:
        index_paths(lib2, [folder], encoders=["efficientnet-lite0"])
        assert lib2.catalog.segments_of(aid) == segs
        assert set(lib2.catalog.embedded_ids("efficientnet-lite0")) == {s.id for s in segs}
    finally:
        lib2.close()


def test_cancel_keeps_work_and_next_run_resumes(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _photos(folder, 12)
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p)
        if p.stage == "embed images" and p.done >= 5:
            token.cancel()

    r1 = index_paths(library, [folder], encoders=ENC, progress=progress, cancel=token)
    assert r1.cancelled
    done_first = len(library.catalog.assets_done_by("baseline-image"))
    assert 0 < done_first < 12
    r2 = index_paths(library, [folder], encoders=ENC)
    assert not r2.cancelled
    assert r2.encoders["baseline-image"].items == 12 - done_first  # only the rest is embedded
    assert len(library.index("baseline-image")) == 12 == len(library.catalog.embedded_ids("baseline-image"))


def test_missing_weights_fail_before_any_work(library: Library, tmp_path: Path) -> None:
    from mediasearch.errors import ModelUnavailableError

    folder = tmp_path / "photos"
    _photos(folder, 1)
    with pytest.raises(ModelUnavailableError) as err:
        index_paths(library, [folder], encoders=["resnet50"])
    assert "resnet50" in str(err.value) and "models pull" in str(err.value)
    assert library.catalog.assets() == []


def test_speech_index_follows_its_text_model(settings, tmp_path: Path, shared_models: Path) -> None:
    """A Whisper index built with one sentence model is re-embedded (not mixed) under another:
    the transcripts' text again, without transcribing again."""
    import audio_factory as af

    from mediasearch.errors import QueryError

    if not af.have_espeak():
        pytest.skip("espeak-ng not installed")
    folder = tmp_path / "speech"
    folder.mkdir()
    af.write_audio(folder / "s.wav", af.place([(0.5, af.speech("the red kettle is boiling"))], total_s=4.0))
    enc = ["whisper-tiny.en"]
    with Library(settings.with_(model_dir=shared_models)) as lib:
        index_paths(lib, [folder], encoders=enc)
        assert lib.index_config("whisper-tiny.en") == {"text_model": "all-minilm-l6-v2"}
        assert len(lib.index("whisper-tiny.en")) >= 1
        with lib.writing("test"):
            lib.set_index_config("whisper-tiny.en", {"text_model": "some-other-model"})
        with pytest.raises(QueryError, match="rebuild"):
            search(lib, Query(Modality.TEXT, text="kettle"), encoder="whisper-tiny.en")
        report = index_paths(lib, [folder], encoders=enc)
        assert report.encoders["whisper-tiny.en"].items == 0  # not transcribed again
        assert lib.index_config("whisper-tiny.en") == {"text_model": "all-minilm-l6-v2"}
        assert lib.catalog.store_events(5)[0]["event"] == "re-embedded"  # the text embedded in the current space
        hits = search(lib, Query(Modality.TEXT, text="is boiling"), encoder="whisper-tiny.en")
        assert hits and hits[0].path == folder / "s.wav" and "boiling" in (hits[0].text or "").lower()


def test_bad_audio_is_reported_once(library: Library, tmp_path: Path) -> None:
    import audio_factory as af

    folder = tmp_path / "a"
    folder.mkdir()
    good = af.write_audio(folder / "tone.flac", af.tone(440, 3.0))
    af.truncate(good, 0.3, folder / "cut.flac")
    report = index_paths(library, [folder], encoders=["baseline-audio", "baseline-image"])
    cut = [f for f in report.failures if f[0].endswith("cut.flac")]
    assert len(cut) == 1 and cut[0][2]


def test_failures_are_per_item_and_retried_after_a_change(library: Library, tmp_path: Path, monkeypatch) -> None:
    """A model error on one picture fails that file only (not the batch it was in); FAILED is
    not retried by a plain rerun, is retried with retry_failed, and once after an upgrade."""
    import mediasearch
    from mediasearch.encoders.registry import load_encoder

    folder = tmp_path / "photos"
    _photos(folder, 6)
    mf.make_image(folder / "poison.jpg", seed=50, size=(77, 77))
    enc = load_encoder("baseline-image", library.settings)
    real = enc.embed_images
    sizes: list[tuple[int, int]] = []

    def flaky(images):
        sizes.extend(im.size for im in images)
        if any(im.size == (77, 77) for im in images):
            raise RuntimeError("model blew up")
        return real(images)

    monkeypatch.setattr(enc, "embed_images", flaky)
    r1 = index_paths(library, [folder], encoders=ENC)
    poison = library.catalog.asset_by_path(folder / "poison.jpg")
    assert r1.encoders["baseline-image"].items == 6 and r1.encoders["baseline-image"].failed == 1
    assert library.catalog.encoder_state(poison.id, "baseline-image")[0] == "failed"
    assert [(p, e) for p, e, _ in library.catalog.encoder_failures()] == [(str(poison.path), "baseline-image")]
    assert r1.missing == {}  # failed with a reason is accounted for, not missing
    r2 = index_paths(library, [folder], encoders=ENC)
    assert r2.encoders["baseline-image"].items == 0 and r2.encoders["baseline-image"].failed == 0
    monkeypatch.setattr(enc, "embed_images", real)
    r3 = index_paths(library, [folder], encoders=ENC, retry_failed=True)
    assert r3.encoders["baseline-image"].items == 1
    assert library.catalog.encoder_state(poison.id, "baseline-image")[0] == "done"
    # after an upgrade (another attempt key) failed items get one more try by themselves
    monkeypatch.setattr(enc, "embed_images", flaky)
    (folder / "poison.jpg").unlink()
    mf.make_image(folder / "poison2.jpg", seed=51, size=(77, 77))
    index_paths(library, [folder], encoders=ENC)
    monkeypatch.setattr(enc, "embed_images", real)
    monkeypatch.setattr(mediasearch, "__version__", "99.0")
    r4 = index_paths(library, [folder], encoders=ENC)
    assert r4.encoders["baseline-image"].items == 1 and not library.catalog.encoder_failures()
