"""Pipeline mechanics with a scorer defined here, so these tests do not depend on any model."""

import numpy as np
import pytest
from PIL import Image

from intentcrop import Box, Intent, create_pipeline
from intentcrop.core.box import pairwise_iou
from intentcrop.errors import InvalidIntentError
from intentcrop.registry import GROUNDERS, SCORERS

TARGET = (200, 100, 600, 400)


@SCORERS.register("test_closeness")
class ClosenessScorer:
    """Prefers crops close to TARGET: a known optimum for checking the stages around scoring."""

    name = "test_closeness"

    def score(self, ctx, candidates):
        iou = pairwise_iou(candidates.xyxy, np.array([TARGET]))[:, 0]
        return {"total": iou, "iou": iou}

    def explain(self, winner, all_terms):
        return [f"overlaps the target by {winner['iou']:.2f}"]


@pytest.fixture
def pipeline():
    return create_pipeline("default", scorers=[("test_closeness", 1.0, {})])


IMAGE = Image.new("RGB", (800, 500), (90, 120, 150))


def test_free_form_finds_the_optimum_region(pipeline):
    out = pipeline.run(IMAGE, Intent(k=2, min_scale=0.3))
    assert len(out.results) == 2
    best = out.results[0]
    assert best.box.iou(Box(*TARGET)) > 0.8
    assert best.breakdown["test_closeness.iou"] == pytest.approx(best.breakdown["test_closeness"])
    assert "overlaps the target" in best.explanation
    assert out.to_dict()["crops"][0]["rank"] == 1


@pytest.mark.parametrize("ratios", [["16:9"], ["1:1", "4:5"], ["original"]])
def test_every_ratio_gets_k_exact_crops(pipeline, ratios):
    out = pipeline.run(IMAGE, Intent(ratios=ratios, k=2))
    resolved = Intent(ratios=ratios).resolve_ratios(*IMAGE.size)
    assert len(out.results) == 2 * len(resolved)
    for r in out.results:
        assert any(abs(r.box.width - r.box.height * q) <= 0.5 for q in resolved)
        assert 0 <= r.box.x1 and r.box.x2 <= 800 and 0 <= r.box.y1 and r.box.y2 <= 500


def test_subject_stays_inside(pipeline):
    subject = Box(650, 380, 760, 480)  # far from TARGET: containment must win over the scorer
    for r in pipeline.run(IMAGE, Intent(subject=subject, ratios=["1:1"], k=3)).results:
        assert r.box.contains(subject)


def test_exact_size_crops_to_that_size(pipeline):
    result = pipeline(IMAGE, Intent(size="108x135", k=1))[0]
    assert result.crop(IMAGE).size == (108, 135)


def test_impossible_subject_ratio_is_an_intent_error(pipeline):
    with pytest.raises(InvalidIntentError, match="impossible"):
        pipeline(IMAGE, Intent(subject=(0, 200, 800, 240), ratios=["1:3"]))


def test_several_scorers_are_combined_by_zscore():
    @SCORERS.register("test_left")
    class Left:
        name = "test_left"

        def score(self, ctx, candidates):
            return {"total": -candidates.xyxy[:, 0]}

        def explain(self, winner, all_terms):
            return []

    p = create_pipeline("default", scorers=[("test_closeness", 1.0, {}), ("test_left", 0.0, {})])
    q = create_pipeline("default", scorers=[("test_closeness", 0.0, {}), ("test_left", 1.0, {})])
    assert p(IMAGE, Intent(k=1))[0].box.iou(Box(*TARGET)) > 0.8
    assert q(IMAGE, Intent(k=1))[0].box.x1 == 0


@pytest.mark.parametrize("ratios", [None, ["16:9"], ["3:4"]])
def test_local_search_improves_and_keeps_constraints(ratios):
    coarse = create_pipeline("default", scorers=[("test_closeness", 1.0, {})])
    fine = create_pipeline("default", scorers=[("test_closeness", 1.0, {})], searcher=("local", {"rounds": 4}))
    subject = Box(300, 150, 420, 300)
    intent = Intent(ratios=ratios, k=1, subject=subject, min_scale=0.3)
    before, after = coarse(IMAGE, intent)[0], fine(IMAGE, intent)[0]
    assert after.score >= before.score
    assert after.box.contains(subject)
    if ratios:
        q = Intent(ratios=ratios).ratios[0]
        assert abs(after.box.width - after.box.height * q) <= 0.5
    assert 0 <= after.box.x1 and after.box.x2 <= 800 and 0 <= after.box.y1 and after.box.y2 <= 500


def test_grounded_intents_may_crop_smaller_than_the_free_form_minimum(pipeline):
    small = Box(300, 200, 420, 290)  # 15% x 18% of the image

    @SCORERS.register("test_small")
    class Small:
        name = "test_small"

        def score(self, ctx, candidates):
            return {"total": -candidates.area}

        def explain(self, winner, all_terms):
            return []

    p = create_pipeline("default", scorers=[("test_small", 1.0, {})])
    grounded = p(IMAGE, Intent(subject=small, ratios=["4:3"], k=1))[0].box
    assert grounded.contains(small) and grounded.width < 0.5 * 800  # the subject, not 0.5, sets the minimum
    free = p(IMAGE, Intent(ratios=["4:3"], k=1))[0].box
    assert free.height >= 0.5 * 500 - 1  # free-form keeps the documented 0.5 minimum
    explicit = p(IMAGE, Intent(subject=small, ratios=["4:3"], k=1, min_scale=0.5))[0].box
    assert explicit.height >= 0.5 * 500 - 1  # and an explicit min_scale is honoured


LEFT_CIRCLE, RIGHT_CIRCLE = Box(40, 80, 100, 140), Box(300, 80, 360, 140)


@GROUNDERS.register("test_tie")
class _TieGrounder:
    """Two red circles the 'models' rate alike: the fusion keeps both and records one reading per circle."""

    def ground(self, ctx):
        from intentcrop.ground.fusion import Match, fuse_matches

        return fuse_matches([Match(LEFT_CIRCLE, 0.9, "red circle"), Match(RIGHT_CIRCLE, 0.85, "red circle")], "text")


def _tie_scene():
    from PIL import ImageDraw

    image = Image.new("RGB", (400, 220), (110, 120, 130))
    draw = ImageDraw.Draw(image)
    for box in (LEFT_CIRCLE, RIGHT_CIRCLE):
        draw.ellipse(box.to_list(), fill=(220, 30, 30))
    return image


@pytest.mark.parametrize("ratio", [None, 16 / 9])  # a 16:9 crop can hold both circles
def test_an_ambiguous_text_offers_each_reading_after_the_crop_that_holds_both(ratio):
    pipe = create_pipeline("vlm", grounders={"text": ("test_tie", {})},
                           scorers=[("framing", 1.0, {}), ("isolation", 1.0, {})])
    out = pipe.run(_tie_scene(), Intent(text="the red circle", k=3, ratios=[ratio] if ratio else None))
    assert [a.region for a in out.grounding.alternatives] == [LEFT_CIRCLE, RIGHT_CIRCLE]
    first, left, right = (r.box for r in out.results)
    assert first.contains(LEFT_CIRCLE) and first.contains(RIGHT_CIRCLE)
    assert left.contains(LEFT_CIRCLE) and left.intersection(RIGHT_CIRCLE) == 0
    assert right.contains(RIGHT_CIRCLE) and right.intersection(LEFT_CIRCLE) == 0
    assert [r.rank for r in out.results] == [1, 2, 3]
    assert "ambiguous" in out.results[1].explanation and "ambiguous" not in out.results[0].explanation
    if ratio is not None:
        assert all(abs(r.box.width / r.box.height - ratio) < 0.02 for r in out.results)


def test_one_crop_asked_is_the_one_that_holds_every_reading():
    pipe = create_pipeline("vlm", grounders={"text": ("test_tie", {})},
                           scorers=[("framing", 1.0, {}), ("isolation", 1.0, {})])
    (only,) = pipe(_tie_scene(), Intent(text="the red circle", k=1))
    assert only.box.contains(LEFT_CIRCLE) and only.box.contains(RIGHT_CIRCLE)


# -- focal point, crop floor, ranks -----------------------------------------------------------------------------


@pytest.mark.parametrize("subject, ratios", [
    (Box(650, 380, 760, 480), None), (Box(650, 380, 760, 480), ["1:1"]), (Box(100, 50, 180, 300), ["16:9"]),
    (Box(10, 10, 13, 11), None), (Box(10, 10, 13, 11), ["4:5"]),  # a 3x1 subject: grown to the floor
])
def test_a_subjects_focal_point_is_its_centre_and_inside_every_crop(pipeline, subject, ratios):
    out = pipeline.run(IMAGE, Intent(subject=subject, ratios=ratios, k=3))
    cx, cy = subject.center
    assert out.focal_point == pytest.approx((cx, cy))
    for r in out.results:
        assert r.focal_point == pytest.approx((cx, cy))
        assert r.box.x1 <= r.focal_point[0] <= r.box.x2 and r.box.y1 <= r.focal_point[1] <= r.box.y2
        assert r.focal_point_relative == pytest.approx((cx / 800, cy / 500))
    d = out.to_dict()
    assert d["focal_point"] == {"x": round(cx, 2), "y": round(cy, 2), "x_rel": round(cx / 800, 4),
                                "y_rel": round(cy / 500, 4)}
    assert d["crops"][0]["focal_point"] == d["focal_point"]


def _blob(centre, radius=30, size=(800, 500)):
    from PIL import ImageDraw

    image = Image.new("RGB", size, (90, 95, 100))
    ImageDraw.Draw(image).ellipse([centre[0] - radius, centre[1] - radius, centre[0] + radius,
                                   centre[1] + radius], fill=(240, 40, 30))
    return image


@pytest.mark.parametrize("centre", [(400, 250), (260, 160), (540, 340), (300, 330)])  # all inside TARGET
def test_a_free_form_focal_point_is_on_the_salient_blob(pipeline, centre):
    out = pipeline.run(_blob(centre), Intent(k=1, min_scale=0.3))
    (best,) = out.results
    assert best.box.x1 <= best.focal_point[0] <= best.box.x2 and best.box.y1 <= best.focal_point[1] <= best.box.y2
    assert np.hypot(best.focal_point[0] - centre[0], best.focal_point[1] - centre[1]) < 30  # within the blob
    assert out.focal_point == best.focal_point
    fx, fy = best.focal_point_in_crop
    assert best.to_dict()["focal_point_in_crop"] == {"x_rel": round(fx, 4), "y_rel": round(fy, 4)}


def test_a_plain_image_has_its_crops_centre_as_focal_point(pipeline):
    (best,) = pipeline(Image.new("RGB", (800, 500), (90, 120, 150)), Intent(k=1, min_scale=0.3))
    assert best.focal_point == pytest.approx(best.box.center)


def test_to_dict_carries_box_percent_and_focal_point(pipeline):
    d = pipeline.run(IMAGE, Intent(ratios=["16:9"], k=2)).to_dict()
    for crop in d["crops"]:
        b = crop["box"]
        assert crop["box_percent"] == [round(100 * b["x1"] / 800, 2), round(100 * b["y1"] / 500, 2),
                                       round(100 * b["x2"] / 800, 2), round(100 * b["y2"] / 500, 2)]
        assert set(crop["focal_point"]) == {"x", "y", "x_rel", "y_rel"}
        assert b["x1"] <= crop["focal_point"]["x"] <= b["x2"] and b["y1"] <= crop["focal_point"]["y"] <= b["y2"]
        assert 0 <= crop["focal_point"]["x_rel"] <= 1 and 0 <= crop["focal_point"]["y_rel"] <= 1


@SCORERS.register("test_tiny")
class _TinyScorer:
    """Prefers the smallest crop: what a model that trusts a sliver of a box would do."""

    name = "test_tiny"

    def score(self, ctx, candidates):
        return {"total": -candidates.area}

    def explain(self, winner, all_terms):
        return []


@pytest.mark.parametrize("intent", [
    dict(subject=Box(400, 250, 403, 251)),  # a 3x1 subject
    dict(subject=Box(400, 250, 403, 251), ratios=["1:1", "16:9"]),
    dict(subject=Box(0, 499, 1, 500)),  # 1x1, in a corner
    dict(subject=Box(100, 250, 534, 251)),  # the 434x1 grounding box of the issue
    dict(max_scale=0.01),
    dict(max_scale=0.01, ratios=["1:1", "3:4"]),
    dict(max_scale=0.01, min_scale=0.01, subject=Box(5, 5, 6, 6)),
])
@pytest.mark.parametrize("searcher", [("consensus", {}), ("local", {})])
def test_no_crop_below_the_floor(intent, searcher):
    p = create_pipeline("default", scorers=[("test_tiny", 1.0, {})], searcher=searcher)
    results = p(IMAGE, Intent(k=3, **intent))
    assert results
    for r in results:
        assert r.box.width >= 16 and r.box.height >= 16
        if "subject" in intent:
            assert r.box.x1 <= intent["subject"].center[0] <= r.box.x2
            assert r.box.y1 <= intent["subject"].center[1] <= r.box.y2
        if r.ratio is None and "subject" in intent:
            assert max(r.box.width / r.box.height, r.box.height / r.box.width) <= 10.5  # no strip


@pytest.mark.parametrize("min_side", [16, 40])
def test_a_tiny_max_scale_crops_at_the_floor(min_side):
    (r,) = create_pipeline("default", scorers=[("test_tiny", 1.0, {})])(
        Image.new("RGB", (64, 48)), Intent(k=1, max_scale=0.01), options={"min_crop_side": min_side})
    assert (r.box.width, r.box.height) == (min(min_side, 64), min(min_side, 48))


@pytest.mark.parametrize("intent", [dict(k=3), dict(k=3, ratios=["1:1", "16:9"]), dict(k=2, subject=Box(300, 200, 420, 290)),
                                    dict(k=3, ratios=["4:5"], subject=Box(300, 200, 420, 290))])
def test_ranks_follow_the_order_and_the_score_within_each_ratio(pipeline, intent):
    results = pipeline(IMAGE, Intent(**intent))
    for ratio in dict.fromkeys(r.ratio for r in results):
        group = [r for r in results if r.ratio == ratio]
        assert [r.rank for r in group] == list(range(1, len(group) + 1))
        assert all(a.score >= b.score for a, b in zip(group, group[1:]))


def test_an_ambiguous_texts_readings_have_their_regions_focal_point():
    pipe = create_pipeline("vlm", grounders={"text": ("test_tie", {})},
                           scorers=[("framing", 1.0, {}), ("isolation", 1.0, {})])
    out = pipe.run(_tie_scene(), Intent(text="the red circle", k=3))
    first, left, right = out.results
    assert first.focal_point == pytest.approx(out.grounding.region.center)
    assert left.focal_point == pytest.approx(LEFT_CIRCLE.center)
    assert right.focal_point == pytest.approx(RIGHT_CIRCLE.center)


@SCORERS.register("test_full_width_claim")
class FullWidthClaimScorer:
    """Always claims the full width, whatever it picked: the pipeline must keep the claim true of the box."""

    name = "test_full_width_claim"

    def __init__(self, target=(0, 100, 800, 400)) -> None:
        self.target = np.array([target], dtype=float)

    def score(self, ctx, candidates):
        iou = pairwise_iou(candidates.xyxy, self.target)[:, 0]
        return {"total": iou}

    def explain(self, winner, all_terms):
        return ["keeps the full width", "keeps the top"]


@pytest.mark.parametrize("target, options", [
    ((0, 100, 800, 400), {}),
    ((16, 100, 784, 400), {}),                       # 2 % short of each side: no snap by default ...
    ((16, 100, 784, 400), {"edge_snap": 0.04}),      # ... the option snaps the edge that comes within 4 % of it
    ((60, 100, 740, 400), {"edge_snap": 0.04}),      # too far to snap
])
def test_explanation_says_full_width_only_when_the_box_spans_it(target, options):
    pipeline = create_pipeline("default", scorers=[("test_full_width_claim", 1.0, {"target": target})])
    out = pipeline.run(IMAGE, Intent(k=1, min_scale=0.3), options=options)
    box = out.results[0].box
    spans = box.x1 <= 0 and box.x2 >= IMAGE.width
    assert ("keeps the full width" in out.results[0].explanation) == spans
    assert ("keeps the top" in out.results[0].explanation) == (box.y1 <= 0)
    if options.get("edge_snap") and target[0] < 0.04 * IMAGE.width:
        assert box.x1 == 0 and "keeps the left side" in out.results[0].explanation


@GROUNDERS.register("test_unsure")
class _UnsureGrounder:
    """A model's guess at TARGET with the confidence the test sets (None: not measured)."""

    confidence: "float | None" = 0.01

    def ground(self, ctx):
        from intentcrop.core.context import Grounding

        box = Box(*TARGET)
        return Grounding(boxes=[box], scores=[0.05], phrases=["dog"], region=box, strict=False, source="text",
                         confidence=_UnsureGrounder.confidence)


def _unsure_pipeline():
    return create_pipeline("vlm", grounders={"text": ("test_unsure", {}), "subject": ("subject", {})},
                           scorers=[("test_closeness", 1.0, {})])


@pytest.mark.parametrize("confidence,min_confidence,falls_back", [
    (0.01, None, True),  # below the default threshold
    (0.5, None, False),
    (None, None, False),  # not measured: kept
    (0.01, 0.0, False),  # min_confidence 0: never fall back
    (0.3, 0.4, True),  # the call's own threshold
])
def test_a_grounding_below_min_confidence_returns_the_free_form_crop_with_a_warning(monkeypatch, confidence,
                                                                                   min_confidence, falls_back):
    monkeypatch.setattr(_UnsureGrounder, "confidence", confidence)
    options = None if min_confidence is None else {"grounding": {"min_confidence": min_confidence}}
    out = _unsure_pipeline().run(IMAGE, Intent(text="the white dog", ratios=["1:1"], k=2), options=options)
    free = create_pipeline("default").run(IMAGE, Intent(ratios=["1:1"], k=2))
    assert out.grounding.confidence == confidence  # what was found is reported either way
    if falls_back:
        threshold = DEFAULTS_MIN_CONFIDENCE if min_confidence is None else min_confidence
        warning = (f"'the white dog' was not found with confidence ({confidence:.2f} < {threshold:g}); "
                   "returning the best free-form crop")
        assert out.warnings == [warning] and out.to_dict()["warnings"] == [warning]
        assert [r.box for r in out.results] == [r.box for r in free.results]
        assert all(r.explanation.startswith("a free-form crop: 'the white dog' was not found with confidence")
                   and "overlaps the target" not in r.explanation for r in out.results)
        assert "ground" in out.timings and out.timings["total"] >= out.timings["ground"]
    else:
        assert out.warnings == [] and out.to_dict()["warnings"] == []
        assert all("overlaps the target" in r.explanation for r in out.results)  # this pipeline's own scorer


DEFAULTS_MIN_CONFIDENCE = 0.025  # GroundingConfig.min_confidence, as documented


def test_the_documented_threshold_is_the_default():
    from intentcrop.defaults import DEFAULTS

    assert DEFAULTS.grounding.min_confidence == DEFAULTS_MIN_CONFIDENCE


def test_a_subject_is_never_not_found():
    out = _unsure_pipeline().run(IMAGE, Intent(subject=Box(300, 200, 420, 290), k=1))
    assert out.warnings == [] and out.grounding.confidence == 1.0


def test_the_fallback_keeps_the_calls_crop_quality_model(tmp_path):
    from intentcrop.pipeline import Pipeline

    config = {"proposer": ("grid", {}), "grounders": {}, "scorers": [("quality", 0.3, {"model": "q.npz"})]}
    fallback, intent = Pipeline(config).fallback(Intent(text="the white dog", query_image=IMAGE, ratios=["1:1"]))
    assert intent.text is None and intent.query_image is None and intent.ratios == [1.0]
    assert fallback.config["scorers"] == [("quality", 1.0, {"model": "q.npz"})]
    subject, _ = Pipeline(config).fallback(Intent(text="x", subject=Box(0, 0, 5, 5)))
    assert [s[0] for s in subject.config["scorers"]] == ["quality", "framing", "isolation"]
