"""Faithful output files: the colour profile and EXIF kept (orientation reset), quality, never-enlarge."""

import io

import pytest
from PIL import Image, ImageCms

from intentcrop.core.box import Box
from intentcrop.core.result import CropResult
from intentcrop.io.image import (crop_image, crop_scale, encode_image, load_image, open_image, read_metadata,
                                 save_image)

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
CMYK_LIKE = SRGB[:16] + b"CMYK" + SRGB[20:]  # a profile header saying CMYK: wrong for RGB pixels


def _exif(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Canon"  # Make
    sub = exif.get_ifd(0x8769)
    sub[0xA002], sub[0xA003] = 80, 60  # the stored pixel dimensions
    return exif.tobytes()


@pytest.fixture
def tagged_jpeg(tmp_path):
    path = tmp_path / "tagged.jpg"
    Image.new("RGB", (80, 60), (200, 40, 40)).save(path, quality=95, icc_profile=SRGB, exif=_exif(6))
    return path


def _reopened(data_or_path):
    img = Image.open(io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path)
    img.load()
    return img


@pytest.mark.parametrize("ext, fmt", [(".jpg", "JPEG"), (".png", "PNG"), (".webp", "WEBP")])
def test_profile_and_exif_survive_with_orientation_reset(tagged_jpeg, tmp_path, ext, fmt):
    image = open_image(tagged_jpeg)  # lazy: the metadata comes from the file, not the decoded pixels
    assert image.size == (60, 80)  # orientation 6: upright is a quarter turn
    crop = CropResult(box=Box(0, 0, 30, 40), score=1.0).crop(image)
    out = save_image(crop, tmp_path / f"crop{ext}", metadata=read_metadata(image))
    saved = _reopened(out)
    assert saved.format == fmt and saved.size == (30, 40)
    assert saved.info.get("icc_profile") == SRGB
    exif = saved.getexif()
    assert exif[0x0112] == 1 and exif[0x010F] == "Canon"
    assert (exif.get_ifd(0x8769)[0xA002], exif.get_ifd(0x8769)[0xA003]) == (30, 40)  # the crop's own size
    assert load_image(out).size == (30, 40)  # a viewer does not turn it again


@pytest.mark.parametrize("source", ["path", "bytes", "lazy", "pil"])
def test_read_metadata_from_every_source(tagged_jpeg, source):
    given = {"path": tagged_jpeg, "bytes": tagged_jpeg.read_bytes(), "lazy": open_image(tagged_jpeg),
             "pil": Image.open(tagged_jpeg)}[source]
    meta = read_metadata(given)
    assert meta["icc_profile"] == SRGB and meta["exif"]


def test_no_metadata_no_problem(tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (10, 10)).save(plain)
    assert read_metadata(plain) == {} and read_metadata(tmp_path / "missing.jpg") == {}
    out = save_image(Image.new("RGB", (5, 5)), tmp_path / "out.jpg", metadata={})
    assert "icc_profile" not in _reopened(out).info


def test_a_profile_for_other_pixels_is_dropped(tmp_path):
    out = save_image(Image.new("RGB", (5, 5)), tmp_path / "out.jpg", metadata={"icc_profile": CMYK_LIKE})
    assert "icc_profile" not in _reopened(out).info


def test_damaged_exif_is_left_out_not_fatal(tmp_path):
    out = save_image(Image.new("RGB", (5, 5)), tmp_path / "out.jpg", metadata={"exif": b"Exif\x00\x00garbage"})
    assert _reopened(out).size == (5, 5)


def test_encode_image_keeps_metadata(tagged_jpeg):
    data = encode_image(Image.new("RGB", (8, 8)), "JPEG", metadata=read_metadata(tagged_jpeg))
    saved = _reopened(data)
    assert saved.info["icc_profile"] == SRGB and saved.getexif()[0x0112] == 1


def test_quality_changes_the_file_and_is_checked(tmp_path):
    noisy = Image.effect_noise((64, 64), 60).convert("RGB")
    low = save_image(noisy, tmp_path / "low.jpg", quality=10).stat().st_size
    high = save_image(noisy, tmp_path / "high.jpg", quality=95).stat().st_size
    assert low < high
    with pytest.raises(ValueError, match="1..100"):
        save_image(noisy, tmp_path / "bad.jpg", quality=0)
    assert not (tmp_path / "bad.jpg").exists() and not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize(
    "box, size, upscale, written, scale",
    [
        (Box(0, 0, 40, 50), (80, 100), True, (80, 100), 2.0),  # enlarged 2x
        (Box(0, 0, 40, 50), (80, 100), False, (40, 50), 2.0),  # never enlarged: its own size, same ratio
        (Box(0, 0, 100, 125), (80, 100), False, (80, 100), 0.8),  # made smaller either way
        (Box(0, 0, 40, 50), None, False, (40, 50), 1.0),
        (Box(-10, 0, 40, 50), (80, 100), True, (80, 100), 2.0),  # clamped to the image first
    ],
)
def test_upscale_and_scale(box, size, upscale, written, scale):
    image = Image.new("RGB", (200, 200))
    assert crop_image(image, box, size, upscale=upscale).size == written
    assert crop_scale(box, image.size, size) == pytest.approx(scale)
    result = CropResult(box=box, score=0.0, output_size=size, image_size=(200, 200))
    assert result.crop(image, upscale=upscale).size == written and result.scale() == pytest.approx(scale)
