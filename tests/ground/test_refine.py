"""Zoom-in refinement geometry: patch spans, windows, picking the re-detection, rebuilding the grounding."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.core.box import Box
from intentcrop.core.context import Grounding
from intentcrop.ground.refine import patch_span, pick_redetection, refine_grounding, refine_windows, union_of


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
    assert pick_redetection(xyxy, probs, original, min_iou=0.3) == Box(42, 41, 61, 59)


@pytest.mark.parametrize("xyxy", [np.array([[80, 80, 100, 100]]), np.zeros((0, 4))])
def test_no_redetection_on_the_object_gives_none(xyxy):
    assert pick_redetection(xyxy, np.full(len(xyxy), 0.9), Box(40, 40, 60, 60), min_iou=0.3) is None


def test_the_refined_box_is_the_union_of_the_redetections_or_the_original():
    original = Box(40, 40, 60, 60)
    assert union_of([Box(42, 38, 58, 61), None, Box(41, 40, 62, 59)], original) == Box(41, 38, 62, 61)
    assert union_of([None, None], original) == original


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
