"""Benchmark metrics (hand-checkable cases) and the conditioned pipeline end to end with the committed models."""

from __future__ import annotations

import math

import numpy as np
import pytest

import intentcrop
from intentcrop.defaults import DEFAULTS

from intentcrop.core.box import Box
from intentcrop.world.bench import (BENCH_MODELS, DEFAULT_MODELS, METRICS, crop_metrics, format_table, summarize,
                                    CaseResult)
from intentcrop.world.referring import Referral, WorldCase, benchmark_cases, position_cases, relation_cases
from intentcrop.world.scenes import generate_scene


@pytest.fixture(scope="module")
def case() -> WorldCase:
    """A non-square scene whose first attribute target is off the diagonal (so swapping x and y misses it)."""
    for c in benchmark_cases(40, seed=5, kinds=("attribute",)):
        b = c.target_box
        swapped = Box(b.y1, b.x1, b.y2, b.x2)
        if c.scene.width != c.scene.height and swapped.intersection(b) == 0 and len(c.referral.distractors) > 0:
            return c
    raise AssertionError("no suitable case")


def _box(case, how):
    t, s = case.target_box, case.scene
    return {
        "whole image": Box(0, 0, s.width, s.height),
        "tight": t,
        "margin": t.expand(0.2).clip(s.width, s.height),
        "swapped x/y": Box(t.y1, t.x1, t.y2, t.x2).expand(0.2),
        "lost offset": t.translate(t.width * 0.6, 0),
    }[how]


@pytest.mark.parametrize("how,all_in,contain_min,contain_max,framed", [
    ("whole image", 1.0, 1.0, 1.0, 1.0),  # every edge is the image's border: nothing to frame
    ("tight", 1.0, 1.0, 1.0, None),  # no margin: framed only where the target touches the image border
    ("margin", 1.0, 1.0, 1.0, 1.0),
    ("swapped x/y", 0.0, 0.0, 0.0, 0.0),
    ("lost offset", 0.0, 0.05, 0.6, 0.0),
])
def test_crop_metrics(case, how, all_in, contain_min, contain_max, framed):
    box = _box(case, how)
    m = crop_metrics(case, box, None)
    assert set(m) == set(METRICS)
    assert m["all_in"] == all_in
    assert contain_min - 1e-9 <= m["contain"] <= contain_max + 1e-9
    assert math.isnan(m["ratio_err"])
    if framed is not None:
        assert m["framed"] == framed
    if how == "whole image":
        assert m["exclude"] == 0.0
    if how == "tight":
        assert m["iou"] == pytest.approx(1.0) and m["exclude"] > 0.5


def test_ratio_error(case):
    t = case.target_box
    square = Box(t.x1, t.y1, t.x1 + 40, t.y1 + 40)
    assert crop_metrics(case, square, 1.0)["ratio_err"] == pytest.approx(0.0)
    assert crop_metrics(case, square, 2.0)["ratio_err"] == pytest.approx(0.5)


def test_summary_and_table():
    scene = generate_scene(3, n_objects=3)
    c = WorldCase(scene, Referral("attribute", "the thing", [0], [1]))
    rows = [CaseResult("text", "attribute", None, m, crop_metrics(c, b, None), b.to_list(), 3, "the thing")
            for m, b in (("conditioned", c.target_box.expand(0.3)), ("tight box", c.target_box))]
    summary = summarize(rows)
    assert {(r["kind"], r["method"]) for r in summary} == {("all", "conditioned"), ("all", "tight box"),
                                                          ("attribute", "conditioned"), ("attribute", "tight box")}
    table = format_table(summary)
    assert "all_in" in table.splitlines()[0] and len(table.splitlines()) == 2 + len(summary)


# -- end to end with the committed world models --------------------------------------------------------

pytest.importorskip("torch")
pytest.importorskip("transformers")

needs_models = pytest.mark.skipif(not all(p.exists() for p in DEFAULT_MODELS),
                                  reason="fixtures/world models absent (run `intentcrop train world`)")
# Fixed scenes (benchmark seed 11) that the committed models crop right: regression anchors for the whole
# conditioned path (tokenizer, grounding, box mapping, proposals, selection). How often the models get
# *any* scene right is the benchmark's job (`intentcrop bench world`), not these tests'.
E2E_TEXT = {1100002: "the yellow star", 1100005: "the green cross", 1100006: "the purple triangle",
            1100011: "the yellow square"}
E2E_IMAGE = (1100002, 1100006, 1100011)
_BY_SEED = {c.scene.seed: c for c in benchmark_cases(12, seed=11, kinds=("attribute",))}
E2E_RELATION = {1150000: "the yellow star above the red cross", 1150003: "the blue square left of the blue star",
                1150010: "the green circle left of the yellow triangle"}
_RELATIONS = {c.scene.seed: c for c in relation_cases(7, seed=11)}
E2E_POSITION = {1170000: "the yellow star on the left", 1170004: "the topmost red star",
                1170007: "the bottommost red square", 1170010: "the rightmost yellow triangle",
                1170026: "the purple square in the bottom right corner", 1170037: "the bottom-right blue cross"}
_POSITIONS = {c.scene.seed: c for c in position_cases(25, seed=11)}
SUBJECT_CASES = [c for s, c in sorted(_BY_SEED.items())]
E2E_CASES = [_BY_SEED[s] for s in E2E_TEXT]


def _crop(case, **intent):
    import intentcrop

    models = {} if "subject" in intent else {"model": [str(p) for p in DEFAULT_MODELS], "device": "cpu"}
    return intentcrop.crop(case.scene.image, k=1, min_scale=0.1, **intent, **models)[0].box


def _check(case, box, exclude=True):
    scene = case.scene
    target = scene.objects[case.targets[0]]
    assert box.contains(target.box, tolerance=1.0), f"{case.referral.text!r}: {box} misses {target.box}"
    if not exclude:
        return
    # the named distractors (sharing colour or shape with the target) are mostly left out
    kept = [scene.objects[d].box.intersection(box) / scene.objects[d].box.area for d in case.referral.distractors]
    assert min(kept) < 0.5, f"{case.referral.text!r}: every distractor is kept ({kept})"


def _check_twin(case, text):
    """A text that tells twins apart (by a relation or a side) keeps its target and leaves the twin out."""
    assert case.referral.text == text  # the scene generator still draws the same world
    box = _crop(case, text=text)
    target = case.scene.objects[case.targets[0]]
    twin = next(o for i, o in enumerate(case.scene.objects) if o.kind == target.kind and i != case.targets[0])
    assert box.contains(target.box, tolerance=1.0), f"{text!r}: {box} misses {target.box}"
    assert twin.box.intersection(box) < 0.5 * twin.box.area, f"{text!r}: {box} keeps the twin"


@needs_models
@pytest.mark.slow
@pytest.mark.parametrize("case", E2E_CASES, ids=[c.referral.text for c in E2E_CASES])
def test_text_conditioned_crop_keeps_target_and_drops_a_distractor(case):
    assert case.referral.text == E2E_TEXT[case.scene.seed]  # the scene generator still draws the same world
    _check(case, _crop(case, text=case.referral.text))


@needs_models
@pytest.mark.slow
@pytest.mark.parametrize("case", [_BY_SEED[s] for s in E2E_IMAGE], ids=[E2E_TEXT[s] for s in E2E_IMAGE])
def test_image_conditioned_crop_keeps_target_and_drops_a_distractor(case):
    _check(case, _crop(case, query_image=case.query_image()))


@needs_models
@pytest.mark.slow
@pytest.mark.parametrize("seed", list(E2E_RELATION), ids=list(E2E_RELATION.values()))
def test_relation_text_keeps_the_target_and_leaves_out_its_twin(seed):
    _check_twin(_RELATIONS[seed], E2E_RELATION[seed])


# the one world CLIP (5000 steps, composed scenes) verifies the other blue cross here; the bench's position row
# (all-in 0.88 free) counts it. A known loss, kept visible rather than dropped from the table.
_POSITION_LOST = {1170037: "the world CLIP trained on composed scenes picks the twin (docs/experiments.md)"}


@needs_models
@pytest.mark.slow
@pytest.mark.parametrize("seed", [pytest.param(s, marks=pytest.mark.xfail(reason=_POSITION_LOST[s], strict=False))
                                  if s in _POSITION_LOST else s for s in E2E_POSITION],
                         ids=list(E2E_POSITION.values()))
def test_position_text_keeps_the_target_and_leaves_out_its_twin(seed):
    _check_twin(_POSITIONS[seed], E2E_POSITION[seed])


@pytest.mark.parametrize("case", SUBJECT_CASES, ids=[f"{c.scene.seed}-{c.referral.text}" for c in SUBJECT_CASES])
def test_subject_conditioned_crop_keeps_the_whole_subject_and_drops_a_distractor(case):
    # Subject intents need no model: the "subject" pipeline (quality + framing + isolation) must keep the
    # subject whole in every scene and leave out at least one look-alike.
    box = _crop(case, subject=case.subject())
    _check(case, box)
    assert box.area < case.scene.width * case.scene.height or case.target_box.area > 0.25 * box.area


@needs_models
def test_world_models_load_through_the_public_path():
    from intentcrop.models import load_model
    from intentcrop.models.clipcrop import ClipCropDecoder
    from intentcrop.models.clipcropping import ClipCropping
    from intentcrop.models.registry import detect_architecture

    own = {"clipcrop": ClipCropDecoder, "clipcropping": ClipCropping}  # our own folders, not transformers models
    archs = set()
    for p in BENCH_MODELS:
        if detect_architecture(p) in own:
            own[detect_architecture(p)].from_pretrained(p)
        else:
            archs.add(load_model(str(p), device="cpu").architecture)
    assert archs == {"owlvit", "clip", "llava"}  # llava: Cropper's VLM
    total = sum(p.stat().st_size for d in BENCH_MODELS for p in d.iterdir())
    assert total <= 15 * 2**20  # the budget for committed world models


@needs_models
def test_world_clip_tells_shapes_of_one_colour_apart():
    """CLIP verification asks which of the red things is the circle: the committed CLIP names the shape of a
    held-out object among the five (its colour given) for 0.98 of objects (the 1000-step model: 0.78)."""
    from transformers import CLIPModel, CLIPProcessor

    from intentcrop.train.clip_world import evaluate_shape_naming

    folder = str(DEFAULT_MODELS[1])
    result = evaluate_shape_naming(CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder),
                                   n_scenes=10)
    assert result["objects"] >= 40
    assert result["top1_accuracy"] >= 0.9


@pytest.mark.parametrize("ratio", [0.1, 0.25, 0.5, 1.0, 4 / 3, 16 / 9, 6.0, 10.0])
def test_ratio_can_hold_targets_matches_the_geometry(case, ratio):
    """A window of width/height = ratio inside the scene holds the targets iff it can be at least as wide and
    as tall as their box: max(tw, th * ratio) <= min(W, H * ratio)."""
    from intentcrop.world.bench import ratio_can_hold_targets

    t, s = case.target_box, case.scene
    feasible = max(t.width, t.height * ratio) <= min(s.width, s.height * ratio) + 1e-6
    assert ratio_can_hold_targets(case, ratio) is feasible


@needs_models
def test_zoom_in_refinement_sharpens_the_world_models_boxes():
    """On the fixed attribute scenes, the OWL-ViT's best box for the text, re-detected in windows around it
    (ground.refine), overlaps the object it outlines better and, grown by 10 %, holds it whole more often
    (measured: IoU 0.70 -> 0.76, held 5 -> 9 of 12)."""
    import numpy as np

    from intentcrop.core.context import Grounding
    from intentcrop.ground.config import GroundingConfig
    from intentcrop.ground.decide import refine
    from intentcrop.ground.refine import CloserLooks
    from intentcrop.models.owlvit import OwlVit

    detector, config = OwlVit(str(DEFAULT_MODELS[0]), device="cpu"), GroundingConfig()
    before, after = [], []
    for case in SUBJECT_CASES:
        scene, text = case.scene, case.referral.text
        matches = detector.detect_text(scene.image, [text])
        box = Box.from_xyxy(matches.xyxy[int(np.argmax(matches.scores))])
        truth = max(scene.objects, key=lambda o: box.iou(o.box)).box
        single = Grounding(boxes=[box], scores=[1.0], phrases=[text], region=box, strict=False, source="text")
        refined = refine(single, CloserLooks(detector, scene.image, config), config).boxes[0]
        before.append((box.iou(truth), box.expand(0.1).contains(truth, tolerance=0.5)))
        after.append((refined.iou(truth), refined.expand(0.1).contains(truth, tolerance=0.5)))
    (iou_before, held_before), (iou_after, held_after) = np.mean(before, axis=0), np.mean(after, axis=0)
    assert iou_after > iou_before + 0.03
    assert held_after >= held_before + 0.25


@needs_models
@pytest.mark.parametrize("options, grounded", [
    ({}, True),  # the defaults ground the yellow star
    ({"grounding": {"min_score": 0.999}}, False),  # per call: no match is likely enough, nothing is grounded
    ({"grounding.recheck": False, "grounding.refine_windows": []}, True),  # closer looks off: still found
])
def test_grounding_options_given_per_call_reach_the_grounder(options, grounded):
    scene = _BY_SEED[1100002].scene
    out = intentcrop.crop(scene.image, text="the yellow star", model=[str(p) for p in DEFAULT_MODELS], k=1,
                          options=options, return_output=True)
    assert out.options.grounding == DEFAULTS.grounding.merged(options.get("grounding", {})).merged(
        {k.split(".", 1)[1]: v for k, v in options.items() if k.startswith("grounding.")})
    assert (out.grounding.region is not None) == grounded


@needs_models
def test_clip_options_given_per_call_reach_the_scorer():
    """clip_exact_max_candidates decides exact vs pooled crop encoding: forcing exact changes the CLIP terms."""
    scene = _BY_SEED[1100002].scene
    models = [str(p) for p in DEFAULT_MODELS]
    pooled = intentcrop.crop(scene.image, text="the yellow star", model=models, k=1, return_output=True)
    exact = intentcrop.crop(scene.image, text="the yellow star", model=models, k=1, return_output=True,
                            options={"clip_exact_max_candidates": 100000, "clip_batch_size": 64})
    key = "clip_text.similarity"
    assert not np.allclose(pooled.candidates.breakdown[key], exact.candidates.breakdown[key])


# -- the method axis and the field's metrics ------------------------------------------------------------------


def test_annotator_ious_hand_checked():
    from types import SimpleNamespace

    from intentcrop.world.bench import annotator_metrics

    # annotators: the same box (IoU 1) and one half overlapping it (IoU 50/150 = 1/3)
    annotation = SimpleNamespace(annotator_boxes=np.array([[0, 0, 10, 10], [5, 0, 15, 10]], dtype=float))
    m = annotator_metrics(Box(0, 0, 10, 10), annotation)
    assert m["iou_max"] == pytest.approx(1.0) and m["iou_mean"] == pytest.approx((1 + 1 / 3) / 2)


def test_ranking_metrics_hand_checked():
    from intentcrop.world.bench import ranking_metrics

    mos = np.arange(12, dtype=float)  # crop 11 is the best, crop 0 the worst
    perfect = ranking_metrics(mos.copy(), mos)
    assert perfect == {"acc1/5": 1.0, "acc1/10": 1.0, "srcc": pytest.approx(1.0), "pcc": pytest.approx(1.0)}
    scores = mos.copy()
    scores[5] = 100.0  # the method's favourite is the 7th best: outside the top 5, inside the top 10
    m = ranking_metrics(scores, mos)
    # Spearman: crop 5 moves 6 ranks up, crops 6..11 one rank down each: sum d^2 = 36 + 6
    assert m["acc1/5"] == 0.0 and m["acc1/10"] == 1.0 and m["srcc"] == pytest.approx(1 - 6 * 42 / (12 * 143))
    assert all(math.isnan(v) for v in ranking_metrics(None, mos).values())


def test_bench_with_two_methods_adds_the_field_columns(capsys):
    """Two methods on the same 3 scenes (subject intents: no model needed, fast) give their own rows with every
    new column, and the reference's rows stay labelled 'conditioned'."""
    from intentcrop.cli.main import main
    from intentcrop.world.bench import FIELD_METRICS

    assert main(["bench", "world", "--scenes", "3", "--seed", "0", "--intent", "subject", "--method", "auto",
                 "--method", "default", "--quiet"]) == 0
    import re

    lines = capsys.readouterr().out.splitlines()
    cells = lambda line: re.split(r"\s{2,}", line.strip())  # noqa: E731 - 'tight box' holds one space
    head = cells(lines[0])
    assert head[-len(FIELD_METRICS):] == list(FIELD_METRICS)
    methods = [cells(line)[3] for line in lines[2:] if line.startswith("subject")]
    assert methods[:4] == ["conditioned", "default", "free-form", "tight box"]
    row = next(cells(line) for line in lines[2:] if line.startswith("subject") and " default " in line)
    values = dict(zip(head, row))
    for name in FIELD_METRICS:
        assert values[name] != "-", name
    assert 0.0 <= float(values["iou_mean"]) <= float(values["iou_max"]) <= 1.0
    assert -1.0 <= float(values["srcc"]) <= 1.0 and float(values["ms"]) > 0


def test_unknown_method_is_refused(capsys):
    from intentcrop.cli.main import main

    assert main(["bench", "world", "--scenes", "1", "--method", "nope", "--quiet"]) == 2
    assert "unknown method nope" in capsys.readouterr().err


@needs_models
@pytest.mark.parametrize("method, intent, expected", [
    ("auto", dict(text="the red circle"), ("owlvit", "clip")),  # the automatic choice: vlm, which takes both
    ("auto", dict(), ("owlvit",)),  # free-form: the default grounds with OWL-ViT, scores without CLIP
    ("vlm", dict(text="the red circle"), ("owlvit", "clip")),
    ("default", dict(text="the red circle"), ("owlvit",)),  # grounds with OWL-ViT, scores without CLIP
    ("subject", dict(subject=(10, 10, 40, 40)), ()),  # needs no model
    ("cropper", dict(text="the red circle"), ("clip", "vlm")),  # the VLM only goes to Cropper's proposer
    ("clipcropping", dict(text="the red circle"), ("owlvit", "clip", "clipcropping")),  # + its head
])
def test_each_method_gets_the_world_models_it_has_a_stage_for(method, intent, expected):
    """Giving a method a model it has no stage for is refused, and giving 'default' none would reach for a
    pretrained OWL-ViT it cannot download."""
    from intentcrop.api import make_intent
    from intentcrop.world.bench import _Method

    taken = _Method(method, tuple(str(m) for m in BENCH_MODELS), "cpu").models_for(make_intent(**intent))
    assert tuple(m.rsplit("/", 1)[-1] for m in taken) == expected
