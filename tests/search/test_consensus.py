"""Consensus refinement: box voting over the top candidates keeps every constraint the proposer honoured."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext, Grounding
from intentcrop.core.intent import Intent
from intentcrop.registry import SEARCHERS
from intentcrop.search.consensus import ConsensusRefine, snap_ratio, weighted_box


def test_weighted_box_follows_the_scores():
    boxes = np.array([[0, 0, 10, 10], [10, 10, 20, 20], [100, 100, 200, 200]], dtype=float)
    equal = weighted_box(boxes, np.array([1.0, 1.0, -50.0]), top=3, temperature=1.0)
    np.testing.assert_allclose(equal, [5, 5, 15, 15], atol=1e-6)
    np.testing.assert_allclose(weighted_box(boxes, np.array([3.0, 1.0, 2.0]), top=1, temperature=1.0), boxes[0])


@pytest.mark.parametrize("ratio, size", [(16 / 9, (640, 480)), (4 / 5, (640, 480)), (1.0, (300, 900)), (3.0, (901, 301))])
def test_snapped_ratio_box_is_exact_and_inside(ratio, size):
    width, height = size
    box = snap_ratio(np.array([10.3, 20.7, width - 3.2, height - 5.9]), ratio, width, height)
    w, h = box[2] - box[0], box[3] - box[1]
    assert box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
    assert abs(w - h * ratio) <= 0.5 or abs(h - w / ratio) <= 0.5


def scorer_callback(candidates: Candidates) -> Candidates:
    candidates.scores = -candidates.xyxy[:, 0]  # any score; the searcher must set its own ranking
    candidates.breakdown["toy"] = candidates.scores.copy()
    return candidates


def test_consensus_becomes_the_best_and_keeps_the_region():
    ctx = CropContext(image=Image.new("RGB", (400, 300)), intent=Intent(),
                      grounding=Grounding(region=Box(150, 100, 250, 200)))
    boxes = np.array([[100, 50, 300, 250], [140, 90, 360, 280], [0, 0, 400, 300]], dtype=float)
    cands = Candidates.from_xyxy(boxes)
    cands.scores = np.array([2.0, 1.9, 0.0])
    cands.breakdown["toy"] = cands.scores.copy()
    out = SEARCHERS.create("consensus").search(ctx, cands, scorer_callback)
    assert len(out) == 4 and out.source[-1] == "consensus"
    best = out.sorted()
    assert best.source[0] == "consensus"
    b = best.xyxy[0]
    assert b[0] <= 150 and b[1] <= 100 and b[2] >= 250 and b[3] >= 200
    assert 100 <= b[0] <= 140 and 280 >= b[3] >= 250


def test_ratio_groups_are_refined_separately_and_stay_exact():
    ctx = CropContext(image=Image.new("RGB", (640, 480)), intent=Intent(ratios=["16:9", "1:1"]))
    wide = Candidates.from_xyxy(np.array([[0, 0, 640, 360], [0, 100, 640, 460]], dtype=float), ratio=16 / 9)
    square = Candidates.from_xyxy(np.array([[0, 0, 480, 480], [100, 0, 580, 480]], dtype=float), ratio=1.0)
    cands = Candidates.merge([wide, square])
    cands.scores = np.array([1.0, 1.0, 1.0, 1.0])
    out = ConsensusRefine().search(ctx, cands, scorer_callback)
    added = out[out.source == "consensus"]
    assert len(added) == 2
    for row, ratio in zip(added.xyxy, added.ratio):
        w, h = row[2] - row[0], row[3] - row[1]
        assert abs(w - h * ratio) <= 0.5 or abs(h - w / ratio) <= 0.5


def test_too_few_candidates_are_returned_as_they_are():
    ctx = CropContext(image=Image.new("RGB", (100, 100)), intent=Intent())
    one = Candidates.from_xyxy(np.array([[0, 0, 100, 100]], dtype=float))
    one.scores = np.array([1.0])
    assert ConsensusRefine().search(ctx, one, scorer_callback) is one
