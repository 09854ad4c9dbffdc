"""Edge snapping: a refined crop a few percent short of the image's edge moves onto it, ratio kept exactly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext, Grounding
from intentcrop.core.intent import Intent
from intentcrop.defaults import DEFAULTS
from intentcrop.errors import InvalidIntentError
from intentcrop.registry import SEARCHERS
from intentcrop.search.consensus import snap_edges


def exact(box, ratio):
    w, h = box[2] - box[0], box[3] - box[1]
    assert w == int(w) and h == int(h)
    return (w == round(h * ratio)) if ratio >= 1 else (h == round(w / ratio))


@pytest.mark.parametrize("box, ratio, size, want", [
    # free-form: each edge on its own
    ((10, 8, 390, 280), None, (400, 300), (0, 0, 400, 280)),
    ((30, 30, 370, 270), None, (400, 300), (30, 30, 370, 270)),             # far from every edge: unchanged
    # 16:9 in 800x600: the width limits the largest window (800x450); a box spanning 96 % of it grows
    ((16, 80, 784, 512), 16 / 9, (800, 600), (0, 71, 800, 521)),
    # ... and one only 3 % from the top slides up, its size kept
    ((100, 15, 580, 285), 16 / 9, (800, 600), (100, 0, 580, 270)),
    # 1:1 in 800x600: the height limits it (600x600); 97 % of the height grows to it, then the left edge is 1 % off
    ((8, 9, 590, 591), 1.0, (800, 600), (0, 0, 600, 600)),
    # 4:5 in 600x800: height-limited window 600x750? no: width-limited 600x750; spanning 94 % grows
    ((18, 200, 582, 905), 0.8, (600, 1000), (0, 178, 600, 928)),
    ((200, 100, 500, 400), 1.0, (800, 600), (200, 100, 500, 400)),        # far: unchanged
])
def test_snapped_boxes_touch_the_edge_and_keep_the_ratio(box, ratio, size, want):
    width, height = size
    got = snap_edges(np.array(box, dtype=float), ratio, width, height, 0.04)
    np.testing.assert_array_equal(got, want)
    assert got[0] >= 0 and got[1] >= 0 and got[2] <= width and got[3] <= height
    if ratio is not None:
        assert exact(got, ratio)


@pytest.mark.parametrize("tol", [0.0, 0.01])
def test_a_small_tolerance_leaves_the_box(tol):
    box = np.array([16.0, 80, 784, 512])
    np.testing.assert_array_equal(snap_edges(box, 16 / 9, 800, 600, tol), box)


def test_growing_can_be_refused():
    got = snap_edges(np.array([16.0, 80, 784, 512]), 16 / 9, 800, 600, 0.04, grow=False)
    np.testing.assert_array_equal(got, [16, 80, 784, 512])  # 2 % from each side: it spans, so it cannot slide


def _score(candidates):
    candidates.scores = np.zeros(len(candidates))
    candidates.breakdown["toy"] = candidates.scores.copy()
    return candidates


def _consensus(ctx, boxes, ratio=None):
    cands = Candidates.from_xyxy(np.array(boxes, dtype=float), ratio=ratio)
    cands.scores = np.array([1.0] * len(boxes))
    out = SEARCHERS.create("consensus").search(ctx, cands, _score)
    return out.xyxy[out.source == "consensus"][0]


@pytest.mark.parametrize("options, want", [
    ({}, (12, 12, 788, 588)),                                  # the default: off (it lowered FCDB IoU)
    ({"edge_snap": 0.04}, (0, 0, 800, 600)),
    ({"edge_snap": 0.01}, (12, 12, 788, 588)),                # 1.5 % off the edges: beyond 1 %
])
def test_consensus_snaps_by_the_options(options, want):
    ctx = CropContext(image=Image.new("RGB", (800, 600)), intent=Intent(), options=DEFAULTS.merged(options))
    got = _consensus(ctx, [[10, 10, 790, 590], [14, 14, 786, 586]])
    np.testing.assert_array_equal(got, want)


def test_snapping_never_drops_the_region():
    # the 1:1 box is 2.5 % from the top: sliding up onto it would cut the subject at its bottom, so it stays
    ctx = CropContext(image=Image.new("RGB", (800, 600)), intent=Intent(ratios=[1.0]),
                      grounding=Grounding(region=Box(300, 290, 400, 314)), options=DEFAULTS.merged({"edge_snap": 0.04}))
    got = _consensus(ctx, [[250, 15, 550, 315], [250, 15, 550, 315]], ratio=1.0)
    np.testing.assert_array_equal(got, [250, 15, 550, 315])
    ctx.grounding = Grounding(region=Box(300, 200, 400, 290))  # a subject the slide keeps: it snaps
    np.testing.assert_array_equal(_consensus(ctx, [[250, 15, 550, 315]] * 2, ratio=1.0), [250, 0, 550, 300])


def test_consensus_respects_max_scale_when_growing():
    ctx = CropContext(image=Image.new("RGB", (800, 600)), intent=Intent(ratios=[1.0], max_scale=0.98),
                      options=DEFAULTS.merged({"edge_snap": 0.04}))
    got = _consensus(ctx, [[100, 9, 682, 591], [100, 9, 682, 591]], ratio=1.0)
    assert got[3] - got[1] <= 0.98 * 600 + 0.5 and exact(got, 1.0)


def test_the_tolerance_is_checked():
    with pytest.raises(InvalidIntentError, match="edge_snap"):
        DEFAULTS.merged({"edge_snap": 0.3})
