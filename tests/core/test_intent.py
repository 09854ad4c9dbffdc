import numpy as np
import pytest

from intentcrop.core.intent import Intent, parse_ratio, parse_size, ratio_label, subject_to_box
from intentcrop.errors import InvalidIntentError


@pytest.mark.parametrize(
    "text, expected",
    [("16:9", 16 / 9), ("4/5", 0.8), ("1.5", 1.5), (" 3 : 2 ", 1.5), ("square", 1.0), (2, 2.0), ((1080, 1350), 0.8)],
)
def test_parse_ratio(text, expected):
    assert parse_ratio(text) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["16-9", "wide", "0:1", "1:0", "-1", "abc:def", "", "100:1", "nan"])
def test_parse_ratio_rejects_with_a_message(bad):
    with pytest.raises(InvalidIntentError, match="ratio"):
        parse_ratio(bad)


@pytest.mark.parametrize("text, expected", [("1080x1350", (1080, 1350)), ("64X64", (64, 64)), ((10, 20), (10, 20))])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["1080", "0x10", "10x", "axb", "100000x100000"])
def test_parse_size_rejects(bad):
    with pytest.raises(InvalidIntentError, match="size"):
        parse_size(bad)


def test_size_fixes_ratio_and_conflicts_are_reported():
    assert Intent(size="1080x1350").ratios == [pytest.approx(0.8)]
    with pytest.raises(InvalidIntentError, match="fixes the ratio"):
        Intent(size="1080x1350", ratios=["16:9"])


def test_original_ratio_resolves_per_image():
    intent = Intent(ratios=["original", "1:1"])
    assert intent.resolve_ratios(800, 600) == [pytest.approx(4 / 3), 1.0]


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"min_scale": 0}, {"min_scale": 0.8, "max_scale": 0.5}, {"padding": -1}])
def test_invalid_intents(kwargs):
    with pytest.raises(InvalidIntentError):
        Intent(**kwargs)


def test_ratio_label():
    assert ratio_label(16 / 9) == "16:9"
    assert ratio_label(0.8) == "4:5"


def test_subject_from_mask_and_box():
    mask = np.zeros((60, 80), dtype=np.uint8)
    mask[10:20, 30:50] = 255
    assert subject_to_box(mask, 80, 60).to_xyxy() == (30, 10, 50, 20)
    assert subject_to_box((1, 2, 3, 4), 80, 60).to_xyxy() == (1, 2, 3, 4)
    with pytest.raises(InvalidIntentError, match="empty"):
        subject_to_box(np.zeros((60, 80)), 80, 60)
    with pytest.raises(InvalidIntentError, match="size"):
        subject_to_box(np.ones((10, 10)), 80, 60)
    with pytest.raises(InvalidIntentError, match="outside"):
        subject_to_box((100, 100, 120, 120), 80, 60)
