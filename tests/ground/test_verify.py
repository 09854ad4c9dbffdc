"""CLIP verification of grounding candidates: the rescoring rule, the windows CLIP sees, and the grounder
with a verifier, on a stand-in encoder (exact numbers) and on tiny checkpoints (the real loading path)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent
from intentcrop.ground.matches import PADDED_SQUARE, Matches
from intentcrop.ground.owlvit import OwlVitGrounder
from intentcrop.ground.verify import ClipVerifier

LOGIT_SCALE = 10.0


class StandInEncoder:
    """Embeds a crop by where its window lies: left half of the image -> e0, right half -> e1 (unit vectors),
    so CLIP's opinion of each candidate is known exactly."""

    logit_scale = LOGIT_SCALE

    def __init__(self):
        self.windows: list[list[float]] = []

    def encode_crops_exact(self, image, xyxy):
        xyxy = np.asarray(xyxy, dtype=float).reshape(-1, 4)
        self.windows.extend(xyxy.tolist())
        centre_x = (xyxy[:, 0] + xyxy[:, 2]) / 2
        return np.stack([centre_x < image.width / 2, centre_x >= image.width / 2], axis=1).astype(np.float32)

    def encode_text(self, texts):
        return np.tile(np.array([[0.0, 1.0]], np.float32), (len(texts), 1))  # every text "means" the right half


def _verifier(monkeypatch, weight=1.0, margin=0.0) -> tuple[ClipVerifier, StandInEncoder]:
    verifier = ClipVerifier(weight=weight, margin=margin)
    encoder = StandInEncoder()
    monkeypatch.setattr(ClipVerifier, "encoder", property(lambda self: encoder))
    return verifier, encoder


IMAGE = Image.new("RGB", (200, 100))
# tokens 0, 1 on the left half, 2 on the right half
XYXY = np.array([[10, 10, 40, 40], [50, 50, 90, 90], [120, 10, 160, 60]], dtype=float)
QUERY_RIGHT = np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)


@pytest.mark.parametrize("weight", [0.0, 0.1, 0.5, 1.0])
def test_rescore_multiplies_by_clips_relative_likelihood(monkeypatch, weight):
    verifier, _ = _verifier(monkeypatch, weight=weight)
    probs = np.array([[0.6, 0.6], [0.3, 0.3], [0.4, 0.4]])
    out = verifier.rescore(IMAGE, XYXY, probs, [[0, 1, 2], [0, 1, 2]], QUERY_RIGHT, verified=[True, False])
    # CLIP: tokens 0, 1 have similarity 0 to the query, token 2 has 1 (the best): p' = p * exp(w*s*(sim - 1))
    factor = np.exp(weight * LOGIT_SCALE * (np.array([0.0, 0.0, 1.0]) - 1.0))
    np.testing.assert_allclose(out[:, 0], probs[:, 0] * factor, rtol=1e-5)
    np.testing.assert_allclose(out[:, 1], probs[:, 1])  # not verified: untouched
    assert out[2, 0] == pytest.approx(0.4)  # the candidate CLIP prefers keeps its own probability
    assert bool(np.argmax(out[:, 0]) == 2) is (weight >= 0.1)  # log p + w*s*sim decides the ranking
    np.testing.assert_allclose(probs[:, 0], [0.6, 0.3, 0.4])  # the input is not modified


def test_only_candidates_are_encoded_once_each(monkeypatch):
    verifier, encoder = _verifier(monkeypatch)
    probs = np.full((3, 2), 0.5)
    verifier.rescore(IMAGE, XYXY, probs, [[0, 2], [2]], QUERY_RIGHT, verified=[True, True])
    assert sorted(map(tuple, encoder.windows)) == [(10, 10, 40, 40), (120, 10, 160, 60)]  # token 1 not asked


def test_nothing_verified_encodes_nothing(monkeypatch):
    verifier, encoder = _verifier(monkeypatch)
    probs = np.full((3, 1), 0.5)
    assert verifier.rescore(IMAGE, XYXY, probs, [[0, 1, 2]], QUERY_RIGHT[:1], verified=[False]) is not probs
    assert encoder.windows == []


@pytest.mark.parametrize("margin, box, window", [
    (0.0, (10, 10, 40, 40), (10, 10, 40, 40)),
    (0.3, (10, 10, 40, 40), (1, 1, 49, 49)),  # grown by 9 px each side
    (0.3, (0, 0, 40, 40), (0, 0, 52, 52)),  # ... but not out of the image
    (0.5, (150, 50, 200, 100), (125, 25, 200, 100)),
])
def test_crop_windows_grow_by_the_margin_inside_the_image(margin, box, window):
    out = ClipVerifier(margin=margin).crop_boxes(np.array([box], float), 200, 100)
    assert tuple(out[0]) == window


def _model_frame(box: Box, width: int, height: int) -> list[float]:
    side = max(width, height)
    return [(box.x1 + box.x2) / 2 / side, (box.y1 + box.y2) / 2 / side, box.width / side, box.height / side]


def test_grounder_follows_the_verifier_and_reports_the_other_candidate(tiny_models, monkeypatch):
    """OWL-ViT slightly prefers the left circle; CLIP clearly prefers the right one: the right one is grounded
    and the left one (0.6 * exp(-1) = 0.22: no tie with 0.4) becomes a look-alike. Without verification the
    left one wins."""
    left, right = Box(20, 20, 60, 60), Box(140, 20, 180, 60)
    boxes = np.tile([0.5, 0.5, 0.01, 0.01], (16, 1))
    boxes[3], boxes[9] = _model_frame(left, 200, 100), _model_frame(right, 200, 100)
    probs = np.full((16, 1), 0.01)
    probs[3], probs[9] = 0.6, 0.4
    ctx = CropContext(image=IMAGE, intent=Intent(text="red circle"))
    results = {}
    for verify in (False, True):
        grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]), verify=verify, config={"verify_weight": 0.1})
        monkeypatch.setattr(grounder.detector, "detect_text", lambda image, queries: Matches.from_model_boxes(
            boxes, probs[:, : len(queries)], queries, image.size, PADDED_SQUARE))
        if verify:
            _verifier(monkeypatch)
        results[verify] = grounder.ground(ctx)
    assert results[False].region.to_xyxy() == pytest.approx(left.to_xyxy())
    assert results[True].region.to_xyxy() == pytest.approx(right.to_xyxy())
    assert [b.to_xyxy() for b in results[True].rejected] == [pytest.approx(left.to_xyxy())]


@pytest.mark.parametrize("kind", ["owlvit", "owlv2"])
@pytest.mark.parametrize("intent", [{"text": "the red car"}, {"text": "two dogs"}, {"query_image": "red"}])
def test_verified_grounding_on_tiny_checkpoints(tiny_models, kind, intent):
    """The real path: OWL-ViT candidates cut out and encoded by a CLIP checkpoint loaded from a folder."""
    if intent.get("query_image") == "red":
        intent = {"query_image": Image.new("RGB", (40, 40), (200, 30, 30))}
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    grounder = OwlVitGrounder(model=str(tiny_models[kind]), verify=True, verifier_model=str(tiny_models["clip"]),
                              config={"min_score": 0.0})
    grounding = grounder.ground(CropContext(image=image, intent=Intent(**intent)))
    assert grounding.region is not None and grounding.boxes
    assert grounding.region == Box.union_all(grounding.boxes)
    assert all(0 <= b.x1 <= b.x2 <= 160 and 0 <= b.y1 <= b.y2 <= 120 for b in grounding.boxes + grounding.rejected)
    assert all(0.0 <= s <= 1.0 for s in grounding.scores)

