"""Referring texts name exactly their targets; query crops and subject masks match them."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.world.referring import (KINDS, benchmark_cases, position_cases, position_referrals, query_crop,
                                        referrals, relation_cases, relation_referrals, subject_mask, tight_box)
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


def _target_and_twin(scene, referral, subject):
    """The referral's one target and the one other object that `subject` also names."""
    (target,) = referral.targets
    twins = _matches(scene, "the " + subject)
    assert len(twins) == 2 and target in twins, referral.text
    return target, twins[0] if twins[1] == target else twins[1]


@pytest.mark.parametrize("seed", range(30))
def test_relation_texts_pick_the_target_and_rule_out_its_twin(seed):
    from intentcrop.ground.fusion import relation_holds
    from intentcrop.ground.phrases import parse_relation

    scene = generate_scene(seed, n_objects=7)
    for r in relation_referrals(scene):
        relation = parse_relation(r.text)
        assert relation is not None, r.text
        target, twin = _target_and_twin(scene, r, relation.subject)
        anchors = _matches(scene, "the " + relation.anchor)
        assert len(anchors) == 1, r.text
        anchor = scene.objects[anchors[0]].box
        assert relation_holds(relation.relation, scene.objects[target].box, anchor), r.text
        assert not relation_holds(relation.relation, scene.objects[twin].box, anchor), r.text


def test_relation_cases_are_seeded_and_apart_from_the_other_cases():
    a, b = relation_cases(5, seed=3), relation_cases(5, seed=3)
    assert [(c.scene.seed, c.referral.text) for c in a] == [(c.scene.seed, c.referral.text) for c in b]
    assert all(c.referral.kind == "relation" for c in a)
    others = {c.scene.seed for c in benchmark_cases(20, seed=3)}
    assert not others & {c.scene.seed for c in a}


@pytest.mark.parametrize("seed", range(30))
def test_position_texts_pick_the_twin_furthest_to_their_side(seed):
    from intentcrop.ground.phrases import Position, parse_position

    scene = generate_scene(seed, n_objects=7)
    for r in position_referrals(scene):
        position = parse_position(r.text)
        assert position is not None, r.text
        target, twin = _target_and_twin(scene, r, position.subject)
        for side in position.sides:  # a corner: further to both of its sides
            along = [Position(position.subject, side).toward(scene.objects[i].box.center) for i in (target, twin)]
            assert along[0] > along[1], r.text


def test_position_cases_are_seeded_and_apart_from_the_other_cases():
    a, b = position_cases(5, seed=3), position_cases(5, seed=3)
    assert [(c.scene.seed, c.referral.text) for c in a] == [(c.scene.seed, c.referral.text) for c in b]
    assert all(c.referral.kind == "position" for c in a)
    others = {c.scene.seed for c in benchmark_cases(20, seed=3)} | {c.scene.seed for c in relation_cases(5, seed=3)}
    assert not others & {c.scene.seed for c in a}
