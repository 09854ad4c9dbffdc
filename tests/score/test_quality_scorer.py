"""The crop-quality scorer ("quality") and its learned model: file round trips, errors, exact explanations, the packaged default."""

from __future__ import annotations

import json

import numpy as np
import pytest

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent
from intentcrop.errors import ModelNotAvailableError
from intentcrop.io.image import load_image
from intentcrop.registry import SCORERS
from intentcrop.score.features import FEATURE_NAMES, FEATURE_PHRASES
from intentcrop.score.quality import (
    DEFAULT_MODEL_PATH, CropQualityModel, QualityScorer, explain_contributions, face_rule, load_model,
)


def random_model(kind: str, seed: int = 0) -> CropQualityModel:
    rng = np.random.default_rng(seed)
    F = len(FEATURE_NAMES)
    if kind == "mlp":
        params = {"w1": rng.normal(size=(F, 4)), "b1": rng.normal(size=4), "w2": rng.normal(size=4)}
    else:
        knots = np.sort(rng.normal(size=(F, 0 if kind == "linear" else 3)), axis=1)
        params = {"knots": knots, "weights": rng.normal(size=(F, 1 + knots.shape[1]))}
    return CropQualityModel(kind, FEATURE_NAMES, rng.random(F), 0.5 + rng.random(F), params, {"seed": seed})


@pytest.mark.parametrize("kind", ["linear", "additive", "mlp"])
def test_save_load_round_trip_scores_the_same(tmp_path, kind):
    model = random_model(kind)
    path = model.save(tmp_path / "m.npz")
    loaded = CropQualityModel.load(path)
    x = np.random.default_rng(5).random((30, len(FEATURE_NAMES)))
    np.testing.assert_allclose(loaded.score(x), model.score(x))
    assert loaded.kind == kind and loaded.meta == {"seed": 0} and loaded.feature_names == FEATURE_NAMES


def test_saving_keeps_the_given_file_name(tmp_path):
    path = random_model("linear").save(tmp_path / "my.model")
    assert path.exists() and not (tmp_path / "my.model.npz").exists()


@pytest.mark.parametrize("kind", ["linear", "additive"])
def test_additive_contributions_add_up_to_the_score(kind):
    model = random_model(kind, seed=3)
    x = np.random.default_rng(6).random((12, len(FEATURE_NAMES)))
    np.testing.assert_allclose(model.contributions(x).sum(axis=1), model.score(x))


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="does not exist.*intentcrop train quality"):
        CropQualityModel.load(tmp_path / "nope.npz")


def test_broken_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ModelNotAvailableError, match="could not be read"):
        CropQualityModel.load(bad)


def test_model_needing_unknown_features_is_refused(tmp_path):
    model = random_model("linear")
    model.feature_names = ("no_such_feature",) + FEATURE_NAMES[1:]
    path = model.save(tmp_path / "m.npz")
    with pytest.raises(ModelNotAvailableError, match="no_such_feature"):
        CropQualityModel.load(path)


def test_explanation_names_the_factors_that_lifted_the_winner():
    winner = {"saliency_kept": 1.0, "border_edges": 0.3, "area": -0.2, "value.border_edges": 0.2}
    all_terms = {"saliency_kept": np.array([1.0, 0.1, 0.1]), "border_edges": np.array([0.3, 0.0, 0.0]),
                 "area": np.array([-0.2, 0.5, 0.5]), "value.border_edges": np.array([0.2, 1.0, 1.4])}
    phrases = explain_contributions(winner, all_terms)
    assert phrases == [FEATURE_PHRASES["saliency_kept"][0], FEATURE_PHRASES["border_edges"][1]]


def test_explanation_merges_the_two_sides_of_one_axis():
    winner = {"margin_left": 0.5, "margin_right": 0.4, "saliency_kept": 0.3,
              "value.margin_left": 0.0, "value.margin_right": 0.0}
    all_terms = {"margin_left": np.array([0.5, 0.0]), "margin_right": np.array([0.4, 0.0]),
                 "saliency_kept": np.array([0.3, 0.0]),
                 "value.margin_left": np.array([0.0, 0.2]), "value.margin_right": np.array([0.0, 0.2])}
    assert explain_contributions(winner, all_terms) == ["keeps the full width", FEATURE_PHRASES["saliency_kept"][0]]


def test_packaged_default_model_loads_with_its_provenance():
    model = load_model()
    assert DEFAULT_MODEL_PATH.stat().st_size < 5_000_000
    for key in ("seed", "command", "cv", "trained_on"):
        assert key in model.meta, key
    assert "intentcrop train quality" in model.meta["command"]  # the command that made it (once "train default")
    assert model.meta["cv"]["free"]["iou"] > 0.66  # cross-validated on FCDB train, above the centred crop


def test_default_scorer_is_registered_and_accepts_a_model_file(tmp_path, sample_image_path):
    assert isinstance(SCORERS.create("quality"), QualityScorer)
    own = random_model("additive", seed=9).save(tmp_path / "own.npz")
    scorer = SCORERS.create("quality", model_path=str(own))
    ctx = CropContext(image=load_image(sample_image_path), intent=Intent())
    w, h = ctx.width, ctx.height
    boxes = np.array([[0, 0, w, h], [w * 0.1, h * 0.1, w * 0.9, h * 0.9]])
    terms = scorer.score(ctx, Candidates.from_xyxy(boxes))
    features = np.stack([terms["value." + n] for n in FEATURE_NAMES], axis=1)
    np.testing.assert_allclose(terms["total"], scorer.model.score(features) + face_rule(features))


def test_crop_uses_the_learned_model_and_explains_its_choice(sample_image_path):
    import intentcrop

    output = intentcrop.crop(sample_image_path, k=2, return_output=True)
    data = output.to_dict()
    json.dumps(data)
    best = data["crops"][0]
    assert best["explanation"]
    assert "quality" in best["breakdown"] and "quality.saliency_kept" in best["breakdown"]


def test_face_rule_charges_only_crops_that_slice_a_face():
    rows = np.zeros((3, len(FEATURE_NAMES)))
    rows[:, FEATURE_NAMES.index("face_cut_depth")] = [0.0, 0.1, 0.5]
    np.testing.assert_allclose(face_rule(rows, penalty=8.0), [0.0, -0.8, -4.0])


def test_shares_add_up_to_the_total_with_the_face_rule(tmp_path, sample_image_path):
    scorer = QualityScorer(model_path=random_model("additive", seed=2).save(tmp_path / "m.npz"))
    ctx = CropContext(image=load_image(sample_image_path), intent=Intent())
    boxes = np.array([[0, 0, 512, 288], [0, 136, 512, 424], [50, 50, 450, 450]], dtype=float)
    terms = scorer.score(ctx, Candidates.from_xyxy(boxes))
    np.testing.assert_allclose(sum(terms[n] for n in FEATURE_NAMES), terms["total"])


# Real-photo regression: the sample portrait's face, marked by hand (forehead to chin, cheek to cheek). A person
# cropping it to any shape keeps the whole face; the default once cut 16:9 through it at the eyes.
SAMPLE_FACE = (175, 55, 280, 190)


@pytest.mark.parametrize("ratio", ["16:9", "1:1", None])
def test_default_crops_of_the_portrait_keep_the_whole_face(sample_image_path, ratio):
    import intentcrop

    box = intentcrop.crop(sample_image_path, ratio=ratio, k=1)[0].box
    x1, y1, x2, y2 = SAMPLE_FACE
    assert box.x1 <= x1 and box.y1 <= y1 and box.x2 >= x2 and box.y2 >= y2, box


def test_score_and_contributions_equal_the_separate_calls():
    import numpy as np

    from intentcrop.score.quality import load_model

    model = load_model()
    features = np.random.default_rng(5).random((50, len(model.feature_names)))
    score, share = model.score_and_contributions(features)
    assert np.array_equal(score, model.score(features))
    assert np.array_equal(share, model.contributions(features))
