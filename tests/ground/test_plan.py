"""plan(intent, config): every text and query is parsed once, into what to detect and how to decide."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.intent import Intent
from intentcrop.errors import IntentCropError
from intentcrop.ground.config import GroundingConfig
from intentcrop.ground.phrases import Position, Relation
from intentcrop.ground.plan import merge_same_referent, plan


@pytest.mark.parametrize("text, kind, queries, phrases, verified, recheck", [
    # one thing named: CLIP verifies it, and close contenders get a closer look
    ("dog", "plain", ("dog",), ["dog"], (True,), True),
    # a phrase that is the whole text is the same query: its column folds into the text's
    ("the red circle", "plain", ("the red circle", "red circle"), ["the red circle"], (True,), True),
    # several things: the full text is not verified, nor a phrase naming several; nothing to recheck
    ("the woman and the three dogs", "plain", ("the woman and the three dogs", "woman", "three dogs"),
     ["the woman and the three dogs", "woman", "three dogs"], (False, True, False), False),
    # a size word: up close every thing is big, so the first look stands
    ("the small red cross", "plain", ("the small red cross", "small red cross"), ["the small red cross"], (True,),
     False),
    # a relation asks for subject and anchor; a position for the subject alone; neither is rechecked
    ("the red circle left of the blue square", "relation", ("red circle", "blue square"),
     ["red circle", "blue square"], (True, True), False),
    ("two dogs left of the car", "relation", ("two dogs", "car"), ["two dogs", "car"], (False, True), False),
    ("the dog on the left", "position", ("dog",), ["dog"], (True,), False),
    ("the leftmost star", "position", ("star",), ["star"], (True,), False),
])
def test_a_text_is_planned_once(text, kind, queries, phrases, verified, recheck):
    planned = plan(Intent(text=text))
    assert (planned.kind, planned.queries, planned.phrases, planned.verified, planned.recheck) == (
        kind, queries, phrases, verified, recheck)
    assert planned.source == "text"
    assert len(planned.groups) == len(phrases) and sorted(i for g in planned.groups for i in g) == list(
        range(len(queries)))


def test_a_plan_carries_the_relation_or_the_position_it_parsed():
    relation = plan(Intent(text="the red circle left of the blue square")).relation
    assert relation == Relation("red circle", "left of", "blue square")
    assert plan(Intent(text="the dog on the left")).position == Position("dog", "left")
    assert plan(Intent(text="dog")).relation is None and plan(Intent(text="dog")).position is None


def test_query_image_subject_and_nothing():
    query = Image.new("RGB", (8, 8))
    image = plan(Intent(query_image=query))
    assert (image.kind, image.queries, image.verified, image.recheck, image.source) == (
        "image", ("query image",), (True,), True, "query_image")
    assert image.query_image is query
    assert plan(Intent(text="dog", query_image=query)).kind == "plain"  # a text comes first
    subject = plan(Intent(subject=(10, 10, 50, 50)))
    assert (subject.kind, subject.queries, subject.source) == ("subject", (), "subject")
    with pytest.raises(IntentCropError, match="nothing to ground"):
        plan(Intent())


@pytest.mark.parametrize("config", [GroundingConfig(recheck=False), GroundingConfig(refine_windows=())])
def test_no_closer_look_without_recheck_or_its_windows(config):
    assert plan(Intent(text="dog"), config).recheck is False
    assert plan(Intent(query_image=Image.new("RGB", (8, 8))), config).recheck is False


def test_max_phrases_bounds_the_noun_phrases_queried():
    text = "the woman and the three dogs"
    assert plan(Intent(text=text), GroundingConfig(max_phrases=1)).queries == (text, "woman")


def test_a_phrase_that_is_the_whole_text_is_read_as_the_same_query():
    probs = np.array([[0.8, 0.2, 0.5], [0.2, 0.6, 0.1]])  # tokens x ("the red circle", "red circle", "boat")
    queries, merged = merge_same_referent(["the red circle", "red circle", "boat"], probs)
    assert queries == ["the red circle", "boat"]
    np.testing.assert_allclose(merged, [[0.5, 0.5], [0.4, 0.1]])
    # nothing to fold: unchanged
    same_q, same_p = merge_same_referent(["the red circle and the boat", "red circle", "boat"], probs)
    assert same_q == ["the red circle and the boat", "red circle", "boat"] and same_p is probs
