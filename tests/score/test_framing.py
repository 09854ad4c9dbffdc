"""The framing (area) scorer: the grounded region should fill between min_fill and max_fill of the crop."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext, Grounding
from intentcrop.core.intent import Intent
from intentcrop.score.framing import FramingScorer


def _ctx(region=None):
    ctx = CropContext(image=Image.new("RGB", (400, 200)), intent=Intent())
    if region is not None:
        ctx.grounding = Grounding(boxes=[region], scores=[1.0], phrases=["x"], region=region, strict=False)
    return ctx


@pytest.mark.parametrize(
    "fill, total",
    [(1.0, np.log(0.6)), (0.6, 0.0), (0.5, 0.0), (0.4, 0.0), (0.2, np.log(0.5)), (0.1, np.log(0.25))],
)
def test_costs_nothing_inside_the_fill_range_and_log_distance_outside(fill, total):
    region = Box(150, 50, 250, 150)  # 100x100, centred in each crop
    side = 100 / np.sqrt(fill)
    xyxy = np.array([[200 - side / 2, 100 - side / 2, 200 + side / 2, 100 + side / 2]])
    terms = FramingScorer(min_fill=0.4, max_fill=0.6).score(_ctx(region), Candidates.from_xyxy(xyxy))
    assert terms["fill"][0] == pytest.approx(fill)  # the region lies fully inside the crop
    assert terms["total"][0] == pytest.approx(total, abs=1e-9)


def test_a_single_fill_is_a_peak():
    region = Box(150, 50, 250, 150)
    sides = [100, 100 / np.sqrt(0.4), 100 / np.sqrt(0.1)]
    xyxy = [[200 - s / 2, 100 - s / 2, 200 + s / 2, 100 + s / 2] for s in sides]
    terms = FramingScorer(min_fill=0.4, max_fill=0.4).score(_ctx(region), Candidates.from_xyxy(np.array(xyxy)))
    assert np.argmax(terms["total"]) == 1


def test_cut_region_fills_less():
    region = Box(100, 50, 200, 150)
    terms = FramingScorer().score(_ctx(region), Candidates.from_xyxy(np.array([[150, 50, 250, 150]])))
    assert terms["fill"][0] == pytest.approx(0.5)


def test_without_region_prefers_larger_crops():
    terms = FramingScorer().score(_ctx(), Candidates.from_xyxy(np.array([[0, 0, 400, 200], [0, 0, 200, 100]])))
    np.testing.assert_allclose(terms["area"], [1.0, 0.25])
    assert terms["total"][0] > terms["total"][1]


@pytest.mark.parametrize("min_fill, max_fill", [(0, 0.5), (0.6, 0.4), (0.5, 1.2)])
def test_bad_fill_range(min_fill, max_fill):
    with pytest.raises(ValueError, match="min_fill"):
        FramingScorer(min_fill=min_fill, max_fill=max_fill)
