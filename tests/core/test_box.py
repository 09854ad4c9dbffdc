import numpy as np
import pytest

from intentcrop.core.box import Box, containment, pairwise_iou
from intentcrop.errors import InvalidIntentError


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),
        ((0, 0, 10, 10), (10, 10, 20, 20), 0.0),
        ((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100),
    ],
)
def test_iou_by_hand(a, b, expected):
    assert Box.from_xyxy(a).iou(Box.from_xyxy(b)) == pytest.approx(expected)
    assert pairwise_iou(np.array([a]), np.array([b]))[0, 0] == pytest.approx(expected)


@pytest.mark.parametrize("xywh", [(0, 0, 10, 20), (3.5, 7.25, 100, 1), (10, 10, 0, 0)])
def test_xywh_round_trip(xywh):
    assert Box.from_xywh(xywh).to_xywh() == pytest.approx(xywh)


@pytest.mark.parametrize("size", [(640, 480), (1, 1), (1024, 683)])
def test_normalized_and_grid_round_trip(size):
    box = Box(64, 48, 320, 400).clip(*size)
    assert Box.from_normalized(box.to_normalized(*size), *size).to_xyxy() == pytest.approx(box.to_xyxy())
    grid = box.to_grid(*size)
    assert all(1 <= v <= 1000 for v in grid)
    # the 1..1000 grid loses at most one grid step of precision
    back = Box.from_grid(grid, *size)
    assert np.abs(back.to_array() - box.to_array()).max() <= max(size) / 999 + 1e-9


def test_grid_corners_are_image_corners():
    assert Box.from_grid((1, 1, 1000, 1000), 800, 600).to_xyxy() == pytest.approx((0, 0, 800, 600))
    assert Box(0, 0, 800, 600).to_grid(800, 600) == (1, 1, 1000, 1000)


@pytest.mark.parametrize("bad", [(5, 0, 4, 10), (0, 5, 10, 4), (0, 0, float("nan"), 1)])
def test_invalid_boxes_are_rejected(bad):
    with pytest.raises(InvalidIntentError):
        Box.from_xyxy(bad)


def test_containment_and_contains():
    outer = Box(0, 0, 100, 100)
    assert outer.contains(Box(10, 10, 90, 90))
    assert not outer.contains(Box(-1, 10, 90, 90))
    share = containment(np.array([[50, 50, 150, 150]]), np.array([outer.to_xyxy()]))
    assert share[0, 0] == pytest.approx(0.25)


def test_clip_union_expand():
    assert Box(-10, -5, 50, 700).clip(100, 600).to_xyxy() == (0, 0, 50, 600)
    assert Box.union_all([Box(0, 0, 1, 1), Box(5, 5, 6, 7)]).to_xyxy() == (0, 0, 6, 7)
    assert Box(10, 10, 20, 30).expand(0.5).to_xyxy() == (5, 0, 25, 40)
