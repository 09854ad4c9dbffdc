"""The keep / crop verdict: free-form intents only, the whole image against the best crop."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from intentcrop import Box, Intent, create_pipeline
from intentcrop.core.box import pairwise_iou
from intentcrop.core.candidates import Candidates
from intentcrop.defaults import DEFAULTS
from intentcrop.errors import InvalidIntentError
from intentcrop.registry import SCORERS
from intentcrop.select.verdict import decide, is_free_form, whole_image_score

W, H = 400, 300


def _ctx(intent=None, **options):
    return SimpleNamespace(intent=intent or Intent(), width=W, height=H, options=DEFAULTS.merged(options))


def _never(_rows):
    raise AssertionError("the whole image was among the candidates: no scoring needed")


@pytest.mark.parametrize("intent, free", [
    (Intent(), True),
    (Intent(k=5, min_scale=0.3), True),
    (Intent(ratios=[1.0]), False),
    (Intent(size=(100, 100)), False),
    (Intent(subject=(10, 10, 50, 50)), False),
    (Intent(text="a dog"), False),
    (Intent(max_scale=0.8), False),
])
def test_only_free_form_intents_get_a_verdict(intent, free):
    assert is_free_form(intent) is free
    cands = Candidates.from_xyxy(np.array([[0.0, 0.0, W, H]]))
    cands.scores = np.array([1.0])
    got = decide(_ctx(intent), cands, (50, 50, 350, 250), 2.0, _never)
    assert (got is not None) is free


@pytest.mark.parametrize("best_box, best, whole, margin, verdict", [
    ((100, 80, 300, 220), 3.0, 2.9, 0.5, "keep"),   # the whole image scores about as well: already composed
    ((100, 80, 300, 220), 3.0, 1.0, 0.5, "crop"),   # the crop is much better
    ((100, 80, 300, 220), 3.0, 1.0, 2.5, "keep"),   # ... unless the margin allows that much
    ((100, 80, 300, 220), 3.0, 2.9, 0.0, "crop"),   # margin 0: only a best crop that is the whole image keeps
    ((4, 3, 396, 297), 3.0, -5.0, 0.0, "keep"),     # the best crop is nearly the whole image (IoU >= 0.9)
])
def test_verdict_table(best_box, best, whole, margin, verdict):
    cands = Candidates.from_xyxy(np.array([best_box, [0.0, 0.0, W, H]], dtype=float))
    cands.scores = np.array([best, whole])
    got = decide(_ctx(keep_margin=margin), cands, best_box, best, _never)
    assert got.verdict == verdict and got.whole_score == whole and got.best_score == best
    assert ("no crop needed" in got.reason or "already well composed" in got.reason) == (verdict == "keep")


def test_the_margin_is_read_from_the_options_at_call_time():
    cands = Candidates.from_xyxy(np.array([[100, 80, 300, 220], [0.0, 0.0, W, H]]))
    cands.scores = np.array([3.0, 2.0])
    args = (cands, (100, 80, 300, 220), 3.0, _never)
    assert decide(_ctx(keep_margin=0.5), *args).verdict == "crop"
    assert decide(_ctx(keep_margin=1.5), *args).verdict == "keep"
    assert decide(_ctx(keep_margin=0.5), *args, margin=1.5).verdict == "keep"
    with pytest.raises(InvalidIntentError, match="keep_margin"):
        DEFAULTS.merged({"keep_margin": -1})


def test_the_whole_image_is_scored_when_no_candidate_is_it():
    cands = Candidates.from_xyxy(np.array([[100, 80, 300, 220], [0.0, 0.0, W, H]]), source="consensus")
    cands.scores = np.array([3.0, 99.0])  # a consensus box's score is its rank, not the whole image's score
    seen = []

    def score(rows):
        seen.append(rows.xyxy.copy())
        return np.array([1.25])

    assert whole_image_score(_ctx(), cands, score) == 1.25
    np.testing.assert_array_equal(seen[0], [[0, 0, W, H]])


@SCORERS.register("test_target")
class TargetScorer:
    """Prefers crops close to a target box: a known answer for the verdict."""

    name = "test_target"

    def __init__(self, target=(0, 0, 800, 500)) -> None:
        self.target = np.array([target], dtype=float)

    def score(self, ctx, candidates):
        return {"total": 5 * pairwise_iou(candidates.xyxy, self.target)[:, 0]}

    def explain(self, winner, all_terms):
        return []


@pytest.mark.parametrize("target, options, verdict", [
    ((0, 0, 800, 500), {}, "keep"),                          # an already tight image: the whole image is best
    ((200, 125, 600, 375), {}, "crop"),                      # a big empty border around what scores
    ((200, 125, 600, 375), {"keep_margin": 10.0}, "keep"),   # the option overrides the margin
])
def test_pipeline_verdict(target, options, verdict):
    pipeline = create_pipeline("default", scorers=[("test_target", 1.0, {"target": target})])
    out = pipeline.run(Image.new("RGB", (800, 500), (90, 120, 150)), Intent(min_scale=0.3), options=options)
    assert out.verdict == verdict and out.verdict_reason
    d = out.to_dict()
    assert d["verdict"] == verdict and d["verdict_reason"] == out.verdict_reason
    if verdict == "crop":
        assert out.results[0].box.iou(Box(*target)) > 0.8


def test_non_free_form_calls_have_no_verdict():
    pipeline = create_pipeline("default", scorers=[("test_target", 1.0, {})])
    out = pipeline.run(Image.new("RGB", (800, 500)), Intent(ratios=[1.0]))
    assert out.verdict is None and out.to_dict()["verdict"] is None and "verdict_reason" not in out.to_dict()


@pytest.mark.parametrize("weights, verdict", [((1.0, 0.0), "crop"), ((0.0, 1.0), "keep")])
def test_several_scorers_score_the_whole_image_among_the_candidates(weights, verdict):
    pipeline = create_pipeline("default", scorers=[("test_target", weights[0], {"target": (200, 125, 600, 375)}),
                                                   ("test_target", weights[1], {"target": (0, 0, 800, 500)})])
    out = pipeline.run(Image.new("RGB", (800, 500)), Intent(min_scale=0.3))
    assert out.verdict == verdict
