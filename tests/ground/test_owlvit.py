"""The OWL-ViT grounder (GROUNDERS "owlvit"): plan -> detect -> decide, on tiny checkpoints and on synthetic
detections (the model wrapper's calls replaced by known Matches)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent
from intentcrop.ground.config import GroundingConfig
from intentcrop.ground.matches import PADDED_SQUARE, Matches
from intentcrop.ground.owlvit import OwlVitGrounder
from intentcrop.ground.refine import refine_windows


def _to_model_frame(box: Box, width: int, height: int, frame: str = PADDED_SQUARE) -> list[float]:
    """Pixels -> normalised cx, cy, w, h in the model's frame (the inverse of model_boxes_to_pixels)."""
    sx, sy = (max(width, height),) * 2 if frame == PADDED_SQUARE else (width, height)
    return [(box.x1 + box.x2) / 2 / sx, (box.y1 + box.y2) / 2 / sy, box.width / sx, box.height / sy]


def _detections(boxes, probs):
    """A stand-in for OwlVit.detect_text: the synthetic OWLv2 outputs (one probability column per query asked) as
    the wrapper returns them."""
    return lambda image, queries: Matches.from_model_boxes(boxes, probs[:, : len(queries)], queries, image.size,
                                                           PADDED_SQUARE)


def _ctx(text=None, query_image=None, size=(160, 120)) -> CropContext:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    return CropContext(image=image, intent=Intent(text=text, query_image=query_image))


@pytest.mark.parametrize("kind", ["owlvit", "owlv2"])
def test_text_grounding_on_tiny_models(tiny_models, kind):
    grounder = OwlVitGrounder(model=str(tiny_models[kind]), config={"min_score": 0.0})
    ctx = _ctx(text="the red car and the dog")
    matches = grounder.detector.detect_text(ctx.image, ["the red car and the dog", "red car", "dog"])
    tokens = grounder.detector.grid ** 2
    assert matches.xyxy.shape == (tokens, 4) and matches.scores.shape == (tokens, 3)
    assert ((matches.scores >= 0) & (matches.scores <= 1)).all()
    assert matches.token_features is not None and len(matches.token_features) == tokens
    grounding = grounder.ground(ctx)
    assert grounding.source == "text" and grounding.strict is False and grounding.boxes
    assert set(grounding.phrases) <= {"the red car and the dog", "red car", "dog"}
    assert grounding.region == Box.union_all(grounding.boxes)
    assert all(0 <= b.x1 <= b.x2 <= ctx.width and 0 <= b.y1 <= b.y2 <= ctx.height for b in grounding.boxes)


@pytest.mark.parametrize("kind", ["owlvit", "owlv2"])
def test_query_image_grounding_on_tiny_models(tiny_models, kind):
    grounder = OwlVitGrounder(model=str(tiny_models[kind]), config={"min_score": 0.0})
    query = Image.new("RGB", (40, 40), (200, 30, 30))
    ctx = _ctx(query_image=query)
    grounding = grounder.ground(ctx)
    assert grounding.source == "query_image" and grounding.phrases and set(grounding.phrases) == {"query image"}
    assert grounding.region is not None and grounding.region.area > 0


def test_grounder_uses_model_outputs_in_the_image_frame(tiny_models, monkeypatch):
    """Synthetic logits/boxes: the best token's box, mapped to pixels, is the region; weak tokens are ignored."""
    grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]), config={"refine_windows": ()})
    ctx = _ctx(text="dog", size=(200, 100))
    target = Box(20, 10, 80, 90)
    boxes = np.tile([0.5, 0.5, 0.1, 0.1], (16, 1))
    boxes[5] = _to_model_frame(target, 200, 100)
    probs = np.full((16, 2), 0.01)
    probs[5] = 0.9
    monkeypatch.setattr(grounder.detector, "detect_text", _detections(boxes, probs))
    grounding = grounder.ground(ctx)
    np.testing.assert_allclose(grounding.region.to_list(), target.to_list(), atol=1e-6)
    assert grounding.scores[0] == pytest.approx(0.9)


def test_a_relation_text_queries_subject_and_anchor_and_keeps_the_subject_it_points_at(tiny_models, monkeypatch):
    """'the dog left of the car': the grounder asks for 'dog' and 'car' only, and keeps the dog left of the car
    even though the other dog scores higher."""
    grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]), config={"refine_windows": ()})
    ctx = _ctx(text="the dog left of the car", size=(200, 100))
    left_dog, right_dog, car = Box(5, 40, 35, 70), Box(160, 40, 190, 70), Box(90, 30, 130, 80)
    boxes = np.tile([0.5, 0.5, 0.01, 0.01], (16, 1))
    probs = np.full((16, 2), 0.001)
    for token, box, dog, car_p in ((3, left_dog, 0.3, 0.001), (7, right_dog, 0.7, 0.001), (9, car, 0.001, 0.8)):
        boxes[token] = _to_model_frame(box, 200, 100)
        probs[token] = (dog, car_p)
    asked = []

    def detect_text(image, queries):
        asked.append(list(queries))
        return _detections(boxes, probs)(image, queries)

    monkeypatch.setattr(grounder.detector, "detect_text", detect_text)
    grounding = grounder.ground(ctx)
    assert asked == [["dog", "car"]]
    np.testing.assert_allclose(grounding.region.to_list(), left_dog.to_list(), atol=1e-6)
    np.testing.assert_allclose(grounding.rejected[0].to_list(), right_dog.to_list(), atol=1e-6)


def test_a_position_text_queries_the_subject_and_keeps_the_one_on_that_side(tiny_models, monkeypatch):
    """'the dog on the left': the grounder asks for 'dog' only and keeps the left dog though the other scores higher."""
    grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]), config={"refine_windows": ()})
    ctx = _ctx(text="the dog on the left", size=(200, 100))
    left_dog, right_dog = Box(5, 40, 35, 70), Box(160, 40, 190, 70)
    boxes = np.tile([0.5, 0.5, 0.01, 0.01], (16, 1))
    probs = np.full((16, 1), 0.001)
    for token, box, p in ((3, left_dog, 0.3), (7, right_dog, 0.7)):
        boxes[token] = _to_model_frame(box, 200, 100)
        probs[token] = p
    asked = []

    def detect_text(image, queries):
        asked.append(list(queries))
        return _detections(boxes, probs)(image, queries)

    monkeypatch.setattr(grounder.detector, "detect_text", detect_text)
    grounding = grounder.ground(ctx)
    assert asked == [["dog"]]
    np.testing.assert_allclose(grounding.region.to_list(), left_dog.to_list(), atol=1e-6)
    np.testing.assert_allclose(grounding.rejected[0].to_list(), right_dog.to_list(), atol=1e-6)


def test_grounding_without_text_or_query_is_an_error(tiny_models):
    from intentcrop.errors import IntentCropError

    with pytest.raises(IntentCropError, match="needs a text or a query image"):
        OwlVitGrounder(model=str(tiny_models["owlvit"])).ground(_ctx())



# -- zoom-in refinement (ground.refine) -----------------------------------------------------------------------


def _likely_tokens(found, width, height):
    """Synthetic OWLv2 outputs for a width x height image: 16 tokens, token 5 + i outlining found[i] = (box in
    pixels, probability), the others unlikely specks."""
    boxes = np.tile([0.5, 0.5, 0.01, 0.01], (16, 1))
    probs = np.full((16, 1), 0.001)
    for i, (box, probability) in enumerate(found):
        boxes[5 + i] = _to_model_frame(box, width, height)
        probs[5 + i] = probability
    return boxes, probs


def _one_likely_token(box, width, height, probability=0.9):
    return _likely_tokens([(box, probability)], width, height)


def _window_outputs(windows, found, probability=0.8, queries=None):
    """Synthetic detect_*_batch outputs: in window i, one likely token outlining found[i] (pixels), with
    `probability` (one for all windows, or one per window), for queries[i] (default: the query image)."""
    probabilities = np.broadcast_to(probability, (len(windows),))
    queries = [["query image"]] * len(windows) if queries is None else queries
    outputs = [_one_likely_token(box.translate(-w.x1, -w.y1), int(w.width), int(w.height), p)
               for w, box, p in zip(windows, found, probabilities)]
    return [Matches.from_model_boxes(b, p, q, (int(w.width), int(w.height)), PADDED_SQUARE)
            for w, (b, p), q in zip(windows, outputs, queries)]


def test_a_small_kept_box_is_looked_at_again_in_windows_around_it(tiny_models, monkeypatch):
    """The best box is re-detected in each window (the box grown by 25 % and 50 %), each with the text's phrase,
    and the union of the re-detections becomes the kept box and the region."""
    grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]),
                              config={"refine_windows": (0.25, 0.5), "refine_max_patches": 100})
    ctx = _ctx(text="dog", size=(200, 100))
    coarse = Box(20, 10, 80, 90)
    boxes, probs = _one_likely_token(coarse, 200, 100)
    monkeypatch.setattr(grounder.detector, "detect_text", _detections(boxes, probs))
    windows = refine_windows(coarse, (0.25, 0.5), 200, 100)
    found = [Box(24, 12, 78, 92), Box(22, 14, 80, 90)]
    asked = []

    def detect_text_batch(images, queries):
        asked.append(([im.size for im in images], queries))
        return _window_outputs(windows, found, queries=queries)

    monkeypatch.setattr(grounder.detector, "detect_text_batch", detect_text_batch)
    grounding = grounder.ground(ctx)
    assert asked == [([(int(w.width), int(w.height)) for w in windows], [["dog"], ["dog"]])]
    np.testing.assert_allclose(grounding.boxes[0].to_list(), [22, 12, 80, 92], atol=1e-6)
    assert grounding.region == grounding.boxes[0] and grounding.scores[0] == pytest.approx(0.9)


@pytest.mark.parametrize("settings", [dict(refine_max_patches=0.5), dict(refine_windows=())])
def test_big_boxes_and_refinement_off_leave_the_box_alone(tiny_models, monkeypatch, settings):
    grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]), config=settings)
    ctx = _ctx(text="dog", size=(200, 100))
    target = Box(20, 10, 80, 90)
    boxes, probs = _one_likely_token(target, 200, 100)
    monkeypatch.setattr(grounder.detector, "detect_text", _detections(boxes, probs))
    monkeypatch.setattr(grounder.detector, "detect_text_batch", lambda *a: pytest.fail("no window should be looked at"))
    np.testing.assert_allclose(grounder.ground(ctx).region.to_list(), target.to_list(), atol=1e-6)


def test_a_query_image_box_is_looked_at_again_with_the_query_image(tiny_models, monkeypatch):
    grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]),
                              config={"refine_windows": (0.5,), "refine_max_patches": 100})
    query = Image.new("RGB", (40, 40), (200, 30, 30))
    ctx = _ctx(query_image=query, size=(200, 100))
    coarse = Box(20, 10, 80, 90)
    boxes, probs = _one_likely_token(coarse, 200, 100)
    monkeypatch.setattr(grounder.detector, "detect_image", lambda image, q: Matches.from_model_boxes(
        boxes, probs, ["query image"], image.size, PADDED_SQUARE))
    seen = []

    def detect_image_batch(images, q):
        seen.append(q)
        return _window_outputs(refine_windows(coarse, (0.5,), 200, 100), [Box(25, 15, 75, 85)])

    monkeypatch.setattr(grounder.detector, "detect_image_batch", detect_image_batch)
    grounding = grounder.ground(ctx)
    assert len(seen) == 1 and seen[0].size == (40, 40)
    np.testing.assert_allclose(grounding.region.to_list(), [25, 15, 75, 85], atol=1e-6)


# -- a closer look between contenders (ground.refine.recheck_contenders) --------------------------------------------
CROSS, CIRCLE = Box(20, 20, 50, 50), Box(120, 20, 150, 50)


def _two_contenders(grounder, monkeypatch, text):
    """A first look that scores a circle (0.30) and a cross (0.27) alike for `text`, and windows in which, up close,
    the cross is far likelier (0.7 against 0.3). Returns the context and the queries of each batched call."""
    ctx = _ctx(text=text, size=(200, 100))
    boxes, probs = _likely_tokens([(CIRCLE, 0.30), (CROSS, 0.27)], 200, 100)
    monkeypatch.setattr(grounder.detector, "detect_text", _detections(boxes, np.repeat(probs, 8, axis=1)))
    looks = [(w, box, 0.3 if box == CIRCLE else 0.7) for box in (CIRCLE, CROSS)
             for w in refine_windows(box, grounder.config_for(ctx).refine_windows, 200, 100)]
    calls = []

    def detect_text_batch(images, queries):  # every call here looks at both boxes, the circle first
        calls.append(queries)
        return _window_outputs([w for w, _, _ in looks], [b for _, b, _ in looks], [p for _, _, p in looks], queries)

    monkeypatch.setattr(grounder.detector, "detect_text_batch", detect_text_batch)
    return ctx, calls


def test_a_closer_look_decides_which_of_two_close_matches_is_meant(tiny_models, monkeypatch):
    grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]),
                              config={"refine_windows": (0.25, 0.5), "refine_max_patches": 100})
    ctx, calls = _two_contenders(grounder, monkeypatch, "the red cross")
    grounding = grounder.ground(ctx)
    # both contenders' windows in one batch, with the text; refinement reuses those looks instead of looking again
    assert calls == [[["the red cross"]] * 4]
    assert len(grounding.boxes) == 1 and grounding.boxes[0].iou(CROSS) > 0.99 and not grounding.alternatives
    assert grounding.scores[0] == pytest.approx(0.30)  # the first look's best score, now the cross's
    assert len(grounding.rejected) == 1 and grounding.rejected[0].iou(CIRCLE) > 0.99  # a look-alike to leave out
    assert grounding.rejected_scores[0] == pytest.approx(0.30 * 0.3 / 0.7)
    assert "closer" in grounding.selection


@pytest.mark.parametrize("text, settings", [
    ("the small red cross", {}),            # a size word: up close every thing is big, so the first look stands
    ("the red cross", {"recheck": False}),  # the closer look between contenders turned off
])
def test_without_a_closer_look_close_matches_stay_a_tie(tiny_models, monkeypatch, text, settings):
    grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]),
                              config={"refine_windows": (0.25, 0.5), "refine_max_patches": 100, **settings})
    ctx, calls = _two_contenders(grounder, monkeypatch, text)
    grounding = grounder.ground(ctx)
    assert len(calls) == 1  # only refinement's look at the two kept boxes
    assert len(grounding.boxes) == 2 and len(grounding.alternatives) == 2 and "closer" not in grounding.selection



def test_the_calls_config_is_read_at_call_time_with_the_grounders_overrides_on_top(tiny_models):
    """A context carrying options (`ctx.options.grounding`) sets the call's config; the grounder's own overrides
    apply on top; without options the defaults do."""
    from dataclasses import dataclass

    grounder = OwlVitGrounder(model=str(tiny_models["owlv2"]), config={"tie_score": 0.5})
    assert grounder.config_for(_ctx(text="dog")) == GroundingConfig(tie_score=0.5)

    @dataclass
    class Options:
        grounding: GroundingConfig

    @dataclass
    class ContextWithOptions(CropContext):
        options: Options = None

    image = _ctx().image
    ctx = ContextWithOptions(image=image, intent=Intent(text="dog"), options=Options(GroundingConfig(per_query=5)))
    assert grounder.config_for(ctx) == GroundingConfig(per_query=5, tie_score=0.5)
    with pytest.raises(ValueError, match="unknown grounding option"):
        OwlVitGrounder(model=str(tiny_models["owlv2"]), config={"tie": 0.5})
