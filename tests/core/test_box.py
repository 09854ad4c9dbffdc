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


@pytest.mark.parametrize("box, ratio, size, expected", [
    # no ratio: each edge rounded
    (Box(0.4, 0.6, 63.4, 47.6), None, (100, 100), Box(0, 1, 63, 48)),
    # 63.4 x 47.6 at 4:3: edge rounding gives 63 x 48; to the pixel it is 64 x 48 about the same centre
    (Box(0.0, 0.0, 63.4, 47.6), 4 / 3, (100, 100), Box(0, 0, 64, 48)),
    # already exact to the pixel (a grid window): only rounded, never moved
    (Box(10.0, 5.0, 170.0, 95.0), 16 / 9, (200, 100), Box(10, 5, 170, 95)),
    # portrait: the width is the shorter side
    (Box(10.2, 10.0, 50.6, 60.3), 4 / 5, (100, 100), Box(10, 10, 50, 60)),
    # a box that would leave the image at the ratio shrinks to the largest window that fits, inside it
    (Box(0.0, 0.0, 100.0, 56.7), 16 / 9, (100, 56), Box(0, 0, 100, 56)),
])
def test_to_pixels_is_exact_at_the_ratio_and_inside(box, ratio, size, expected):
    out = box.to_pixels(ratio, *size)
    assert out == expected
    assert 0 <= out.x1 and 0 <= out.y1 and out.x2 <= size[0] and out.y2 <= size[1]
    if ratio is not None:
        short, long_ = (out.height, out.width) if ratio >= 1 else (out.width, out.height)
        assert long_ == round(short * (ratio if ratio >= 1 else 1 / ratio))
