import numpy as np
import pytest

from intentcrop.datasets import load_gaicd
from intentcrop.evaluation import EvaluationError, evaluate_gaicd, pipeline_scorer
from intentcrop.registry import SCORERS


def test_ranking_by_mos_is_perfect(gaicd_mini_dir):
    out = evaluate_gaicd(lambda s: s.mos, load_gaicd(gaicd_mini_dir), method="oracle")
    for key in ("acc/5", "acc/10", "wacc/5", "wacc/10", "srcc", "pcc"):
        assert out[key] == pytest.approx(1.0), key
    assert out["n"] == 5 and out["method"] == "oracle"


def test_ranking_by_reversed_mos_is_worst(gaicd_mini_dir):
    out = evaluate_gaicd(lambda s: -s.mos, load_gaicd(gaicd_mini_dir))
    assert out["acc/5"] == 0.0 and out["wacc/10"] == 0.0
    assert out["srcc"] == pytest.approx(-1.0) and out["pcc"] == pytest.approx(-1.0)


def test_random_ranking_is_near_chance(gaicd_mini_dir):
    data = load_gaicd(gaicd_mini_dir)
    rng = np.random.default_rng(0)
    runs = [evaluate_gaicd(lambda s: rng.random(len(s.mos)), data) for _ in range(200)]
    # A random pick hits with probability (crops with MOS >= the N-th best) / crops, for every K.
    chance = np.mean([np.mean(s.mos >= np.sort(s.mos)[::-1][4]) for s in data])
    assert np.mean([r["acc/5"] for r in runs]) == pytest.approx(chance, abs=0.03)
    assert abs(np.mean([r["srcc"] for r in runs])) < 0.05


class _AreaScorer:
    """Bigger crops score higher: enough to check that the pipeline's scores reach the metrics."""

    name = "test-eval-area"

    def score(self, ctx, candidates):
        return {"total": candidates.area}

    def explain(self, winner, all_terms):
        return []


if "test-eval-area" not in SCORERS:
    SCORERS.register("test-eval-area")(_AreaScorer)


def test_pipeline_scorer_scores_the_annotated_crops(gaicd_mini_dir):
    data = load_gaicd(gaicd_mini_dir).head(1)
    score = pipeline_scorer(scorers=[("test-eval-area", 1.0, {})])
    crops = data[0].crops_xyxy
    np.testing.assert_allclose(score(data[0]), (crops[:, 2] - crops[:, 0]) * (crops[:, 3] - crops[:, 1]))
    out = evaluate_gaicd(score, data, method="area")
    assert -1 <= out["srcc"] <= 1


def test_score_count_must_match_the_crops(gaicd_mini_dir):
    with pytest.raises(EvaluationError, match="3 scores for"):
        evaluate_gaicd(lambda s: np.zeros(3), load_gaicd(gaicd_mini_dir).head(1), method="short")
