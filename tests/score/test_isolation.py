"""The isolation scorer: of crops holding the region, prefer those that leave other things out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext, Grounding
from intentcrop.core.intent import Intent
from intentcrop.score.isolation import IsolationScorer

REGION = Box(180, 80, 220, 120)
NEIGHBOUR = Box(240, 80, 280, 120)  # right of the region; the left side is empty background
# Two crops of the same size around the region: one extends right (over the neighbour), one left.
RIGHT, LEFT = [170, 60, 290, 140], [110, 60, 230, 140]


def _ctx(rejected=(), draw_neighbour=True):
    image = Image.new("RGB", (400, 200), (120, 120, 120))
    draw = ImageDraw.Draw(image)
    draw.ellipse(REGION.to_list(), fill=(220, 30, 30))
    if draw_neighbour:
        draw.rectangle(NEIGHBOUR.to_list(), fill=(30, 60, 220))
    ctx = CropContext(image=image, intent=Intent())
    ctx.grounding = Grounding(boxes=[REGION], scores=[0.8], phrases=["the red circle"], region=REGION,
                              strict=False, rejected=list(rejected), rejected_scores=[0.4] * len(rejected))
    return ctx


def test_salient_neighbour_inside_the_crop_counts_as_foreign():
    terms = IsolationScorer().score(_ctx(), Candidates.from_xyxy(np.array([RIGHT, LEFT])))
    assert terms["foreign"][0] > 5 * terms["foreign"][1]
    assert np.argmax(terms["total"]) == 1
    np.testing.assert_array_equal(terms["lookalikes"], [0.0, 0.0])


def test_rejected_lookalike_is_weighted_by_its_share_inside_and_its_score():
    ctx = _ctx(rejected=[NEIGHBOUR], draw_neighbour=False)  # only the grounder knows it is there
    half = [170, 60, 260, 140]  # holds half of the neighbour's box
    terms = IsolationScorer(lookalike_weight=1.0).score(ctx, Candidates.from_xyxy(np.array([RIGHT, half, LEFT])))
    np.testing.assert_allclose(terms["lookalikes"], [0.5, 0.25, 0.0])  # score 0.4 / best 0.8 = 0.5 per whole box
    assert list(np.argsort(-terms["total"])) == [2, 1, 0]


def test_without_region_every_term_is_zero():
    ctx = CropContext(image=Image.new("RGB", (100, 100)), intent=Intent())
    terms = IsolationScorer().score(ctx, Candidates.from_xyxy(np.array([[0, 0, 50, 50], [0, 0, 100, 100]])))
    for values in terms.values():
        np.testing.assert_array_equal(values, [0.0, 0.0])


def test_explains_a_crop_that_leaves_lookalikes_out():
    scorer = IsolationScorer()
    terms = scorer.score(_ctx(rejected=[NEIGHBOUR]), Candidates.from_xyxy(np.array([RIGHT, LEFT])))
    winner = {k: float(v[1]) for k, v in terms.items()}
    assert "leaves out the look-alikes of what was asked for" in scorer.explain(winner, terms)


def test_negative_pad_is_refused():
    with pytest.raises(ValueError, match="region_pad"):
        IsolationScorer(region_pad=-0.1)


def test_negative_cut_weight_is_refused():
    with pytest.raises(ValueError, match="cut_weight"):
        IsolationScorer(cut_weight=-1.0)


CLEAN = [130, 40, 300, 160]  # every side in the background, well clear of the circle and the square


@pytest.mark.parametrize(
    "crop, cuts_something",
    [
        ([130, 40, 260, 160], True),  # right side through the middle of the square
        ([130, 40, 200, 160], True),  # right side through the circle itself (a model box that stopped short)
        ([100, 30, 310, 170], False),  # every side in the background again
        ([0, 0, 400, 200], False),  # every side on the image border: nothing is cut
    ],
)
def test_border_cuts_measure_the_most_salient_side(crop, cuts_something):
    terms = IsolationScorer().score(_ctx(), Candidates.from_xyxy(np.array([crop, CLEAN])))
    clean = terms["cuts"][1]
    assert bool(terms["cuts"][0] > 5 * clean) is cuts_something
    assert terms["cuts"][0] < 2 * clean or cuts_something


def test_a_border_through_the_neighbour_costs_more_than_one_past_it():
    through, past = [170, 60, 260, 140], [170, 60, 300, 140]  # both hold the region; the second holds the square
    scorer = IsolationScorer(cut_weight=1.0)
    terms = scorer.score(_ctx(), Candidates.from_xyxy(np.array([through, past])))
    assert terms["cuts"][0] > terms["cuts"][1]
    no_cuts = IsolationScorer(cut_weight=0.0).score(_ctx(), Candidates.from_xyxy(np.array([through, past])))
    assert terms["total"][0] - terms["total"][1] < no_cuts["total"][0] - no_cuts["total"][1]
