"""The world annotator: its rules prefer what a photographer would, on fixed scenes; annotators spread as people do."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.core.box import Box
from intentcrop.world.annotate import (ANNOTATORS, MAX_ANNOTATORS, MIN_ANNOTATORS, annotate, annotate_case,
                                       gaicd_anchors, score_crops)
from intentcrop.world.referring import benchmark_cases
from intentcrop.world.scenes import generate_scene

# Fixed benchmark scenes (seed 0) with one target and a distractor next to it (checked in `_fixed`).
CASES = {c.scene.seed: c for c in benchmark_cases(12, seed=0, kinds=("attribute",))}
FIXED = [s for s, c in sorted(CASES.items()) if c.referral.distractors][:4]


def _roomy(case) -> Box:
    """The target's box with 40 % room on each side (clipped): holds it whole with room."""
    return case.target_box.expand(0.4).clip(case.scene.width, case.scene.height).round()


def _mos(case, box: Box, ratio=None) -> float:
    mos, _ = score_crops(case.scene, case.targets, np.array([box.to_list()]), ratio, case.referral.distractors)
    return float(mos[0])


@pytest.mark.parametrize("seed", FIXED)
@pytest.mark.parametrize("worse", ["cuts the target", "holds a distractor", "tight"])
def test_room_around_the_whole_target_beats_a_worse_crop(seed, worse):
    case = CASES[seed]
    t, scene = case.target_box, case.scene
    if worse == "cuts the target":
        box = Box(t.x1 + 0.4 * t.width, t.y1 - 0.4 * t.height, t.x2 + 0.4 * t.width, t.y2 + 0.4 * t.height)
    elif worse == "holds a distractor":
        box = t.union(scene.objects[case.referral.distractors[0]].box).expand(0.1)
    else:
        box = t
    box = box.clip(scene.width, scene.height).round()
    assert _mos(case, _roomy(case)) > _mos(case, box) + 0.2, worse


def test_mos_range_determinism_and_the_best_crop_holds_the_target():
    case = CASES[FIXED[0]]
    a, b = annotate_case(case, None), annotate_case(case, None)
    np.testing.assert_array_equal(a.mos, b.mos)
    assert a.annotators == b.annotators
    assert a.mos.min() >= 1.0 and a.mos.max() <= 5.0 and len(a.mos) == len(a.crops_xyxy) == len(a.kinds)
    best = Box.from_xyxy(a.crops_xyxy[int(np.argmax(a.mos))])
    assert best.contains(case.target_box, tolerance=1.0)
    assert set(a.kinds) == {"grid", "window"}


@pytest.mark.parametrize("ratio", [None, 1.0, 16 / 9])
def test_annotators_choose_good_candidates(ratio):
    case = CASES[FIXED[1]]
    a = annotate_case(case, ratio)
    assert MIN_ANNOTATORS <= len(a.annotators) <= MAX_ANNOTATORS
    names = [p["name"] for p in a.annotators]
    assert len(set(names)) == len(names) and set(names) <= {x.name for x in ANNOTATORS}
    candidates = {tuple(int(v) for v in row) for row in a.crops_xyxy}
    for person in a.annotators:
        assert tuple(person["box"]) in candidates
        assert person["mos"] >= a.mos.max() - 0.6 - 1e-9
        if ratio is not None:
            x1, y1, x2, y2 = person["box"]
            assert abs((x2 - x1) / (y2 - y1) - ratio) / ratio < 0.02


def test_tight_and_roomy_annotators_differ_where_the_scene_allows():
    """Over the fixed scenes the 'tight' annotator's crops are smaller than the 'roomy' one's."""
    tight, roomy = [], []
    for case in CASES.values():
        people = {p["name"]: Box.from_xyxy(p["box"]).area for p in annotate_case(case, None).annotators}
        if "tight" in people and "roomy" in people:
            tight.append(people["tight"])
            roomy.append(people["roomy"])
    assert tight and np.mean(tight) < np.mean(roomy)


def test_free_form_taste_keeps_every_object_whole():
    scene = generate_scene(4, n_objects=3)
    whole = Box.union_all(o.box for o in scene.objects).expand(0.05).clip(scene.width, scene.height).round()
    cut = scene.objects[0].box
    cutting = Box(cut.center[0], 0, scene.width, scene.height)  # through the first object
    mos, factors = score_crops(scene, list(range(len(scene.objects))), np.array([whole.to_list(), cutting.to_list()]))
    assert mos[0] > mos[1]
    assert factors["whole"][0] == 1.0 and factors["whole"][1] < 1.0
    a = annotate(scene)
    assert a.kinds == ["grid"] * len(a.mos)  # free-form: GAICD's anchors only


@pytest.mark.parametrize("size", [(1024, 683), (1024, 939), (240, 320), (192, 192)])
def test_gaicd_anchors_number_about_ninety(size):
    boxes = gaicd_anchors(*size)
    assert 75 <= len(boxes) <= 95
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    assert (area >= 0.5 * size[0] * size[1] - 1).all()
