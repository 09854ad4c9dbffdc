"""The crop floor: no candidate below options.min_crop_side px or min_scale, whatever the region or max_scale."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.core.context import CropContext, Grounding
from intentcrop.core.intent import Intent
from intentcrop.defaults import DEFAULTS
from intentcrop.propose.geometry import floor_size, grow_to, ratio_windows
from intentcrop.propose.proposer import GridProposer


def _ctx(size, region=None, strict=True, options=None, **intent) -> CropContext:
    ctx = CropContext(image=Image.new("RGB", size), intent=Intent(**intent),
                      options=DEFAULTS.merged(options))
    if region is not None:
        ctx.grounding = Grounding(boxes=[region], scores=[1.0], phrases=["x"], region=region, strict=strict,
                                  source="subject" if strict else "text")
    return ctx


def _sides(candidates) -> tuple[np.ndarray, np.ndarray]:
    return candidates.xyxy[:, 2] - candidates.xyxy[:, 0], candidates.xyxy[:, 3] - candidates.xyxy[:, 1]


@pytest.mark.parametrize("size, min_side, min_scale, ratio, expected", [
    ((800, 500), 16, 0.0, None, (16, 16)),
    ((800, 500), 16, 0.1, None, (80, 50)),
    ((10, 40), 16, 0.0, None, (10, 16)),  # never more than the image side
    ((800, 500), 16, 0.0, 16 / 9, (28, 16)),  # a ratio: the window whose shorter side is the floor
    ((800, 500), 16, 0.0, 9 / 16, (16, 28)),
    ((100, 100), 16, 0.0, 10.0, (100, 10)),  # the largest 10:1 window is only 10 px high: that is the floor
])
def test_floor_size(size, min_side, min_scale, ratio, expected):
    assert floor_size(*size, min_side, min_scale, ratio) == expected


@pytest.mark.parametrize("region, need, expected", [
    (Box(100, 50, 103, 51), (16, 16), Box(93.5, 42.5, 109.5, 58.5)),  # grown about its centre
    (Box(0, 0, 3, 1), (16, 16), Box(0, 0, 16, 16)),  # shifted to stay inside the image
    (Box(198, 99, 200, 100), (16, 16), Box(184, 84, 200, 100)),
    (Box(10, 10, 60, 12), (16, 16), Box(10, 3, 60, 19)),  # only the side that is too short grows
    (Box(10, 10, 60, 60), (16, 16), Box(10, 10, 60, 60)),  # big enough: unchanged
])
def test_grow_to_grows_a_small_region_centred_inside_the_image(region, need, expected):
    assert grow_to(region, 200, 100, *need) == expected


TINY = [Box(100, 100, 103, 101), Box(0, 0, 3, 1), Box(397, 299, 400, 300), Box(20, 150, 254, 151),  # 234x1
        Box(200, 40, 200, 40)]  # zero-area


@pytest.mark.parametrize("ratios", [None, [1.0], [16 / 9], [0.8]])
@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("region", TINY)
def test_no_candidate_below_the_floor_for_a_tiny_region(region, strict, ratios):
    ctx = _ctx((400, 300), region, strict, ratios=ratios)
    candidates = GridProposer().propose(ctx)
    assert len(candidates) > 0
    w, h = _sides(candidates)
    min_w, min_h = floor_size(400, 300, DEFAULTS.min_crop_side, 0.0, ratios[0] if ratios else None)
    assert (w >= min_w - 0.5).all() and (h >= min_h - 0.5).all()
    assert (w * h > 0).all()
    if ratios is None:  # free-form: no strip beyond max_ratio either
        assert (np.maximum(w / h, h / w) <= DEFAULTS.max_ratio + 0.5).all()
    cx, cy = region.center  # every candidate is about the region: it holds the region's centre
    assert ((candidates.xyxy[:, 0] <= cx) & (candidates.xyxy[:, 2] >= cx)
            & (candidates.xyxy[:, 1] <= cy) & (candidates.xyxy[:, 3] >= cy)).all()


@pytest.mark.parametrize("size", [(64, 48), (100, 100), (30, 500), (8, 6)])
@pytest.mark.parametrize("ratios", [None, [1.0], [16 / 9]])
@pytest.mark.parametrize("subject", [None, Box(1, 1, 2, 2)])
def test_a_tiny_max_scale_gives_crops_at_the_floor_never_zero_area(size, ratios, subject):
    ctx = _ctx(size, subject, ratios=ratios, max_scale=0.01)
    candidates = GridProposer().propose(ctx)
    assert len(candidates) > 0
    w, h = _sides(candidates)
    min_w, min_h = floor_size(*size, DEFAULTS.min_crop_side, 0.0, ratios[0] if ratios else None)
    assert (w >= min_w - 0.5).all() and (h >= min_h - 0.5).all()
    assert (w >= 1).all() and (h >= 1).all()
    assert (candidates.xyxy[:, :2] >= 0).all() and (candidates.xyxy[:, 2] <= size[0]).all()
    assert (candidates.xyxy[:, 3] <= size[1]).all()


@pytest.mark.parametrize("min_side", [1, 16, 64])
def test_the_floor_is_an_option(min_side):
    ctx = _ctx((400, 300), Box(100, 100, 103, 101), ratios=[1.0], options={"min_crop_side": min_side})
    w, h = _sides(GridProposer().propose(ctx))
    assert w.min() >= max(min_side, 3) and h.min() >= max(min_side, 3)
    floor = max(min_side, int(np.ceil(0.1 * 300)))  # min_scale of the largest window, or the floor
    assert floor <= w.min() <= floor + 1  # (+1: the grown region's edges rounded outward)


@pytest.mark.parametrize("ratio", [1.0, 16 / 9, 0.5])
def test_ratio_windows_respect_min_side(ratio):
    boxes = ratio_windows(400, 300, ratio, min_scale=0.01, max_scale=0.01, min_side=20)
    short = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    assert (short >= 20).all()


def test_min_crop_side_must_be_at_least_one():
    from intentcrop.errors import InvalidIntentError

    with pytest.raises(InvalidIntentError, match="min_crop_side"):
        DEFAULTS.merged({"min_crop_side": 0})
