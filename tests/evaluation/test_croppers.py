import pytest
from PIL import Image

import intentcrop
from intentcrop.core.box import Box
from intentcrop.core.result import CropResult
from intentcrop.evaluation import CenterCropper, IntentCropCropper, SmartcropCropper, WholeImageCropper, make_cropper
from intentcrop.evaluation.croppers import SMARTCROP_RATIOS, largest_fit, upright_size


@pytest.fixture
def wide_image(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (100, 50), (10, 20, 30)).save(path)
    return path


@pytest.mark.parametrize(
    "cropper, ratio, expected",
    [
        (CenterCropper(), None, Box(5, 2.5, 95, 47.5)),
        (CenterCropper(), 1.0, Box(27.5, 2.5, 72.5, 47.5)),  # largest square 50x50, 90 % of it, centred
        (CenterCropper(0.5), None, Box(25, 12.5, 75, 37.5)),
        (WholeImageCropper(), None, Box(0, 0, 100, 50)),
        (WholeImageCropper(), 1.0, Box(25, 0, 75, 50)),
        (WholeImageCropper(), 4.0, Box(0, 12.5, 100, 37.5)),
    ],
)
def test_geometric_baselines(wide_image, cropper, ratio, expected):
    assert cropper(wide_image, ratio) == expected


@pytest.mark.parametrize("width, height, ratio, expected", [(100, 50, 1, (50, 50)), (100, 50, 4, (100, 25)),
                                                            (30, 60, 0.25, (15, 60))])
def test_largest_fit(width, height, ratio, expected):
    assert largest_fit(width, height, ratio) == pytest.approx(expected)


def test_upright_size_applies_exif_rotation(tmp_path):
    path = tmp_path / "rotated.jpg"
    image = Image.new("RGB", (100, 50))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    image.save(path, exif=exif)
    assert upright_size(path) == (50, 100)
    assert WholeImageCropper()(path) == Box(0, 0, 50, 100)


def test_center_fraction_must_be_a_share():
    with pytest.raises(ValueError, match="fraction"):
        CenterCropper(1.5)


def test_smartcrop_free_form_picks_one_of_its_ratios(sample_image_path):
    width, height = upright_size(sample_image_path)
    box = SmartcropCropper()(sample_image_path)
    assert Box(0, 0, width, height).contains(box)
    allowed = [w / h for w, h in SMARTCROP_RATIOS] + [width / height]
    assert min(abs(box.aspect / r - 1) for r in allowed) < 0.03  # smartcrop floors its pixel sizes


@pytest.mark.parametrize("ratio", [1.0, 16 / 9, 2 / 3])
def test_smartcrop_ratio_aware_meets_the_ratio(sample_image_path, ratio):
    box = SmartcropCropper()(sample_image_path, ratio)
    assert box.aspect == pytest.approx(ratio, rel=0.03)
    assert box.width * box.height > 0


def test_intentcrop_cropper_asks_for_one_crop_at_the_ratio(monkeypatch, wide_image):
    calls = []

    def fake_crop(image, **kwargs):
        calls.append((image, kwargs))
        return [CropResult(box=Box(1, 2, 3, 4), score=1.0)]

    monkeypatch.setattr(intentcrop, "crop", fake_crop)
    assert IntentCropCropper()(wide_image, 1.5) == Box(1, 2, 3, 4)
    assert calls == [(wide_image, {"k": 1, "ratio": 1.5, "method": "default"})]


def test_make_cropper_names_the_known_methods():
    assert isinstance(make_cropper("center"), CenterCropper)
    from intentcrop.evaluation.croppers import CROPPERS

    assert {"intentcrop", "cropper", "cagic", "clipcropping", "center", "smartcrop"} <= set(CROPPERS)
    with pytest.raises(KeyError, match=", ".join(CROPPERS)):
        make_cropper("nope")
