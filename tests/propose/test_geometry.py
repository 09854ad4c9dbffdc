import itertools

import numpy as np
import pytest

from intentcrop.core.box import Box
from intentcrop.errors import InvalidIntentError
from intentcrop.propose import contains_mask, dedupe, grid_anchors, largest_ratio_window, ratio_windows, subject_windows

SIZES = [(1024, 768), (768, 1024), (800, 465), (333, 1000), (17, 9), (4000, 300), (512, 512)]
RATIOS = [1.0, 16 / 9, 9 / 16, 4 / 3, 3 / 4, 4 / 5, 2.39, 1 / 3, 1080 / 1350]


def _ratio_exact(boxes: np.ndarray, ratio: float) -> bool:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return bool(np.all(np.abs(w - h * ratio) <= 0.5 + 1e-9) and np.all(np.abs(h - w / ratio) <= 0.5 + 1e-9))


def _inside(boxes: np.ndarray, width: int, height: int) -> bool:
    return bool(np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2] <= width) and np.all(boxes[:, 3] <= height))


@pytest.mark.parametrize("size, ratio", list(itertools.product(SIZES, RATIOS)))
def test_ratio_windows_are_exact_integer_and_inside(size, ratio):
    width, height = size
    boxes = ratio_windows(width, height, ratio, min_scale=0.3)
    assert len(boxes) > 0
    assert np.all(boxes == np.round(boxes))
    assert _inside(boxes, width, height)
    assert _ratio_exact(boxes, ratio)


@pytest.mark.parametrize("size, ratio", list(itertools.product(SIZES, RATIOS)))
def test_largest_window_touches_two_sides(size, ratio):
    width, height = size
    try:
        w, h = largest_ratio_window(width, height, ratio)
    except InvalidIntentError as exc:
        assert "impossible" in str(exc)
        return
    assert w <= width and h <= height
    assert w >= width - max(2, ratio + 1) or h >= height - max(2, 1 / ratio + 1)


def test_impossible_ratio_is_reported():
    with pytest.raises(InvalidIntentError, match="impossible"):
        largest_ratio_window(5, 100, 10.0)


@pytest.mark.parametrize("ratio", RATIOS)
def test_ratio_windows_contain_the_subject(ratio):
    subject = Box(300, 200, 420, 330)
    boxes = ratio_windows(1024, 768, ratio, must_contain=subject)
    assert len(boxes) and contains_mask(boxes, subject).all() and _ratio_exact(boxes, ratio)


def test_subject_too_wide_for_ratio():
    subject = Box(0, 300, 1024, 340)  # full width, so a 1:2 crop would need 2048 px of height
    with pytest.raises(InvalidIntentError, match="impossible.*subject"):
        ratio_windows(1024, 768, 0.5, must_contain=subject)
    fallback = ratio_windows(1024, 768, 0.5, must_contain=subject, strict=False)
    assert len(fallback) == 1 and _ratio_exact(fallback, 0.5) and _inside(fallback, 1024, 768)


@pytest.mark.parametrize("size", SIZES[:4])
def test_grid_anchors_follow_gaic_constraints(size):
    width, height = size
    boxes = grid_anchors(width, height)
    assert len(boxes) > 50 and _inside(boxes, width, height)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    assert area.min() >= 0.5 * width * height
    assert [0, 0, width, height] in boxes.tolist()


def test_subject_windows_contain_subject_and_stay_inside():
    subject = Box(10, 20, 60, 90)
    boxes = subject_windows(200, 150, subject)
    assert contains_mask(boxes, subject).all() and _inside(boxes, 200, 150)


def test_dedupe_removes_near_duplicates_without_moving_boxes():
    boxes = np.array([[0, 0, 100, 100], [0, 0, 100, 101], [10, 10, 90, 90], [0, 0, 100, 100]], float)
    out = dedupe(boxes, 1000, 1000)
    assert out.tolist() == [[0, 0, 100, 100], [10, 10, 90, 90]]
