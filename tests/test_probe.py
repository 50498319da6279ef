"""Contract: sniff_kind/classify recognise media by content (never by extension); content_hash identifies a file across renames."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import media_factory as mf
from mediasearch.decode.probe import classify, sniff, sniff_kind
from mediasearch.errors import UnsupportedMediaError
from mediasearch.hashing import SAMPLE_BYTES, WHOLE_FILE_LIMIT, content_hash
from mediasearch.media import MediaKind

IMAGE_FILES = {"jpeg": "a.jpg", "png": "a.png", "gif": "a.gif", "webp": "a.webp", "tiff": "a.tif", "bmp": "a.bmp"}
VIDEO_FILES = ["v.mp4", "v.mkv", "v.mov", "v.webm", "v.avi"]
AUDIO_FILES = ["a.wav", "a.flac", "a.mp3", "a.ogg", "a.m4a", "a.aac", "a.mka", "a.opus"]


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("probe")
    for name in IMAGE_FILES.values():
        mf.make_image(d / name, seed=1, size=(64, 48))
    for name in VIDEO_FILES:
        mf.make_video(d / name, duration_s=0.5, fps=10, size=(64, 48), with_audio=name != "v.avi")
    for name in AUDIO_FILES:
        mf.make_audio(d / name, duration_s=0.3)
    mf.make_audio(d / "noid3.mp3", duration_s=0.3, options={"id3v2_version": "0"})
    mf.make_audio(d / "audio_only.mp4", duration_s=0.3)  # isom brand, no video stream
    return d


@pytest.mark.parametrize("fmt,name", sorted(IMAGE_FILES.items()))
def test_images_are_recognised_whatever_their_extension(media, tmp_path, fmt, name):
    assert sniff_kind(media / name) is MediaKind.IMAGE
    assert sniff(media / name).format == fmt
    for wrong in (".mp3", ".txt", ""):
        renamed = tmp_path / f"renamed{wrong}"
        shutil.copy(media / name, renamed)
        assert sniff_kind(renamed) is MediaKind.IMAGE
        assert classify(renamed) is MediaKind.IMAGE


@pytest.mark.parametrize("name", VIDEO_FILES)
def test_video_containers_are_video(media, tmp_path, name):
    assert sniff_kind(media / name) is MediaKind.VIDEO
    renamed = tmp_path / "song.wav"
    shutil.copy(media / name, renamed)
    assert classify(renamed) is MediaKind.VIDEO


@pytest.mark.parametrize("name", AUDIO_FILES + ["noid3.mp3", "audio_only.mp4"])
def test_audio_files_are_audio(media, tmp_path, name):
    assert sniff_kind(media / name) is MediaKind.AUDIO
    renamed = tmp_path / "clip.mp4"
    shutil.copy(media / name, renamed)
    assert classify(renamed) is MediaKind.AUDIO


def test_mp3_without_id3_is_found_by_frame_sync(media):
    data = (media / "noid3.mp3").read_bytes()
    assert data[:3] != b"ID3" and data[0] == 0xFF
    assert sniff(media / "noid3.mp3").format == "mp3"
    assert sniff(media / "a.aac").format == "aac"  # ADTS, also frame sync


def test_a_lone_frame_sync_in_random_bytes_is_not_mp3(tmp_path):
    rng = np.random.default_rng(5)
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"\xff\xfb\x90\x00" + bytes(rng.integers(0, 0xF0, 4000, dtype=np.uint8)))
    assert sniff_kind(fake) is None


def test_ogg_and_matroska_are_decided_by_their_streams(media, tmp_path):
    ogv = mf.make_video(tmp_path / "clip.ogv", duration_s=0.5, fps=10, size=(64, 48), with_audio=True)
    assert sniff(ogv).kind is MediaKind.VIDEO and sniff(ogv).format == "ogg"
    assert sniff_kind(media / "a.ogg") is MediaKind.AUDIO
    assert sniff_kind(media / "a.mka") is MediaKind.AUDIO  # Matroska, audio only
    assert sniff(media / "v.webm").format == "webm"


def test_png_named_jpg_is_an_image(tmp_path):
    bad = mf.make_bad_files(tmp_path)
    assert sniff_kind(bad["png_as_jpg"]) is MediaKind.IMAGE
    assert sniff(bad["png_as_jpg"]).format == "png"


@pytest.mark.parametrize(
    "name,reason",
    [
        ("empty", "empty file (0 bytes)"),
        ("random_jpg", "unrecognised file format"),
        ("text", "unsupported file format: text file"),
        ("pdf", "unsupported file format: PDF document"),
    ],
)
def test_non_media_gives_none_and_a_reason(tmp_path, name, reason):
    path = mf.make_bad_files(tmp_path)[name]
    assert sniff_kind(path) is None
    with pytest.raises(UnsupportedMediaError) as info:
        classify(path)
    assert info.value.reason == reason
    assert info.value.path == path


def test_damaged_media_is_still_classified_so_the_decoder_reports_it(tmp_path):
    bad = mf.make_bad_files(tmp_path)
    assert classify(bad["truncated_jpeg"]) is MediaKind.IMAGE
    assert classify(bad["corrupt_png"]) is MediaKind.IMAGE
    assert classify(bad["truncated_mp4"]) is MediaKind.VIDEO
    assert classify(bad["garbage_mp4"]) is MediaKind.VIDEO


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UnsupportedMediaError, match="file not found"):
        classify(tmp_path / "nope.jpg")
    with pytest.raises(UnsupportedMediaError, match="not a regular file"):
        classify(tmp_path)
    assert sniff_kind(tmp_path / "nope.jpg") is None


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: mode 000 files are still readable")
    path = mf.make_bad_files(tmp_path)["unreadable"]
    assert sniff_kind(path) is None
    with pytest.raises(UnsupportedMediaError) as info:
        classify(path)
    assert info.value.reason == "permission denied"


# ----------------------------------------------------------------------------- content_hash


def test_small_files_are_hashed_whole(tmp_path):
    a = tmp_path / "a.bin"
    a.write_bytes(b"hello" * 1000)
    h = content_hash(a)
    assert h.startswith("b2:") and len(h) == 3 + 32
    moved = tmp_path / "sub" / "renamed.jpg"
    moved.parent.mkdir()
    a.rename(moved)
    assert content_hash(moved) == h
    moved.write_bytes(b"hello" * 999 + b"hellp")
    assert content_hash(moved) != h


def test_large_files_are_hashed_by_size_and_three_samples(tmp_path):
    rng = np.random.default_rng(0)
    size = WHOLE_FILE_LIMIT + 3 * 1024 * 1024 + 17
    data = bytearray(rng.bytes(size))
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(data))
    h = content_hash(big)
    assert h.startswith("b2s:") and len(h) == 4 + 32

    import hashlib

    ref = hashlib.blake2b(digest_size=16)
    ref.update(size.to_bytes(8, "little"))
    mid = (size - SAMPLE_BYTES) // 2
    for off in (0, mid, size - SAMPLE_BYTES):
        ref.update(bytes(data[off:off + SAMPLE_BYTES]))
    assert h == "b2s:" + ref.hexdigest()

    for offset in (10, mid + 5, size - 3):  # a change inside any sample is seen
        changed = bytearray(data)
        changed[offset] ^= 0xFF
        big.write_bytes(bytes(changed))
        assert content_hash(big) != h
    changed = bytearray(data)
    changed[SAMPLE_BYTES + 10] ^= 0xFF  # between the samples: by design not seen
    big.write_bytes(bytes(changed))
    assert content_hash(big) == h
    big.write_bytes(bytes(data) + b"x")  # but a size change is
    assert content_hash(big) != h


def test_exactly_the_limit_is_still_whole(tmp_path):
    f = tmp_path / "limit.bin"
    f.write_bytes(b"\0" * WHOLE_FILE_LIMIT)
    assert content_hash(f).startswith("b2:")


def test_committed_samples_match_their_ground_truth():
    import json

    samples = Path(__file__).resolve().parent.parent / "samples"
    truth = json.loads((samples / "ground_truth.json").read_text())
    images = [name for group in truth["near_duplicates"] for name in group]
    assert len(images) == 12 and len(set(images)) == 12
    for name in images:
        assert classify(samples / name) is MediaKind.IMAGE
    for name, video in truth["videos"].items():
        assert classify(samples / name) is MediaKind.VIDEO
        assert video["segments"][0]["start_s"] == 0
    hashes = {content_hash(samples / name) for name in images}
    assert len(hashes) == 12  # near-duplicates, never byte-identical
