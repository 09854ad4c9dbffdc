"""Zoom-in refinement geometry and rules: patch spans, windows, picking the re-detection, the closer look,
rebuilding the grounding, re-checking contenders."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.core.box import Box
from intentcrop.core.context import Grounding
from intentcrop.ground.fusion import Match
from intentcrop.ground.refine import (CloserLook, closer_look, patch_span, pick_redetection, recheck_contenders,
                                     refine_grounding, refine_windows)


@pytest.mark.parametrize("box, size, grid, padded, expected", [
    (Box(0, 0, 100, 50), (400, 200), 16, False, 4.0),     # stretched: 100/400 of the width = 4 of 16 patches
    (Box(0, 0, 50, 100), (400, 200), 16, False, 8.0),     # the height is the longer share: 100/200
    (Box(0, 0, 50, 100), (400, 200), 16, True, 4.0),      # padded to 400 x 400: 100/400
    (Box(0, 0, 400, 200), (400, 200), 24, False, 24.0),   # the whole image spans the whole grid
])
def test_patch_span(box, size, grid, padded, expected):
    assert patch_span(box, *size, grid, padded) == pytest.approx(expected)


@pytest.mark.parametrize("box, margins, size, expected", [
    (Box(40, 40, 60, 60), (0.25, 0.5), (200, 100), [(35, 35, 65, 65), (30, 30, 70, 70)]),
    (Box(0, 0, 20, 20), (0.5,), (200, 100), [(0, 0, 30, 30)]),      # clipped to the image
    (Box(10, 10, 11, 11), (0.0,), (200, 100), []),                   # 1 px: nothing to look at
])
def test_refine_windows(box, margins, size, expected):
    assert [w.as_int_tuple() for w in refine_windows(box, margins, *size)] == expected


def test_the_redetection_is_the_most_likely_box_on_the_same_object():
    original = Box(40, 40, 60, 60)
    xyxy = np.array([[80, 80, 100, 100],    # a neighbour, most likely of all: not the same object
                     [42, 41, 61, 59],      # the object, sharper
                     [38, 38, 62, 62]])     # the object again, less likely
    probs = np.array([0.9, 0.6, 0.3])
    assert pick_redetection(xyxy, probs, original, min_iou=0.3) == (Box(42, 41, 61, 59), pytest.approx(0.6))


@pytest.mark.parametrize("xyxy", [np.array([[80, 80, 100, 100]]), np.zeros((0, 4))])
def test_no_redetection_on_the_object_gives_none(xyxy):
    assert pick_redetection(xyxy, np.full(len(xyxy), 0.9), Box(40, 40, 60, 60), min_iou=0.3) is None


def test_the_closer_look_is_the_union_of_the_redetections_and_their_mean_probability():
    original = Box(40, 40, 60, 60)
    look = closer_look([(Box(42, 38, 58, 61), 0.6), None, (Box(41, 40, 62, 59), 0.3)], original)
    assert look.box == Box(41, 38, 62, 61) and look.score == pytest.approx(0.3)  # the empty window counts 0
    assert closer_look([None, None], original) == CloserLook(original, 0.0)
    assert closer_look([], original) == CloserLook(original, 0.0)


def test_refine_grounding_replaces_kept_boxes_and_region_but_not_look_alikes():
    a, b, lookalike = Box(10, 10, 20, 20), Box(50, 10, 60, 20), Box(100, 10, 110, 20)
    alternative = Grounding(boxes=[a], scores=[0.9], phrases=["dog"], region=a, strict=False, source="text")
    grounding = Grounding(boxes=[a, b], scores=[0.9, 0.8], phrases=["dog", "dog"], region=a.union(b), strict=False,
                          source="text", rejected=[lookalike], rejected_scores=[0.3], alternatives=[alternative],
                          selection="a tie")
    calls = []

    def grow(box, phrase):
        calls.append((box, phrase))
        return box.expand(0.1)

    out = refine_grounding(grounding, grow)
    assert out.boxes == [a.expand(0.1), b.expand(0.1)] and out.region == a.expand(0.1).union(b.expand(0.1))
    assert out.alternatives[0].boxes == [a.expand(0.1)] and out.alternatives[0].region == a.expand(0.1)
    assert out.rejected == [lookalike] and out.scores == grounding.scores and out.selection == "a tie"
    assert calls == [(a, "dog"), (b, "dog")]  # the alternative's box was refined once, with the whole's
    assert grounding.boxes == [a, b]  # the input is left as it was


def test_an_empty_grounding_is_returned_as_is():
    empty = Grounding(boxes=[], scores=[], phrases=[], region=None, strict=False, source="text")
    assert refine_grounding(empty, lambda box, phrase: pytest.fail("nothing to refine")) is empty


# -- re-checking contenders -------------------------------------------------------------------------------------
CROSS, CIRCLE, OUTLINE, FAR = Box(10, 10, 30, 30), Box(60, 10, 80, 30), Box(8, 8, 34, 32), Box(150, 10, 170, 30)


def _looks(table):
    """A `look` that answers from {box: CloserLook or None} and records what it was asked."""
    asked = []

    def look(matches):
        asked.append([m.box for m in matches])
        return [table[m.box] for m in matches]

    return look, asked


def test_the_closer_look_decides_between_contenders():
    matches = [Match(CIRCLE, 0.30, "red cross"), Match(CROSS, 0.26, "red cross"), Match(FAR, 0.05, "red cross")]
    look, asked = _looks({CIRCLE: CloserLook(CIRCLE, 0.3), CROSS: CloserLook(CROSS, 0.6)})
    out = recheck_contenders(matches, look, min_relative=0.7, same_thing_iou=0.3)
    assert asked == [[CIRCLE, CROSS]]  # the weak match is no contender and is not looked at
    by_box = {m.box: m.score for m in out}
    # the closer look's best keeps the first look's best score, the other scales with its closer-look probability
    assert by_box[CROSS] == pytest.approx(0.30) and by_box[CIRCLE] == pytest.approx(0.15)
    assert by_box[FAR] == 0.05 and [m.phrase for m in out] == ["red cross"] * 3
    assert [m.box for m in matches] == [CIRCLE, CROSS, FAR] and matches[0].score == 0.30  # input left alone


@pytest.mark.parametrize("matches, table", [
    ([], {}),                                                                     # nothing matched
    ([Match(CROSS, 0.3, "x"), Match(CIRCLE, 0.1, "x")], {}),                      # no second contender
    ([Match(CROSS, 0.3, "x"), Match(OUTLINE, 0.29, "x")], {}),                    # contenders outline one thing
    ([Match(CROSS, 0.3, "x"), Match(CIRCLE, 0.29, "x")], {CROSS: None, CIRCLE: CloserLook(CIRCLE, 0.5)}),  # big box
    ([Match(CROSS, 0.3, "x"), Match(CIRCLE, 0.29, "x")],
     {CROSS: CloserLook(CROSS, 0.0), CIRCLE: CloserLook(CIRCLE, 0.0)}),          # found by no window
])
def test_no_decision_when_nothing_to_decide_or_the_closer_look_cannot(matches, table):
    look, _ = _looks(table)
    assert recheck_contenders(matches, look, min_relative=0.7, same_thing_iou=0.3) is None
