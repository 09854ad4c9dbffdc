"""Text -> grounding queries: the full text first, then its noun phrases."""

from __future__ import annotations

import pytest

from intentcrop.ground import phrases
from intentcrop.ground.phrases import grounding_queries, noun_phrases, phrase_backend, rule_noun_phrases, same_referent


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the woman and the three dogs on the boat", ["woman", "three dogs", "boat"]),
        ("keep the red car", ["red car"]),
        ("a lighthouse at sunset, with waves", ["lighthouse", "sunset", "waves"]),
        ("it", []),
    ],
)
def test_rule_chunker(text, expected):
    assert rule_noun_phrases(text) == expected


@pytest.mark.parametrize(
    "text, must_contain",
    [("the woman and the three dogs on the boat", {"woman", "boat"}), ("a red car near the old house", {"red car"})],
)
def test_noun_phrases_with_active_backend(text, must_contain):
    found = noun_phrases(text)
    assert must_contain <= set(found), (phrase_backend(), found)
    assert not any(p.split()[0].lower() in {"the", "a", "an"} for p in found)  # determiners stripped


def test_queries_start_with_full_text_and_are_capped():
    queries = grounding_queries("  the woman   and the dog on the boat ", max_phrases=2)
    assert queries[0] == "the woman and the dog on the boat"
    assert len(queries) == 3 and len(set(queries)) == 3


def test_single_noun_text_is_not_repeated():
    assert grounding_queries("dog") == ["dog"]


def test_blank_fallback(monkeypatch):
    spacy = pytest.importorskip("spacy")
    monkeypatch.setattr(phrases, "_nlp", lambda: (spacy.blank("en"), "spacy-blank+rules"))
    assert noun_phrases("the woman and the three dogs on the boat") == ["woman", "three dogs", "boat"]


@pytest.mark.parametrize("text, phrase, same", [
    ("the red circle", "red circle", True),
    ("The red circle.", "red circle", True),
    ("a red circle", "the red circle", True),
    ("the red circle and the blue square", "red circle", False),
    ("the small red circle", "red circle", False),
])
def test_same_referent(text, phrase, same):
    assert same_referent(text, phrase) is same


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the red circle left of the blue square", ("red circle", "left of", "blue square")),
        ("The red circle to the left of the blue square.", ("red circle", "left of", "blue square")),
        ("the dog that is under the table", ("dog", "below", "table")),
        ("a lamp over the sofa", ("lamp", "above", "sofa")),
        ("the star on top of the green cross", ("star", "above", "green cross")),
        ("the yellow star right of the purple triangle", ("yellow star", "right of", "purple triangle")),
        ("the woman and the three dogs on the boat", None),  # "on" locates, it does not pick one of several
        ("the woman and the dog left of the car", None),  # several subjects: the plain union decides
        ("a cat above", None),  # no anchor
        ("the dog on the left of the picture", None),  # a place in the picture: parse_position
        ("the red circle", None),
    ],
)
def test_parse_relation(text, expected):
    relation = phrases.parse_relation(text)
    if expected is None:
        assert relation is None
    else:
        assert (relation.subject, relation.relation, relation.anchor) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the red circle on the left", ("red circle", "left")),
        ("The dog on the right side of the picture.", ("dog", "right")),
        ("the cat that is at the top", ("cat", "top")),
        ("the man at the bottom of the image", ("man", "bottom")),
        ("the leftmost red circle", ("red circle", "left")),
        ("the uppermost star", ("star", "top")),
        ("the dog on the left of the picture", ("dog", "left")),  # the picture is no anchor
        ("the red circle in the top left corner", ("red circle", "top left")),
        ("The star in the upper right.", ("star", "top right")),
        ("the man at the bottom left of the image", ("man", "bottom left")),
        ("the dog in the lower right-hand corner of the photo", ("dog", "bottom right")),
        ("the top-left red circle", ("red circle", "top left")),
        ("the lower left star", ("star", "bottom left")),
        ("the top left corner", None),  # a place, not a thing in it
        ("the top dog", None),  # one vertical word alone picks no side
        ("the red circle on the left of the blue square", None),  # a relation to an anchor, not a side
        ("the cat and the dog on the left", None),  # several subjects: the plain union decides
        ("on the left", None),  # no subject
        ("the left hand", None),  # 'left' as a plain adjective picks no side of the picture
        ("the red circle", None),
    ],
)
def test_parse_position(text, expected):
    position = phrases.parse_position(text)
    if expected is None:
        assert position is None
    else:
        assert (position.subject, position.side) == expected


@pytest.mark.parametrize("text, expected", [
    ("the purple cross", ["purple cross"]),  # en_core_web_sm tags 'cross' a verb here
    ("the small purple cross.", ["small purple cross"]),
    ("the red star and the purple cross", ["red star", "purple cross"]),
    ("the big brown dog", ["big brown dog"]),
])
def test_noun_phrases_of_short_fragments(text, expected):
    assert noun_phrases(text) == expected, phrase_backend()


# (words, tags, pos, deps, heads) as en_core_web_sm parses them
_PURPLE_CROSS = (["the", "purple", "cross"], ["DT", "NN", "VBP"], ["DET", "NOUN", "VERB"], ["det", "nsubj", "ROOT"],
                 [1, 2, 2])
_SMALL_PURPLE_CROSS = (["the", "small", "purple", "cross"], ["DT", "JJ", "NN", "JJ"], ["DET", "ADJ", "NOUN", "ADJ"],
                       ["det", "amod", "nsubj", "ROOT"], [2, 2, 3, 3])
_STAR_AND_CROSS = (["the", "red", "star", "and", "the", "purple", "cross"],
                   ["DT", "NNP", "NNP", "CC", "DT", "NN", "VBP"],
                   ["DET", "PROPN", "PROPN", "CCONJ", "DET", "NOUN", "VERB"],
                   ["det", "amod", "nsubj", "cc", "det", "conj", "ROOT"], [2, 2, 6, 2, 5, 2, 6])
_DOG_RUNNING = (["the", "dog", "running"], ["DT", "NN", "VBG"], ["DET", "NOUN", "VERB"], ["det", "nsubj", "ROOT"],
                [1, 2, 2])
_MAN_RIDING_HORSE = (["a", "man", "riding", "a", "horse"], ["DT", "NN", "VBG", "DT", "NN"],
                     ["DET", "NOUN", "VERB", "DET", "NOUN"], ["det", "ROOT", "acl", "det", "dobj"], [1, 1, 1, 4, 2])
_DOGS_RUN_HOME = (["dogs", "run", "home"], ["NNS", "VBP", "NN"], ["NOUN", "VERB", "NOUN"], ["nsubj", "ROOT", "dobj"],
                  [1, 1, 1])
_CAT_LOOKS_HAPPY = (["the", "cat", "looks", "happy"], ["DT", "NN", "VBZ", "JJ"], ["DET", "NOUN", "VERB", "ADJ"],
                    ["det", "nsubj", "ROOT", "acomp"], [1, 2, 2, 2])


@pytest.mark.parametrize("parse, expected", [
    (_PURPLE_CROSS, ["purple cross"]),  # 'cross' read as a verb: the chunk runs through it
    (_SMALL_PURPLE_CROSS, ["small purple cross"]),  # ... or as an adjective
    (_STAR_AND_CROSS, ["red star", "purple cross"]),  # ... before the end, after 'and'
    (_DOG_RUNNING, ["dog"]),  # a participle is not a misread noun
    (_MAN_RIDING_HORSE, ["man", "horse"]),
    (_DOGS_RUN_HOME, ["dogs", "home"]),  # a verb with an object after it is a verb
    (_CAT_LOOKS_HAPPY, ["cat"]),  # ... and so is one with a complement
])
def test_noun_misread_as_verb_or_adjective_joins_its_chunk(monkeypatch, parse, expected):
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import Doc

    words, tags, pos, deps, heads = parse
    vocab = spacy.blank("en").vocab
    tagger = lambda text: Doc(vocab, words=words, tags=tags, pos=pos, deps=deps, heads=heads)  # noqa: E731
    monkeypatch.setattr(phrases, "_nlp", lambda: (tagger, phrases.SPACY_PIPELINES[0]))
    assert noun_phrases(" ".join(words)) == expected
