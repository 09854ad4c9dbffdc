"""model= / device= routing and text / query-image crops end to end on tiny checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import intentcrop  # noqa: E402
from intentcrop.errors import IntentCropError, ModelNotAvailableError  # noqa: E402
from intentcrop.models.routing import model_overrides  # noqa: E402
from intentcrop.pipeline import PIPELINE_CONFIGS  # noqa: E402
from intentcrop.registry import SCORERS  # noqa: E402


def test_models_go_to_the_stages_of_their_role(tiny_models):
    overrides = model_overrides(PIPELINE_CONFIGS["vlm"], [str(tiny_models["owlv2"]), str(tiny_models["clip"])], "cpu")
    grounders = dict(overrides["grounders"])
    assert grounders.pop("subject") == ("subject", {})  # the subject grounder takes no model and no device
    assert all(args["model"] == str(tiny_models["owlv2"]) and args["device"] == "cpu"
               for _, args in grounders.values())
    for name, _, args in overrides["scorers"]:
        if name.startswith("clip_"):
            assert args["model"] == str(tiny_models["clip"]) and args["device"] == "cpu"
        else:
            assert "model" not in args
    assert model_overrides(PIPELINE_CONFIGS["vlm"]) == {}


def test_one_model_per_role(tiny_models):
    with pytest.raises(ModelNotAvailableError, match="two grounding models"):
        model_overrides(PIPELINE_CONFIGS["vlm"], [str(tiny_models["owlvit"]), str(tiny_models["owlv2"])])


def test_model_the_pipeline_does_not_use(tiny_models):
    with pytest.raises(ModelNotAvailableError, match="uses no model"):
        model_overrides({"grounders": {}, "scorers": [("framing", 1.0, {})]}, str(tiny_models["clip"]))


def _scorers():
    """The vlm scorers usable in this checkout (the offline 'quality' scorer is another module's and needs its
    packaged model); all of them once that is in place."""
    usable = []
    for name, weight, args in PIPELINE_CONFIGS["vlm"]["scorers"]:
        try:
            if not name.startswith("clip_"):
                SCORERS.create(name, **args)
        except (KeyError, IntentCropError):
            continue
        usable.append((name, weight, args))
    return usable


@pytest.mark.parametrize("intent", [{"text": "the red car and the dog"}, {"query_image": "coffee"}])
def test_text_and_query_image_crops(tiny_models, sample_image_path, intent, monkeypatch):
    # the tiny random CLIP's vocabulary lacks the prompt words (inert: left out); here they count as known
    monkeypatch.setattr("intentcrop.score.prompts.inert_elements", lambda encoder, elements: {})
    if intent.get("query_image") == "coffee":
        intent = {"query_image": sample_image_path.parent / "coffee.jpg"}
    output = intentcrop.crop(sample_image_path, **intent, k=2, model=[str(tiny_models["owlvit"]), str(tiny_models["clip"])],
                             device="cpu", return_output=True, scorers=_scorers())
    grounding = output.grounding
    assert grounding is not None and grounding.strict is False
    assert grounding.source == ("text" if "text" in intent else "query_image")
    assert len(output.results) == 2
    best = output.results[0]
    assert {"clip_text", "clip_composition", "clip_aesthetics", "framing"} <= set(best.breakdown)
    assert "clip_composition.rule_of_thirds" in best.breakdown and "clip_aesthetics.lighting" in best.breakdown
    # the documented weighted combination: each scorer's total z-scored within the image, times its weight
    from intentcrop.score.base import zscore

    weights = {SCORERS.create(name, **args).name: w for name, w, args in _scorers()}
    expected = sum(w * zscore(output.candidates.breakdown[name]) for name, w in weights.items())
    np.testing.assert_allclose(output.candidates.scores, expected, atol=1e-9)
    if grounding.region is not None:  # free-form candidates all keep the grounded region
        region = grounding.region.to_array()
        xyxy = output.candidates.xyxy
        assert np.all(xyxy[:, :2] <= region[:2] + 1) and np.all(xyxy[:, 2:] >= region[2:] - 1)
    assert output.to_dict()["grounding"]["source"] == grounding.source


def test_free_form_crop_keeps_the_default_pipeline(sample_image_path):
    if "quality" not in {name for name, _, _ in _scorers()}:
        pytest.skip("the offline 'quality' scorer is not usable in this checkout")
    output = intentcrop.crop(sample_image_path, return_output=True)
    assert output.grounding is None and not any(k.startswith("clip_") for k in output.results[0].breakdown)


def test_a_verifying_grounder_gets_the_scoring_model_as_its_verifier(tiny_models):
    owl, clip = str(tiny_models["owlv2"]), str(tiny_models["clip"])
    overrides = model_overrides(PIPELINE_CONFIGS["vlm"], [owl, clip], "cpu")
    grounders = dict(overrides["grounders"])
    assert grounders.pop("subject") == ("subject", {})
    for name, args in grounders.values():
        assert name == "owlvit" and args["verify"] is True
        assert args["model"] == owl and args["verifier_model"] == clip
    # a CLIP model alone is used by a pipeline whose only CLIP user is the verifier
    only_verifier = {"grounders": {"text": ("owlvit", {"verify": True})}, "scorers": [("framing", 1.0, {})]}
    assert model_overrides(only_verifier, clip)["grounders"]["text"][1]["verifier_model"] == clip
    with pytest.raises(ModelNotAvailableError, match="uses no model"):
        model_overrides({"grounders": {"text": ("owlvit", {})}, "scorers": [("framing", 1.0, {})]}, clip)


def test_routing_reads_each_backends_declared_model_arguments(tmp_path):
    """A backend says which constructor argument takes which role's model (`model_arguments`), and which of them
    only when an argument switches it on (`model_switches`): routing needs no table of its own."""
    from intentcrop.models import GROUNDING, QUALITY, SCORING
    from intentcrop.models.routing import model_arguments
    from intentcrop.registry import GROUNDERS, Registry

    assert model_arguments(GROUNDERS, "owlvit", {}) == {"model": GROUNDING}
    assert model_arguments(GROUNDERS, "owlvit", {"verify": True}) == {"model": GROUNDING, "verifier_model": SCORING}
    assert model_arguments(GROUNDERS, "subject", {}) == {}
    assert model_arguments(SCORERS, "clip_text", {}) == {"model": SCORING}
    assert model_arguments(SCORERS, "quality", {}) == {"model_path": QUALITY}
    assert model_arguments(SCORERS, "framing", {}) == {}
    assert model_arguments(SCORERS, "no such scorer", {}) == {}

    registry = Registry("scorer")

    @registry.register("two_models")
    class TwoModels:
        model_arguments = {"clip": SCORING, "owl": GROUNDING}
        model_switches = {"owl": "use_owl"}

    assert model_arguments(registry, "two_models", {"use_owl": False}) == {"clip": SCORING}
    assert model_arguments(registry, "two_models", {"use_owl": True}) == {"clip": SCORING, "owl": GROUNDING}
    quality = tmp_path / "q.npz"
    quality.write_bytes(b"")
    overrides = model_overrides({"grounders": {}, "scorers": [("quality", 1.0, {})]}, str(quality), device="cpu")
    assert overrides["scorers"] == [("quality", 1.0, {"model_path": str(quality)})]  # numpy: no device


def _model_backed_backends():
    from intentcrop.models.registry import QUALITY
    from intentcrop.registry import GROUNDERS, PROPOSERS, SEARCHERS

    rows = []
    for registry in (GROUNDERS, PROPOSERS, SCORERS, SEARCHERS):
        for name in registry.names():
            backend = registry.get(name)
            roles = set(getattr(backend, "model_arguments", {}).values())
            if roles and roles != {QUALITY}:  # numpy-only models take no device
                rows.append(pytest.param(backend, id=f"{registry.stage}:{name}"))
    return rows


@pytest.mark.parametrize("backend", _model_backed_backends())
def test_every_model_backed_backend_takes_the_device_and_dtype_the_routing_gives(backend):
    import inspect

    parameters = inspect.signature(backend).parameters
    assert {"device", "dtype"} <= set(parameters), f"{backend.__name__} would fail on --device"


def test_a_method_with_a_content_scorer_runs_on_a_chosen_device(tiny_models):
    config = model_overrides(PIPELINE_CONFIGS["cropper"], [str(tiny_models["clip"])], "cpu")
    assert dict((n, a) for n, _, a in config["scorers"])["content"] == {"model": str(tiny_models["clip"]),
                                                                         "device": "cpu"}
    from intentcrop.pipeline import Pipeline

    image = np.zeros((64, 96, 3), np.uint8)
    image[20:40, 30:60] = 200
    scores = Pipeline(dict(PIPELINE_CONFIGS["cropper"], **config)).score_boxes(image, [(0, 0, 64, 64), (16, 8, 80, 56)])
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_a_vlm_goes_to_croppers_proposer_and_nowhere_else():
    from pathlib import Path

    vlm = Path(__file__).resolve().parents[2] / "fixtures" / "world" / "vlm"
    if not (vlm / "config.json").is_file():
        pytest.skip("the world VLM fixture is absent")
    overrides = model_overrides(PIPELINE_CONFIGS["cropper"], [str(vlm)], "cpu")
    name, args = overrides["proposer"]
    assert name == "cropper" and args["vlm_local"] == str(vlm) and args["device"] == "cpu"
    with pytest.raises(ModelNotAvailableError, match="uses no model for"):
        model_overrides(PIPELINE_CONFIGS["vlm"], [str(vlm)])
