"""Contract: load_image returns an upright RGB image for every supported format and mode, draft-decodes JPEGs, and raises typed errors with reasons."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

import media_factory as mf
from mediasearch.decode.image import image_size, load_image
from mediasearch.errors import DecodeError, UnsupportedMediaError

SIZE = (96, 64)


def _diff(img: Image.Image, ref: Image.Image) -> float:
    """Mean absolute difference, 0-255 scale."""
    return float(np.abs(np.asarray(img, np.int16) - np.asarray(ref.convert("RGB"), np.int16)).mean())


@pytest.mark.parametrize(
    "suffix,tolerance",
    [(".png", 0), (".tif", 0), (".bmp", 0), (".jpg", 6), (".webp", 8), (".gif", 12)],
)
def test_every_format_decodes_to_rgb(tmp_path, suffix, tolerance):
    path = mf.make_image(tmp_path / f"pic{suffix}", seed=7, size=SIZE)
    img = load_image(path)
    assert img.mode == "RGB" and img.size == SIZE
    assert _diff(img, mf.structured_picture(7, SIZE)) <= tolerance
    assert image_size(path) == SIZE


def test_gif_gives_its_first_frame(tmp_path):
    path = mf.make_image(tmp_path / "anim.gif", seed=3, size=SIZE, frames=3)
    assert Image.open(path).n_frames == 3
    img = load_image(path)
    first, second = mf.structured_picture(3, SIZE), mf.structured_picture(1003, SIZE)
    assert _diff(img, first) < 12 < _diff(img, second)


def test_exif_orientation_6_is_rotated_clockwise(tmp_path):
    stored = np.zeros((40, 80, 3), np.uint8)  # 80 wide, 40 high, as stored
    stored[:20, :40] = (255, 0, 0)  # top-left quadrant red
    stored[20:, 40:] = (0, 0, 255)  # bottom-right blue
    exif = Image.Exif()
    exif[274] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes())
    img = load_image(path)
    assert img.size == (40, 80)
    assert image_size(path) == (40, 80)
    expected = np.rot90(stored, k=-1)  # clockwise
    assert float(np.abs(np.asarray(img, np.int16) - expected).mean()) < 4
    assert np.asarray(img)[5, 35, 0] > 200  # red is now top-right


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_gives_the_displayed_size(tmp_path, orientation):
    path = mf.make_image(tmp_path / "o.jpg", seed=2, size=(80, 40), exif_orientation=orientation)
    expected = (40, 80) if orientation >= 5 else (80, 40)
    assert load_image(path).size == expected
    assert image_size(path) == expected


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk_is_converted(tmp_path, suffix):
    path = mf.make_image(tmp_path / f"cmyk{suffix}", seed=4, size=SIZE, mode="CMYK")
    assert Image.open(path).mode == "CMYK"
    img = load_image(path)
    assert img.mode == "RGB"
    assert _diff(img, mf.structured_picture(4, SIZE)) < 6  # not inverted


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path, suffix):
    path = mf.make_image(tmp_path / f"deep{suffix}", seed=5, size=SIZE, mode="I;16")
    assert Image.open(path).mode.startswith("I")
    img = load_image(path)
    grey = np.asarray(mf.structured_picture(5, SIZE).convert("L"), np.int16)
    arr = np.asarray(img, np.int16)
    assert img.mode == "RGB" and (arr[..., 0] == arr[..., 1]).all()
    assert np.abs(arr[..., 0] - grey).max() <= 1


def test_greyscale_becomes_three_equal_channels(tmp_path):
    img = load_image(mf.make_image(tmp_path / "g.png", seed=6, size=SIZE, mode="L"))
    arr = np.asarray(img)
    assert img.mode == "RGB" and (arr[..., 0] == arr[..., 2]).all()


@pytest.mark.parametrize("suffix,mode", [(".png", "PA"), (".gif", "PA"), (".png", "RGBA"), (".png", "LA"), (".webp", "RGBA")])
def test_transparency_is_composited_on_white(tmp_path, suffix, mode):
    path = mf.make_image(tmp_path / f"t{suffix}", seed=8, size=SIZE, mode=mode)
    img = load_image(path)
    arr = np.asarray(img, np.int16)
    assert img.mode == "RGB"
    assert (arr[0, 0] >= 250).all()  # transparent corner -> white
    centre = np.asarray(mf.structured_picture(8, SIZE).convert("RGB" if mode != "LA" else "L").convert("RGB"), np.int16)
    assert np.abs(arr[32, 48] - centre[32, 48]).max() < 40  # opaque centre keeps its colour


def test_palette_without_transparency(tmp_path):
    img = load_image(mf.make_image(tmp_path / "p.png", seed=9, size=SIZE, mode="P"))
    assert img.mode == "RGB" and _diff(img, mf.structured_picture(9, SIZE)) < 8


def test_draft_decode_is_smaller_keeps_aspect_and_stays_above_target(tmp_path):
    path = mf.make_photo_like(tmp_path / "big.jpg", 1, (1600, 1200))
    full = load_image(path)
    small = load_image(path, target_size=150)
    assert full.size == (1600, 1200)
    assert small.size[0] < 1600 and min(small.size) >= 2 * 150
    assert small.size == (400, 300)  # 1/4 DCT scale is the smallest with both sides >= 300
    assert abs(small.size[0] / small.size[1] - 4 / 3) < 0.01
    assert _diff(small, full.resize(small.size, Image.BOX)) < 6  # same picture


def test_draft_with_exif_orientation(tmp_path):
    path = mf.make_image(tmp_path / "rot.jpg", seed=1, size=(1600, 800), exif_orientation=6)
    img = load_image(path, target_size=100)
    assert img.size == (200, 400)


def test_target_size_leaves_non_jpeg_at_full_size(tmp_path):
    path = mf.make_image(tmp_path / "big.png", seed=1, size=(800, 600))
    assert load_image(path, target_size=100).size == (800, 600)


def test_oversize_image_is_refused_before_decoding(tmp_path):
    path = mf.make_image(tmp_path / "wide.png", seed=1, size=(320, 240))
    with pytest.raises(UnsupportedMediaError) as info:
        load_image(path, max_pixels=320 * 240 - 1)
    assert info.value.reason == f"image too large: 320 x 240 px > limit {320 * 240 - 1} px"
    assert load_image(path, max_pixels=320 * 240).size == (320, 240)


def test_pillow_global_limit_does_not_leak_a_foreign_exception(tmp_path, monkeypatch):
    path = mf.make_image(tmp_path / "pic.png", seed=1, size=(320, 240))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(UnsupportedMediaError, match="image too large"):
        load_image(path)


@pytest.mark.parametrize(
    "name,error,reason",
    [
        ("empty", UnsupportedMediaError, "empty file (0 bytes)"),
        ("truncated_jpeg", DecodeError, "truncated JPEG file"),
        ("corrupt_png", DecodeError, "corrupt PNG header"),
        ("random_jpg", UnsupportedMediaError, "unrecognised file format"),
        ("text", UnsupportedMediaError, "unsupported file format: text file"),
        ("pdf", UnsupportedMediaError, "unsupported file format: PDF document"),
        ("truncated_mp4", UnsupportedMediaError, "not an image (video file, mp4)"),
    ],
)
def test_bad_inputs_raise_typed_errors_with_reasons(tmp_path, name, error, reason):
    path = mf.make_bad_files(tmp_path)[name]
    with pytest.raises(error) as info:
        load_image(path)
    assert type(info.value) is error
    assert info.value.reason.startswith(reason)
    assert info.value.path == path
    if name != "empty":
        with pytest.raises(error):
            image_size(path) if error is UnsupportedMediaError else load_image(path)


def test_png_with_wrong_extension_loads(tmp_path):
    path = mf.make_bad_files(tmp_path)["png_as_jpg"]
    assert load_image(path, target_size=10).size == (96, 64)


def test_missing_and_unreadable(tmp_path):
    with pytest.raises(UnsupportedMediaError, match="file not found"):
        load_image(tmp_path / "gone.png")
    if os.geteuid() == 0:
        pytest.skip("running as root: mode 000 files are still readable")
    with pytest.raises(UnsupportedMediaError, match="permission denied"):
        load_image(mf.make_bad_files(tmp_path)["unreadable"])


def test_image_outlives_its_file(tmp_path):
    path = mf.make_image(tmp_path / "x.jpg", seed=1, size=SIZE)
    img = load_image(path)
    path.unlink()
    assert img.getpixel((5, 5)) is not None and img.size == SIZE
