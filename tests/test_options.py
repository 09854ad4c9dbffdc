"""Defaults merged per call: DEFAULTS <- pipeline config options <- call options, read by the stages when they run.

Each row of OVERRIDES is one option and what it visibly changes; every row is checked through every way of
setting it (per call, per create_pipeline, per pipeline config, process-wide DEFAULTS), so an option a stage
reads from anywhere but ctx.options -- or binds at import -- fails here."""

from __future__ import annotations

import ast
import re
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import intentcrop
from intentcrop import Box, Intent, create_pipeline, defaults
from intentcrop.cli.crop_cmd import parse_options
from intentcrop.cli.main import main
from intentcrop.core.context import CropContext
from intentcrop.defaults import DEFAULTS, Defaults
from intentcrop.errors import IntentCropError, InvalidIntentError
from intentcrop.ground.config import GroundingConfig
from intentcrop.pipeline import PIPELINE_CONFIGS, Pipeline


def _picture() -> Image.Image:
    img = Image.new("RGB", (240, 160), (70, 90, 110))
    draw = ImageDraw.Draw(img)
    draw.ellipse((40, 30, 110, 100), fill=(230, 200, 40))
    draw.rectangle((150, 60, 210, 140), fill=(200, 40, 40))
    return img


IMAGE = _picture()
SUBJECT = Box(150, 60, 210, 140)


def _grid(out) -> int:
    return int(np.sum(out.candidates.source == "grid"))


def _ratio(out) -> int:
    return int(np.sum(out.candidates.source == "ratio"))


def _cuts(out) -> float:
    return float(np.abs(out.candidates.breakdown["isolation.cuts"]).max())


# (method, intent arguments, options, what they change, its value with the defaults, its value with the options)
OVERRIDES = [
    ("default", {}, {"grid_bins": 6}, _grid, None, None),
    ("default", {}, {"grid_max_offset_bins": 2}, _grid, None, None),
    ("default", {}, {"grid_min_area": 0.9, "min_scale": 0.95}, _grid, None, None),
    ("default", {"ratios": ["1:1"]}, {"ratio_positions": 3}, _ratio, None, None),
    ("default", {"ratios": ["1:1"]}, {"ratio_scales": 2}, _ratio, None, None),
    ("default", {}, {"k": 5}, lambda o: len(o.results), 3, 5),
    ("default", {}, {"k": 1}, lambda o: len(o.results), 3, 1),
    ("default", {}, {"consensus_top": 1},  # box voting over one candidate is that candidate
     lambda o: bool(np.any(np.all(o.candidates.xyxy[o.candidates.source == "grid"]
                                  == o.results[0].box.to_array(), axis=1))), None, True),
    ("subject", {"subject": SUBJECT}, {"isolation_cut_weight": 0.5}, _cuts, 0.0, None),  # the call beats the config
    ("subject", {"subject": SUBJECT}, {"frame_min_fill": 0.05, "frame_max_fill": 0.1},
     lambda o: float(o.candidates.breakdown["framing"].min()), None, None),
    ("default", {}, {"analysis_side": 64},
     lambda o: o.results[0].breakdown["quality"], None, None),
]
ROUTES = ["call", "create_pipeline", "pipeline_config", "process_defaults"]


def _run(route: str, method: str, intent: dict, options, monkeypatch):
    if route == "call":
        return intentcrop.crop(IMAGE, method=method, options=options, return_output=True, **_crop_args(intent))
    if route == "create_pipeline":
        return create_pipeline(method, options=options).run(IMAGE, Intent(**intent))
    if route == "pipeline_config":
        config = dict(PIPELINE_CONFIGS[method])
        config["options"] = {**config.get("options", {}), **(options or {})}
        monkeypatch.setitem(PIPELINE_CONFIGS, method, config)
        return intentcrop.crop(IMAGE, method=method, return_output=True, **_crop_args(intent))
    monkeypatch.setattr(defaults, "DEFAULTS", DEFAULTS.merged(options))
    # a pipeline's own options still beat process-wide defaults: take them out to see the process-wide ones
    config = {k: v for k, v in PIPELINE_CONFIGS[method].items() if k != "options"}
    monkeypatch.setitem(PIPELINE_CONFIGS, method, config)
    return intentcrop.crop(IMAGE, method=method, return_output=True, **_crop_args(intent))


def _crop_args(intent: dict) -> dict:
    args = dict(intent)
    if "ratios" in args:
        args["ratio"] = args.pop("ratios")
    return args


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method,intent,options,observe,before,after", OVERRIDES,
                         ids=[",".join(row[2]) for row in OVERRIDES])
def test_an_option_takes_effect_however_it_is_set(route, method, intent, options, observe, before, after,
                                                  monkeypatch):
    baseline = observe(intentcrop.crop(IMAGE, method=method, return_output=True, **_crop_args(intent)))
    if before is not None:
        assert baseline == before
    changed = observe(_run(route, method, intent, options, monkeypatch))
    assert changed != baseline
    if after is not None:
        assert changed == after
    if route != "call":  # every route gives what the call gives
        monkeypatch.undo()
        assert changed == observe(_run("call", method, intent, options, monkeypatch))


def test_layers_merge_in_order(monkeypatch):
    """DEFAULTS <- the config's options <- create_pipeline's options <- the call's options, field by field."""
    monkeypatch.setattr(defaults, "DEFAULTS", DEFAULTS.merged({"k": 4, "grid_bins": 8, "ratio_positions": 5}))
    config = dict(PIPELINE_CONFIGS["default"], options={"k": 3, "grounding": {"tie_score": 0.7}})
    pipe = Pipeline(config, options={"k": 2, "grounding.min_score": 0.2})
    merged = pipe.resolve_options({"k": 1})
    assert (merged.k, merged.grid_bins, merged.ratio_positions) == (1, 8, 5)
    assert (merged.grounding.tie_score, merged.grounding.min_score) == (0.7, 0.2)
    assert merged.grounding.per_query == GroundingConfig().per_query
    assert pipe.resolve_options().k == 2
    assert Pipeline(config).resolve_options().k == 3
    assert len(pipe.run(IMAGE, Intent(), options={"k": 1}).results) == 1
    assert len(pipe.run(IMAGE, Intent()).results) == 2
    assert len(pipe.run(IMAGE, Intent(k=3), options={"k": 1}).results) == 3  # the intent's own k wins


def test_options_land_on_the_context_and_the_output():
    out = intentcrop.crop(IMAGE, options={"grid_bins": 6}, return_output=True)
    assert isinstance(out.options, Defaults) and out.options.grid_bins == 6
    ctx = create_pipeline("subject").preprocess(IMAGE, Intent(), {"k": 2})
    assert ctx.options.k == 2 and ctx.options.isolation_cut_weight == 0.0 and ctx.k == 2
    plain = CropContext(image=IMAGE, intent=Intent())
    assert plain.options is defaults.DEFAULTS and plain.k == DEFAULTS.k


def test_k_default_comes_from_the_options_at_call_time(monkeypatch):
    assert Intent().k is None and intentcrop.make_intent().k is None
    assert len(intentcrop.crop(IMAGE)) == DEFAULTS.k
    monkeypatch.setattr(defaults, "DEFAULTS", DEFAULTS.merged({"k": 2}))
    assert len(intentcrop.crop(IMAGE)) == 2


def test_min_scale_and_analysis_copy_read_the_options():
    ctx = CropContext(image=IMAGE, intent=Intent(), options=DEFAULTS.merged({"min_scale": 0.7, "analysis_side": 60}))
    assert ctx.min_scale == 0.7 and ctx.small()[0].shape[:2] == (40, 60)
    ctx.grounding = intentcrop.Grounding(region=SUBJECT)
    assert ctx.min_scale == DEFAULTS.grounded_min_scale


def test_image_input_and_intent_limits_read_the_defaults_when_called(monkeypatch):
    with pytest.raises(intentcrop.ImageLoadError):
        intentcrop.crop(IMAGE, options={"max_image_pixels": 1000})
    monkeypatch.setattr(defaults, "DEFAULTS", DEFAULTS.merged({"max_ratio": 20.0}))
    assert intentcrop.parse_ratio("15:1") == 15.0


@pytest.mark.parametrize("options,message", [
    ({"grid_bin": 6}, r"unknown option grid_bin \(did you mean grid_bins\?\)"),
    ({"grounding": {"tie_scor": 0.9}}, r"unknown option grounding.tie_scor \(did you mean grounding.tie_score\?\)"),
    ({"grounding.nope": 1}, "unknown option grounding.nope"),
    ({"grid_bins": "six"}, "option grid_bins must be an integer, got 'six'"),
    ({"grid_bins": 6.5}, "option grid_bins must be an integer"),
    ({"grid_bins": True}, "option grid_bins must be an integer"),
    ({"diversity_iou": "high"}, "option diversity_iou must be a number"),
    ({"grounding.recheck": "yes"}, "option grounding.recheck must be true or false"),
    ({"grounding.refine_windows": "wide"}, "option grounding.refine_windows must be a list of numbers"),
    ({"grounding": 0.9}, "option grounding must be a mapping"),
    ({"k.x": 1}, "option k has no sub-options"),
    ({"k": 0}, "option k must be at least 1"),
    ({"frame_min_fill": 0.7}, "option frame_min_fill must be in"),
    ({"clip_pooling": "max"}, "option clip_pooling must be 'attention' or 'roi_align'"),
    ([("k", 2)], "options must be a mapping"),
])
def test_bad_options_are_clear_errors(options, message):
    with pytest.raises(InvalidIntentError, match=message):
        DEFAULTS.merged(options)
    with pytest.raises(InvalidIntentError, match=message):
        intentcrop.crop(IMAGE, options=options)
    with pytest.raises(InvalidIntentError, match=message):
        create_pipeline("default", options=options)


def test_merged_values_are_typed_and_the_defaults_frozen():
    merged = DEFAULTS.merged({"grid_min_area": 1, "grounding.refine_windows": [0.3], "grounding": {"tie_score": 1}})
    assert isinstance(merged.grid_min_area, float) and merged.grounding.refine_windows == (0.3,)
    assert isinstance(merged.grounding.tie_score, float)
    assert DEFAULTS.merged(None) is DEFAULTS and DEFAULTS.merged({}) is DEFAULTS and DEFAULTS.merged(merged) is merged
    assert DEFAULTS.grid_bins == 12 and DEFAULTS.grounding.tie_score == 0.8  # merging never changes the original
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULTS.k = 5  # type: ignore[misc]
    assert Defaults(**{**DEFAULTS.to_dict(), "grounding": DEFAULTS.grounding}) == DEFAULTS


def test_old_module_constants_say_what_replaced_them():
    with pytest.raises(AttributeError, match="option 'grid_bins'"):
        defaults.GRID_BINS  # noqa: B018
    with pytest.raises(AttributeError, match="would change nothing"):
        defaults.K = 5
    with pytest.raises(TypeError, match="must be a Defaults"):
        defaults.DEFAULTS = {"k": 5}
    with pytest.raises(AttributeError, match="option 'grounding.tie_score'"):
        defaults.GROUND_TIE_SCORE  # noqa: B018
    with pytest.raises(AttributeError, match="option 'clip_text_template'"):
        defaults.CLIP_TEXT_TEMPLATE  # noqa: B018


def _names_defaults(source: str) -> bool:
    """`defaults.X` or the name DEFAULTS itself (not a longer name such as JOB_DEFAULTS)."""
    return re.search(r"\bdefaults\.|\bDEFAULTS\b", source) is not None


def test_no_default_argument_or_module_constant_binds_a_default_at_import():
    """`def f(x=defaults.K)` or `X = defaults.DEFAULTS.k` at module level would keep the import-time value."""
    root = Path(intentcrop.__file__).parent
    bound = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.name == "defaults.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            values = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                values = node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
            elif isinstance(node, ast.ClassDef):  # dataclass field defaults
                values = [s.value for s in node.body if isinstance(s, ast.AnnAssign) and s.value is not None]
            for value in values:
                if _names_defaults(ast.unparse(value)):
                    bound.append(f"{rel}:{value.lineno}: {ast.unparse(value)}")
        for stmt in tree.body:  # module level
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None and _names_defaults(
                    ast.unparse(stmt.value)):
                bound.append(f"{rel}:{stmt.lineno}: {ast.unparse(stmt)}")
    assert not bound, "bound at import: " + "; ".join(bound)


def test_pipeline_config_options_are_valid_and_weights_literal():
    for name, config in PIPELINE_CONFIGS.items():
        DEFAULTS.merged(config.get("options"))
        for scorer, weight, _ in config["scorers"]:
            assert isinstance(weight, float), (name, scorer)


# -- method= and its old name pipeline= ---------------------------------------------------------------


def test_method_chooses_the_pipeline_and_pipeline_is_its_old_name():
    by_method = intentcrop.crop(IMAGE, method="default", k=1)
    with pytest.warns(DeprecationWarning, match="method="):
        by_pipeline = intentcrop.crop(IMAGE, pipeline="default", k=1)
    assert by_method[0].box == by_pipeline[0].box
    subject = intentcrop.crop(IMAGE, subject=SUBJECT, method="subject", k=1, return_output=True)
    assert "isolation" in subject.results[0].breakdown
    assert "isolation" not in intentcrop.crop(IMAGE, subject=SUBJECT, method="default", k=1)[0].breakdown
    with pytest.raises(InvalidIntentError, match="not both"):
        intentcrop.crop(IMAGE, method="default", pipeline="subject")
    with pytest.raises(InvalidIntentError, match="unknown method 'nope'; known: " + re.escape(", ".join(sorted(PIPELINE_CONFIGS)))):
        intentcrop.crop(IMAGE, method="nope")


def test_one_name_per_backend():
    from intentcrop.registry import PROPOSERS, SCORERS
    from intentcrop.score.quality import QualityScorer

    assert "default" not in SCORERS and "default" not in PROPOSERS and "grid" in PROPOSERS
    scorer = SCORERS.create("quality")
    assert isinstance(scorer, QualityScorer) and scorer.name == "quality"
    best = intentcrop.crop(IMAGE, k=1)[0]
    assert "quality" in best.breakdown and not any(k.startswith(("learned", "default")) for k in best.breakdown)


# -- CLI ----------------------------------------------------------------------------------------------


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    IMAGE.save(path)
    return path


def test_cli_option_and_method(photo, capsys):
    assert main(["crop", str(photo), "--option", "k=2", "--option", "grid_bins=6", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert len(record["crops"]) == 2
    assert main(["crop", str(photo), "--method", "subject", "--subject", "150,60,210,140", "-k", "1",
                 "--option", "isolation_cut_weight=0.5", "--json"]) == 0
    crop = json.loads(capsys.readouterr().out)["crops"][0]
    assert "isolation.cuts" in crop["breakdown"]


@pytest.mark.parametrize("args,message", [
    (["--option", "grid_bin=6"], "--option: unknown option grid_bin (did you mean grid_bins?)"),
    (["--option", "grid_bins=six"], "option grid_bins must be an integer, got 'six'"),
    (["--option", "grid_bins"], "--option 'grid_bins': write KEY=VALUE"),
    (["--option", "grounding.tie_scor=0.9"], "unknown option grounding.tie_scor"),
])
def test_cli_bad_options_fail_before_any_image(photo, capsys, args, message):
    assert main(["crop", str(photo), *args]) == 2
    assert message in capsys.readouterr().err


def test_cli_unknown_method_is_refused(photo, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["crop", str(photo), "--method", "nope"])
    assert exc.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


def test_cli_option_values_parse_as_json_else_text():
    assert parse_options(["grid_bins=10", "grounding.tie_score=0.9", "clip_pooling=roi_align",
                          "grounding.refine_windows=[0.2, 0.4]", "grounding.recheck=false"]) == {
        "grid_bins": 10, "grounding.tie_score": 0.9, "clip_pooling": "roi_align",
        "grounding.refine_windows": [0.2, 0.4], "grounding.recheck": False}
    with pytest.raises(IntentCropError):
        parse_options(["=3"])


@pytest.mark.parametrize("options, message", [
    ({"grid_bins": 10**6}, "grid_bins must be at most 48"),
    ({"grid_max_offset_bins": 13}, "grid_max_offset_bins must be at most 12"),
    ({"ratio_scales": 500}, "ratio_scales must be at most 100"),
    ({"consensus_top": 10**5}, "consensus_top must be at most 1000"),
    ({"analysis_side": 100000}, "analysis_side must be at most 2048"),
    ({"grounding.per_query": 10**4}, "per_query must be between 1 and 50"),
    ({"grounding.verify_candidates": 1000}, "verify_candidates must be between 1 and 64"),
    ({"grounding.refine_windows": [0.1] * 20}, "at most 8 windows"),
    ({"grounding.tie_score": float("nan")}, "tie_score must be a finite number"),
])
def test_options_that_set_the_work_of_a_call_are_bounded(options, message):
    """A client's options (the service passes them through) cannot ask for unbounded work."""
    with pytest.raises(InvalidIntentError, match=message):
        DEFAULTS.merged(options)
