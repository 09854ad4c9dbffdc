"""The default proposer: every candidate holds the grounded region, a model's region with a safety margin."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.core.context import CropContext, Grounding
from intentcrop.core.intent import Intent
from intentcrop.errors import InvalidIntentError
from intentcrop.propose.geometry import contains_mask
from intentcrop.propose.proposer import GridProposer


def _ctx(region: Box, strict: bool, size=(400, 300), **intent) -> CropContext:
    ctx = CropContext(image=Image.new("RGB", size), intent=Intent(**intent))
    ctx.grounding = Grounding(boxes=[region], scores=[1.0], phrases=["x"], region=region, strict=strict,
                              source="subject" if strict else "text")
    return ctx


REGION = Box(150, 100, 250, 200)
GROWN = Box(140, 90, 260, 210)  # REGION grown by 0.1 of its size on each side


@pytest.mark.parametrize("ratios", [None, [1.0], [16 / 9], [0.8]])
@pytest.mark.parametrize("strict, must_hold", [(False, GROWN), (True, REGION)])
def test_every_candidate_holds_the_region_and_a_models_region_with_its_margin(ratios, strict, must_hold):
    candidates = GridProposer(safety_margin=0.1).propose(_ctx(REGION, strict, ratios=ratios))
    assert len(candidates) > 0
    assert contains_mask(candidates.xyxy, must_hold).all()
    if strict:  # a user's subject gets no margin: some candidate is tighter than the grown box
        assert not contains_mask(candidates.xyxy, GROWN).all()


def test_a_margin_that_cannot_fit_the_ratio_falls_back_to_the_region_itself():
    # a 400x100 region in a 400x300 image at 4:1: it fits the 400x100 window exactly, grown to 120 px tall it cannot
    region = Box(0, 100, 400, 200)
    candidates = GridProposer(safety_margin=0.1).propose(_ctx(region, False, ratios=[4.0]))
    assert len(candidates) > 0 and contains_mask(candidates.xyxy, region).all()
    np.testing.assert_allclose((candidates.xyxy[:, 2] - candidates.xyxy[:, 0]) / (candidates.xyxy[:, 3] - candidates.xyxy[:, 1]),
                               4.0, rtol=0.02)


def test_a_subject_that_cannot_fit_the_ratio_is_an_error():
    with pytest.raises(InvalidIntentError):
        GridProposer().propose(_ctx(Box(0, 0, 400, 100), True, size=(400, 300), ratios=[0.5]))


def test_without_grounding_the_margin_does_nothing():
    ctx = CropContext(image=Image.new("RGB", (400, 300)), intent=Intent())
    with_margin = GridProposer(safety_margin=0.5).propose(ctx)
    without = GridProposer(safety_margin=0.0).propose(ctx)
    np.testing.assert_array_equal(with_margin.xyxy, without.xyxy)
