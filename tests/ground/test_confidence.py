"""Grounding confidence (ground.confidence) and the free-form fallback when the intent was not found, end to end
with the committed world models: a text naming an object the scene lacks falls back with a warning, a present one
does not."""

from __future__ import annotations

import json

import numpy as np
import pytest

import intentcrop
from intentcrop.core.box import Box
from intentcrop.core.context import Grounding
from intentcrop.defaults import DEFAULTS
from intentcrop.errors import InvalidIntentError
from intentcrop.ground.config import GroundingConfig
from intentcrop.ground.confidence import calibrate, evidence, fit_platt
from intentcrop.world import generate_scene
from intentcrop.world.bench import DEFAULT_MODELS

MODELS = dict(model=[str(m) for m in DEFAULT_MODELS], device="cpu")
# (scene seed, a text naming a colour and a shape no object of the scene has)
ABSENT = [(1, "the purple circle"), (4, "the green star"), (7, "the blue circle")]
PRESENT = [(1, "the red square"), (4, "the blue triangle"), (7, "the yellow cross")]  # each one object


@pytest.mark.parametrize("calibration", [GroundingConfig().calibration, (1.0, 0.0), (0.5, -1.0), (3.0, 2.0)])
def test_calibration_is_monotone_and_a_probability(calibration):
    grid = np.linspace(0.0, 1.0, 201)
    values = [calibrate(p, calibration) for p in grid]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert all(b >= a for a, b in zip(values, values[1:]))
    assert values[0] == 0.0  # no evidence, no confidence


def test_identity_calibration_and_the_default_threshold_in_match_scores():
    assert calibrate(0.3, (1.0, 0.0)) == pytest.approx(0.3)
    config = GroundingConfig()
    # the documented reading: the default threshold is a best match score of about 0.07 ...
    assert calibrate(0.06, config.calibration) < config.min_confidence < calibrate(0.08, config.calibration)
    # ... so the sofa, matched as "the white dog" at 0.05, falls back
    assert calibrate(0.05, config.calibration) < config.min_confidence


def test_platt_fit_recovers_a_known_monotone_map():
    rng = np.random.default_rng(0)
    evidence_ = rng.uniform(0.001, 0.999, 4000)
    truth = [calibrate(e, (2.0, 1.0)) for e in evidence_]
    labels = (rng.uniform(size=len(truth)) < truth).astype(int)
    a, b = fit_platt(evidence_, labels)
    assert a > 0 and a == pytest.approx(2.0, abs=0.25) and b == pytest.approx(1.0, abs=0.25)


@pytest.mark.parametrize("overrides", [{"calibration": (0.0, 1.0)}, {"calibration": (-1.0, 0.0)},
                                       {"calibration": (1.0,)}, {"min_confidence": 1.5}, {"min_confidence": -0.1}])
def test_a_non_monotone_calibration_or_a_threshold_outside_0_1_is_refused(overrides):
    with pytest.raises(ValueError):
        GroundingConfig().merged(overrides)
    with pytest.raises(InvalidIntentError):
        DEFAULTS.merged({"grounding": overrides})


def test_evidence_is_the_best_kept_match_and_for_a_relation_the_best_of_its_subject():
    box, twin = Box(0, 0, 10, 10), Box(50, 0, 60, 10)
    g = Grounding(boxes=[box], scores=[0.2], phrases=["dog"], region=box, strict=False, source="text",
                  rejected=[twin], rejected_scores=[0.6])
    assert evidence(g, "plain") == 0.2
    assert evidence(g, "relation") == evidence(g, "position") == 0.6  # the relation chose among things that are there
    assert evidence(Grounding(region=None, strict=False, source="text")) == 0.0


def _crop(seed, text, ratio, **kwargs):
    scene = generate_scene(seed)
    out = intentcrop.crop(scene.image, text=text, ratio=ratio, k=2, return_output=True, **MODELS, **kwargs)
    return scene, out


@pytest.mark.parametrize("ratio", [None, "1:1"])
@pytest.mark.parametrize("seed,text", ABSENT)
def test_an_absent_object_falls_back_to_the_free_form_crop_with_a_warning(seed, text, ratio):
    scene, out = _crop(seed, text, ratio)
    assert out.warnings == [f"{text!r} was not found; returning the best free-form crop"]
    free = intentcrop.crop(scene.image, ratio=ratio, k=2)
    assert [r.box for r in out.results] == [r.box for r in free]
    assert [r.score for r in out.results] == [r.score for r in free]
    for r, f in zip(out.results, free):  # the explanation says so, and never that the intent was kept
        assert r.explanation == f"a free-form crop: {text!r} was not found; {f.explanation}"
        assert "asked for" not in r.explanation
    body = out.to_dict()
    assert body["warnings"] == out.warnings and body["grounding"]["confidence"] == 0.0
    json.dumps(body)


def _about_grounding(warnings: list[str]) -> list[str]:
    """The warnings about what was found (the world CLIP's left-out prompt scorers always warn too)."""
    return [w for w in warnings if "scorer was left out" not in w]


@pytest.mark.parametrize("seed,text", PRESENT)
def test_a_present_object_is_kept_without_a_warning(seed, text):
    scene, out = _crop(seed, text, None)
    (target,) = [o for o in scene.objects if f"the {o.colour} {o.shape}" == text]
    assert _about_grounding(out.warnings) == [] and _about_grounding(out.to_dict()["warnings"]) == []
    assert out.grounding.confidence > 0.5 > DEFAULTS.grounding.min_confidence
    assert out.to_dict()["grounding"]["confidence"] == round(out.grounding.confidence, 4)
    assert out.results[0].box.contains(target.box, tolerance=1.0)


def test_a_match_below_the_threshold_falls_back_and_names_its_confidence():
    seed, text = 1, "the red cross"  # absent; the world model matches the red square at about 0.16
    scene, out = _crop(seed, text, None, options={"grounding": {"min_confidence": 0.5}})
    (warning,) = out.warnings
    assert warning.startswith(f"{text!r} was not found with confidence (0.")
    assert warning.endswith("< 0.5); returning the best free-form crop")
    assert out.grounding.region is not None and 0 < out.grounding.confidence < 0.5  # reported, not kept
    assert [r.box for r in out.results] == [r.box for r in intentcrop.crop(scene.image, k=2)]


def test_min_confidence_0_turns_the_fallback_off():
    seed, text = 1, "the red cross"
    scene, kept = _crop(seed, text, None, options={"grounding": {"min_confidence": 0}})
    assert _about_grounding(kept.warnings) == [] and kept.results[0].box.contains(kept.grounding.region, tolerance=1.0)
    scene, off = _crop(*ABSENT[0], None, options={"grounding.min_confidence": 0})
    # said, not replaced
    assert _about_grounding(off.warnings) == [f"{ABSENT[0][1]!r} was not found; the crop does not hold it"]
    assert [r.box for r in off.results] != [r.box for r in intentcrop.crop(scene.image, k=2)]


def test_the_cli_prints_the_warning_on_stderr(tmp_path, capsys):
    from intentcrop.cli.main import main

    seed, text = ABSENT[0]
    path = tmp_path / "scene.png"
    generate_scene(seed).image.save(path)
    args = ["crop", str(path), "--text", text, "-k", "1", "--json", "--device", "cpu"]
    for m in MODELS["model"]:
        args += ["--model", m]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert (f"intentcrop crop: warning: {path}: {text!r} was not found; returning the best free-form crop"
            in captured.err)
    assert json.loads(captured.out)["warnings"] == [f"{text!r} was not found; returning the best free-form crop"]


def test_without_the_output_object_the_warning_is_a_python_warning():
    seed, text = ABSENT[0]
    scene = generate_scene(seed)
    with pytest.warns(intentcrop.CropWarning, match="was not found"):
        results = intentcrop.crop(scene.image, text=text, k=1, **MODELS)
    assert results[0].box == intentcrop.crop(scene.image, k=1)[0].box  # the free-form crop
