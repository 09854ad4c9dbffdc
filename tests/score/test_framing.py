"""The framing (area) scorer: the grounded region should fill about target_fill of the crop."""

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


def test_prefers_the_target_fill():
    region = Box(150, 50, 250, 150)  # 100x100
    # crops whose area is region/fill for fills 1.0, 0.4 and 0.1, all centred on the region
    sides = [100, 100 / np.sqrt(0.4), 100 / np.sqrt(0.1)]
    xyxy = [[200 - s / 2, 100 - s / 2, 200 + s / 2, 100 + s / 2] for s in sides]
    terms = FramingScorer(target_fill=0.4).score(_ctx(region), Candidates.from_xyxy(np.array(xyxy)))
    np.testing.assert_allclose(terms["fill"], [1.0, 0.4, 0.1], rtol=1e-6)  # region fully inside each crop
    assert np.argmax(terms["total"]) == 1


def test_cut_region_fills_less():
    region = Box(100, 50, 200, 150)
    terms = FramingScorer().score(_ctx(region), Candidates.from_xyxy(np.array([[150, 50, 250, 150]])))
    assert terms["fill"][0] == pytest.approx(0.5)


def test_without_region_prefers_larger_crops():
    terms = FramingScorer().score(_ctx(), Candidates.from_xyxy(np.array([[0, 0, 400, 200], [0, 0, 200, 100]])))
    np.testing.assert_allclose(terms["area"], [1.0, 0.25])
    assert terms["total"][0] > terms["total"][1]


def test_bad_target():
    with pytest.raises(ValueError):
        FramingScorer(target_fill=0)
