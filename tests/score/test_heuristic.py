"""The hand-weighted scorer: registered, principled preferences on synthetic scenes, explanations."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent
from intentcrop.registry import SCORERS
from intentcrop.score.features import FEATURE_NAMES, FEATURE_PHRASES
from intentcrop.score.heuristic import HAND_WEIGHTS, HeuristicScorer


def scene() -> Image.Image:
    img = Image.new("RGB", (400, 300), (110, 120, 140))
    draw = ImageDraw.Draw(img)
    draw.rectangle((150, 90, 250, 190), fill=(230, 30, 20))
    for x in range(150, 250, 8):
        draw.line([(x, 90), (x, 190)], fill=(250, 240, 60), width=2)
    return img


def test_registered_and_every_weight_names_a_feature():
    assert "heuristic" in SCORERS
    assert isinstance(SCORERS.create("heuristic"), HeuristicScorer)
    assert set(HAND_WEIGHTS) <= set(FEATURE_NAMES)


def test_unknown_weight_is_refused():
    with pytest.raises(KeyError, match="unknown crop features: sharpnes"):
        HeuristicScorer(weights={"sharpnes": 1.0})


@pytest.mark.parametrize(
    "good, bad",
    [([60, 30, 340, 250], [220, 30, 400, 250]),  # keeps the subject vs slices it at the left border
     ([60, 30, 340, 250], [0, 0, 200, 150]),  # subject centred vs a corner that holds a sliver of it
     ([60, 30, 340, 250], [140, 80, 260, 200])],  # comfortable frame vs one that hugs the subject tightly
)
def test_prefers_the_crop_a_photographer_would_keep(good, bad):
    ctx = CropContext(image=scene(), intent=Intent())
    terms = HeuristicScorer().score(ctx, Candidates.from_xyxy(np.array([good, bad], dtype=float)))
    assert terms["total"][0] > terms["total"][1]


def test_terms_add_up_to_the_total():
    ctx = CropContext(image=scene(), intent=Intent())
    boxes = np.array([[60, 30, 340, 250], [220, 30, 400, 250], [0, 0, 400, 300]], dtype=float)
    terms = HeuristicScorer().score(ctx, Candidates.from_xyxy(boxes))
    parts = sum(v for k, v in terms.items() if k != "total" and not k.startswith("value."))
    np.testing.assert_allclose(parts, terms["total"], atol=1e-9)


def test_explanation_uses_photographer_phrases():
    ctx = CropContext(image=scene(), intent=Intent())
    boxes = np.array([[60, 30, 340, 250], [220, 30, 400, 250], [0, 0, 200, 150], [250, 0, 400, 300]], dtype=float)
    scorer = HeuristicScorer()
    terms = scorer.score(ctx, Candidates.from_xyxy(boxes))
    best = int(np.argmax(terms["total"]))
    phrases = scorer.explain({k: float(v[best]) for k, v in terms.items()}, terms)
    known = {p for pair in FEATURE_PHRASES.values() for p in pair}
    assert 1 <= len(phrases) <= 3 and all(p in known for p in phrases)
