"""ClipCrop fusion: the union of matches consistent with the best one."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.core.box import Box
from intentcrop.ground.fusion import (Match, fuse_matches, fuse_position, fuse_relation, phrase_count, relation_holds,
                                      top_boxes_per_query)
from intentcrop.ground.phrases import Position, Relation

BEST = Match(Box(100, 100, 200, 200), 0.8, "dog")


@pytest.mark.parametrize(
    "other, kept",
    [
        (Match(Box(210, 120, 290, 190), 0.6, "cat"), True),  # another phrase's best: named by the text
        (Match(Box(150, 150, 160, 160), 0.7, "ear"), False),  # much smaller than the best
        (Match(Box(600, 600, 700, 700), 0.5, "dog"), False),  # a second dog, clearly less likely: not asked for
        (Match(Box(600, 600, 700, 700), 0.7, "dog"), True),  # a second dog as likely as the best (tie)
        (Match(Box(120, 110, 230, 215), 0.3, "dog"), True),  # another outline of the best dog (same thing)
        (Match(Box(120, 110, 230, 215), 0.1, "dog"), False),  # ... but too weak to count
        (Match(Box(210, 120, 290, 190), 0.1, "cat"), False),  # weak relative to the best
        (Match(Box(101, 101, 200, 200), 0.7, "a dog"), False),  # the same box through another phrase
    ],
)
def test_fusion_keeps_consistent_matches(other, kept):
    grounding = fuse_matches([other, BEST], "text")
    assert grounding.boxes[0] == BEST.box and grounding.phrases[0] == "dog"
    assert (len(grounding.boxes) == 2) is kept
    assert grounding.region == Box.union_all(grounding.boxes)
    assert grounding.strict is False and grounding.source == "text"


def test_nothing_scores_enough():
    grounding = fuse_matches([Match(Box(0, 0, 10, 10), 0.01, "dog")], "text", min_score=0.05)
    assert grounding.region is None and grounding.boxes == []


def test_top_boxes_per_query_applies_nms():
    xyxy = np.array([[0, 0, 10, 10], [0, 0, 10, 11], [50, 50, 60, 60], [80, 80, 90, 90]], dtype=float)
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.5, 0.9], [0.4, 0.3]])
    assert top_boxes_per_query(xyxy, scores, per_query=2) == [[0, 2], [2, 3]]


@pytest.mark.parametrize("phrase, count", [("three green crosses", 3), ("2 dogs", 2), ("both cats", 2),
                                           ("the red circle", 1), ("a dog", 1), ("the 1000 stars", 1)])
def test_phrase_count(phrase, count):
    assert phrase_count(phrase) == count


def _m(xyxy, score, phrase):
    return Match(Box.from_xyxy(xyxy), score, phrase)


def test_counted_instances_are_kept_even_when_far_apart():
    far = [_m((0, 0, 20, 20), 0.9, "three stars"), _m((300, 300, 320, 320), 0.8, "three stars"),
           _m((600, 0, 620, 20), 0.7, "three stars"), _m((600, 600, 620, 620), 0.6, "three stars")]
    g = fuse_matches(far, "text")
    assert len(g.boxes) == 3 and g.region.to_xyxy() == (0, 0, 620, 320)  # the fourth is not asked for


def test_each_named_phrase_is_kept_but_a_far_second_instance_is_not():
    matches = [_m((0, 0, 20, 20), 0.9, "red circle"), _m((500, 500, 520, 520), 0.6, "blue square"),
               _m((900, 0, 920, 20), 0.6, "red circle")]  # a far, less likely second red circle: not meant
    g = fuse_matches(matches, "text")
    assert sorted(g.phrases) == ["blue square", "red circle"]
    assert g.region.to_xyxy() == (0, 0, 520, 520)


def test_left_out_matches_clear_of_the_region_are_reported_as_lookalikes():
    matches = [_m((0, 0, 20, 20), 0.9, "red circle"), _m((900, 0, 920, 20), 0.6, "red circle"),
               _m((2, 2, 18, 18), 0.1, "red circle"),  # a weak part of the kept match, not another thing
               _m((901, 1, 919, 19), 0.5, "red circle"),  # the same look-alike again: reported once
               _m((500, 500, 520, 520), 0.01, "red circle")]  # below min_score: not a match at all
    g = fuse_matches(matches, "text", min_score=0.05)
    assert [b.to_xyxy() for b in g.rejected] == [(900, 0, 920, 20)]
    assert g.rejected_scores == [pytest.approx(0.6)]
    assert g.to_dict()["rejected"] == [{"box": [900.0, 0.0, 920.0, 20.0], "score": 0.6}]


@pytest.mark.parametrize(
    "second_score, tie_score, kept",
    [(0.85, 0.8, True), (0.7, 0.8, False), (0.7, 0.75, True), (0.89, 1.01, False)],  # 1.01: ties never kept
)
def test_tie_score_decides_whether_an_equally_likely_second_instance_stays(second_score, tie_score, kept):
    matches = [_m((0, 0, 20, 20), 0.9, "red circle"), _m((500, 0, 520, 20), second_score, "red circle")]
    g = fuse_matches(matches, "text", tie_score=tie_score)
    assert (len(g.boxes) == 2) is kept
    assert (g.rejected == []) is kept  # what is not kept is a look-alike for the scorers


@pytest.mark.parametrize("same_thing_iou, kept", [(0.3, True), (0.5, False)])
def test_same_thing_iou_keeps_a_looser_outline_of_the_target(same_thing_iou, kept):
    # IoU of the two outlines: 400 / 1000 = 0.4
    matches = [_m((0, 0, 20, 20), 0.9, "star"), _m((0, 0, 20, 50), 0.4, "star")]
    g = fuse_matches(matches, "text", same_thing_iou=same_thing_iou, tie_score=1.01)
    assert (g.region.to_xyxy() == (0, 0, 20, 50)) is kept



@pytest.mark.parametrize(
    "relation, holds",
    [("left of", True), ("right of", False), ("above", True), ("below", False)],
)
def test_relation_holds_by_centres(relation, holds):
    subject, anchor = Box(0, 0, 20, 20), Box(100, 50, 140, 90)  # up and to the left of the anchor
    assert relation_holds(relation, subject, anchor) is holds


LEFT_TWIN, RIGHT_TWIN, SQUARE = (0, 100, 30, 130), (300, 100, 330, 130), (150, 100, 180, 130)


@pytest.mark.parametrize(
    "relation, left_score, right_score, chosen",
    [
        ("left of", 0.3, 0.6, LEFT_TWIN),  # the relation overrules the likelier twin
        ("right of", 0.3, 0.6, RIGHT_TWIN),
        ("left of", 0.02, 0.6, LEFT_TWIN),  # a twin scored far below still counts (GroundingConfig.relation_min_score)
        ("above", 0.3, 0.6, RIGHT_TWIN),  # no twin is above the square: the relation cannot decide, best wins
    ],
)
def test_fuse_relation_keeps_the_subject_the_relation_points_at(relation, left_score, right_score, chosen):
    matches = [_m(LEFT_TWIN, left_score, "red circle"), _m(RIGHT_TWIN, right_score, "red circle"),
               _m(SQUARE, 0.5, "blue square")]
    g = fuse_relation(matches, Relation("red circle", relation, "blue square"), "text", tie_score=1.01)  # no ties
    assert g.region.to_xyxy() == chosen  # the anchor is not part of the region
    other = RIGHT_TWIN if chosen == LEFT_TWIN else LEFT_TWIN
    assert [b.to_xyxy() for b in g.rejected] == [other]  # the twin it ruled out is a look-alike to leave out
    decided = relation != "above"  # (the last row: the best match decided)
    assert g.selection == (f"the 'red circle' match {relation} a 'blue square' match, of 2 'red circle' matches"
                           if decided else "")


def test_fuse_relation_keeps_other_outlines_of_the_chosen_subject():
    matches = [_m(LEFT_TWIN, 0.3, "red circle"), _m((0, 100, 40, 135), 0.1, "red circle"),
               _m(RIGHT_TWIN, 0.6, "red circle"), _m(SQUARE, 0.5, "blue square")]
    g = fuse_relation(matches, Relation("red circle", "left of", "blue square"), "text")
    assert g.region.to_xyxy() == (0, 100, 40, 135)


def test_fuse_relation_without_an_anchor_falls_back_to_the_subjects_fusion():
    matches = [_m(LEFT_TWIN, 0.3, "red circle"), _m(RIGHT_TWIN, 0.6, "red circle")]
    g = fuse_relation(matches, Relation("red circle", "left of", "blue square"), "text", tie_score=1.01)
    assert g.region.to_xyxy() == RIGHT_TWIN
    assert g.selection == ""  # the relation decided nothing: the best match did


LOW_TWIN = (150, 200, 180, 230)


@pytest.mark.parametrize(
    "side, scores, chosen",
    [
        ("left", (0.3, 0.6, 0.5), LEFT_TWIN),  # the side overrules the likelier twin
        ("right", (0.3, 0.6, 0.5), RIGHT_TWIN),
        ("bottom", (0.3, 0.6, 0.5), LOW_TWIN),
        ("left", (0.05, 0.6, 0.5), LOW_TWIN),  # under min_relative_score of the best: a stray box; next leftmost
        ("left", (0.1, 0.6, 0.5), LEFT_TWIN),
        # corners: furthest along the diagonal (LOW_TWIN is 100 px lower than LEFT_TWIN but 150 px further right)
        ("bottom left", (0.3, 0.6, 0.5), LEFT_TWIN),
        ("bottom left", (0.3, 0.6, 0.5, 0.4), (80, 200, 110, 230)),
        ("top right", (0.3, 0.6, 0.5), RIGHT_TWIN),
    ],
)
def test_fuse_position_keeps_the_subject_furthest_to_the_side(side, scores, chosen):
    boxes = (LEFT_TWIN, RIGHT_TWIN, LOW_TWIN, (80, 200, 110, 230))[:len(scores)]
    matches = [_m(b, s, "red circle") for b, s in zip(boxes, scores)]
    g = fuse_position(matches, Position("red circle", side), "text")
    assert g.region.to_xyxy() == chosen
    assert g.selection.startswith(f"the 'red circle' match furthest toward the {side}, of ")
    assert sorted(b.to_xyxy() for b in g.rejected) == sorted(b for b in boxes if b != chosen)


def test_fuse_position_keeps_other_outlines_and_grounds_nothing_below_the_minimum():
    matches = [_m(LEFT_TWIN, 0.3, "red circle"), _m((0, 100, 40, 135), 0.1, "red circle"),
               _m(RIGHT_TWIN, 0.6, "red circle")]
    assert fuse_position(matches, Position("red circle", "left"), "text").region.to_xyxy() == (0, 100, 40, 135)
    weak = [_m(LEFT_TWIN, 0.01, "red circle")]
    assert fuse_position(weak, Position("red circle", "left"), "text").region is None


@pytest.mark.parametrize(
    "matches, readings",
    [
        # a tie between two red circles: one reading per circle, best first
        ([_m((0, 0, 20, 20), 0.9, "red circle"), _m((500, 0, 520, 20), 0.85, "red circle")],
         [(0, 0, 20, 20), (500, 0, 520, 20)]),
        # a second outline of the same circle is not a second reading
        ([_m((0, 0, 20, 20), 0.9, "red circle"), _m((0, 0, 20, 30), 0.85, "red circle")], []),
        # no tie: one thing kept, nothing to choose between
        ([_m((0, 0, 20, 20), 0.9, "red circle"), _m((500, 0, 520, 20), 0.3, "red circle")], []),
        # a text that names two things wants both: not ambiguous
        ([_m((0, 0, 20, 20), 0.9, "two red circles"), _m((500, 0, 520, 20), 0.85, "two red circles")], []),
    ],
)
def test_a_tie_on_a_text_naming_one_thing_records_one_reading_per_thing(matches, readings):
    g = fuse_matches(matches, "text")
    assert [a.region.to_xyxy() for a in g.alternatives] == readings
    assert (g.selection != "") == bool(readings)  # a tie says so: the region keeps both things
    assert g.to_dict()["selection"] == g.selection
    for a in g.alternatives:  # each reading leaves the other thing out as a look-alike
        others = [r for r in readings if r != a.region.to_xyxy()]
        assert [b.to_xyxy() for b in a.rejected] == others
