"""Referring texts name exactly their targets; query crops and subject masks match them."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.world.referring import KINDS, benchmark_cases, query_crop, referrals, subject_mask, tight_box
from intentcrop.world.scenes import generate_scene
from intentcrop.world.vocabulary import NUMBERS, PLURALS, SIZES


def _matches(scene, text):
    """The objects a text names, read back from its words (an independent parser of the generator's texts)."""
    words = text.replace("the ", "").split()
    size = next((w for w in words if w in SIZES), None)
    colour = next((w for w in words if w in ("red", "green", "blue", "yellow", "purple")), None)
    shape = next((s for s, p in PLURALS.items() if words[-1] in (s, p)), None)
    return scene.matching(colour, shape, size)


@pytest.mark.parametrize("seed", range(20))
def test_texts_name_exactly_their_targets(seed):
    scene = generate_scene(seed)
    for r in referrals(scene):
        assert r.kind in KINDS
        parts = r.text.split(" and ") if r.kind == "group" else [r.text]
        named = sorted(i for part in parts for i in _matches(scene, part))
        assert named == sorted(r.targets), r.text
        if r.kind == "count":
            assert r.text.split()[0] == NUMBERS[len(r.targets)]
        assert not set(r.distractors) & set(r.targets)
        for d in r.distractors:  # each named distractor shares an attribute with a target
            o = scene.objects[d]
            assert any(o.colour == scene.objects[t].colour or o.shape == scene.objects[t].shape for t in r.targets)


def test_attribute_texts_need_both_attributes():
    for seed in range(20):
        scene = generate_scene(seed)
        for r in referrals(scene):
            if r.kind == "attribute":
                o = scene.objects[r.targets[0]]
                assert len(scene.matching(colour=o.colour)) > 1 or len(scene.matching(shape=o.shape)) > 1


def test_benchmark_cases_are_seeded_and_cover_every_kind():
    a, b = benchmark_cases(12, seed=3), benchmark_cases(12, seed=3)
    assert [(c.scene.seed, c.referral.text) for c in a] == [(c.scene.seed, c.referral.text) for c in b]
    assert {c.referral.kind for c in a} == set(KINDS)
    assert all(3 <= len(c.scene.objects) for c in a)


def test_query_crop_and_subject_mask_hold_the_target():
    case = next(c for c in benchmark_cases(8) if c.referral.kind == "attribute")
    scene, t = case.scene, case.targets[0]
    crop = query_crop(scene, t, margin=0.2)
    box = scene.objects[t].box
    assert crop.size[0] >= box.width and crop.size[1] >= box.height
    mask = subject_mask(scene, case.targets)
    assert mask.shape == (scene.height, scene.width) and mask.dtype == np.uint8
    assert np.array_equal(mask > 0, scene.objects[t].mask)
    assert tight_box(scene, case.targets) == box
