"""The phrase parsers take time linear in the text's length on adversarial texts, and read texts as before.

Linear is checked by a timing ratio, not an absolute time: the best of five runs at n and at 8n characters. A
linear parser gives ~8, a quadratic one ~64 (the old relation/position regexes: 50-55 on the dots text, 38 s for
parse_relation('a red dog over b' + '.' * 100000 + 'c')).
"""

from __future__ import annotations

import time

import pytest

from intentcrop.defaults import DEFAULTS
from intentcrop.ground.phrases import (Position, Relation, grounding_queries, names_size, parse_position,
                                      parse_relation, rule_noun_phrases, same_referent)

LINEAR_RATIO = 32  # half of 64 (quadratic), with room for a busy machine above 8 (linear; 25 seen under load)

ADVERSARIAL = {
    "dots": lambda n: "a red dog over b" + "." * n + "c",
    "left of": lambda n: "the dog" + " left of" * (n // 8),
    "the": lambda n: "the " * (n // 4) + "dog on the left",
    "on the": lambda n: "the dog " + "on the " * (n // 7),
    "spaces and bangs": lambda n: "the dog on the left" + " .!" * (n // 3) + "x",
    "unicode": lambda n: "ü狗 Ünder " * (n // 9) + "x",
    "one word": lambda n: "x" * n,
}

PARSERS = {
    "parse_relation": (parse_relation, 20_000),
    "parse_position": (parse_position, 20_000),
    "rule_noun_phrases": (rule_noun_phrases, 20_000),
    "same_referent": (lambda t: same_referent(t, t), 20_000),
    "names_size": (names_size, 20_000),
}


def _best_time(parse, text: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        parse(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("kind", list(ADVERSARIAL))
@pytest.mark.parametrize("name", list(PARSERS))
def test_parsers_take_linear_time_on_adversarial_texts(name, kind):
    parse, n = PARSERS[name]
    make = ADVERSARIAL[kind]
    parse(make(n))  # warm up (spaCy's model, caches)
    base = _best_time(parse, make(n))
    while base < 0.01 and n < 1_000_000:  # long enough to time: ~10 ms
        n *= 2
        base = _best_time(parse, make(n))
    ratio = _best_time(parse, make(8 * n)) / base
    assert ratio < LINEAR_RATIO, f"{name} on {kind!r}: 8x the text took {ratio:.1f}x the time"


@pytest.mark.parametrize("kind", list(ADVERSARIAL))
def test_grounding_queries_up_to_the_longest_text_allowed(kind):
    """spaCy's tokenizer is not linear on a long run of punctuation (4000 dots: ~60 ms, 1000: ~6 ms): the longest
    text an intent may have (options.max_text_length) keeps it to milliseconds; from 1/8 of it to all of it the
    time grows no faster than linearly. Each text is new (spaCy caches what it has tokenized)."""
    longest = DEFAULTS.max_text_length
    make = ADVERSARIAL[kind]
    grounding_queries("warm up")
    times = []
    for n in (longest // 8, longest):
        best = float("inf")
        for i in range(3):
            text = make(n - 3) + f"{i}{n % 10}"
            start = time.perf_counter()
            grounding_queries(text)
            best = min(best, time.perf_counter() - start)
        times.append(best)
    assert times[1] / times[0] < LINEAR_RATIO


def test_the_reported_text_parses_at_once():
    text = "a red dog over b" + "." * 100_000 + "c"
    start = time.perf_counter()
    assert parse_relation(text) == Relation("red dog", "above", "b" + "." * 100_000 + "c")
    assert parse_position(text) is None
    assert time.perf_counter() - start < 5  # was 38 s; linear parsing takes milliseconds


# What the parsers read is what the old patterns read (checked against them on the world's texts and 60000 fuzzed
# texts when they were replaced); these pin the corners of those patterns.
@pytest.mark.parametrize(
    "text, expected",
    [
        ("the red circle left of the blue square", Relation("red circle", "left of", "blue square")),
        ("The Dog Is To The Left Of the cat!!", Relation("Dog", "left of", "cat")),
        ("the dog that is over the cat", Relation("dog", "above", "cat")),
        ("the dog which are on top of the car .", Relation("dog", "above", "car")),
        ("x over y over z", Relation("x", "above", "y over z")),  # the shortest subject
        ("the dog over ...", Relation("dog", "above", ".")),  # an anchor of punctuation keeps one character
        ("the dog underneath  the\tcar", Relation("dog", "below", "car")),
        ("the dog overall", None),  # whole words only
        ("over the car", None),  # no subject
        ("the dog over", None),  # no anchor
        ("the dog on the left of the picture", None),  # a place in the picture: parse_position
        ("the cat and the dog left of the car", None),  # several subjects
        ("the dog is left of", None),
    ],
)
def test_parse_relation_reads_as_before(text, expected):
    assert parse_relation(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the dog on the left", Position("dog", "left")),
        ("the dog on the left.", Position("dog", "left")),
        ("the dog that is at the bottom of the image !", Position("dog", "bottom")),
        ("the star in the upper right-hand corner of the picture", Position("star", "top right")),
        ("the star in the lower-left corner", Position("star", "bottom left")),
        ("the star in the topleft", Position("star", "top left")),
        ("the leftmost red circle", Position("red circle", "left")),
        ("The Top-Right star...", Position("star", "top right")),
        ("the leftmost .", Position(".", "left")),
        ("the dog on the leftist", None),
        ("the top left corner", None),  # a place, not a thing there
        ("the cat and the dog on the left", None),
        ("the dog on the left of the car", None),  # a relation
        ("on the left", None),
    ],
)
def test_parse_position_reads_as_before(text, expected):
    assert parse_position(text) == expected
