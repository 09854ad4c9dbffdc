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
