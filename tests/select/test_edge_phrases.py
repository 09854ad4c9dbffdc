"""Edge phrases in an explanation must be true of the returned box."""

from __future__ import annotations

import pytest

from intentcrop import Box
from intentcrop.select.phrases import match_box

W, H = 400, 300


@pytest.mark.parametrize("box, reasons, want", [
    ((0, 10, 400, 290), ["keeps the full width"], ["keeps the full width"]),
    ((12, 10, 390, 290), ["keeps the full width"], ["trims little from the sides"]),
    ((0, 10, 390, 290), ["keeps the full width"], ["keeps the left side", "trims little from the right"]),
    ((8, 10, 400, 290), ["keeps the full width"], ["keeps the right side", "trims little from the left"]),
    ((20, 0, 380, 300), ["keeps the full height", "keeps the full width"],
     ["keeps the full height", "trims little from the sides"]),
    ((20, 5, 380, 300), ["keeps the full height"], ["keeps the bottom", "trims little from the top"]),
    ((0, 10, 390, 290), ["keeps the left side", "keeps the right side"],
     ["keeps the left side", "trims little from the right"]),
    ((0, 10, 390, 290), ["trims both sides"], ["trims more from the right"]),
    ((10, 0, 390, 290), ["trims more from the top", "keeps the main subject whole"], ["keeps the main subject whole"]),
    ((10, 10, 390, 290), ["trims both sides", "keeps the top"], ["trims both sides", "trims little from the top"]),
])
def test_edge_phrases_match_the_box(box, reasons, want):
    assert match_box(reasons, Box(*box), W, H) == want
    assert match_box(reasons, box, W, H) == want  # a plain xyxy tuple too


@pytest.mark.parametrize("x1, x2", [(0, 400), (0, 399.6), (3, 400), (0, 380), (20, 380)])
def test_full_width_only_when_the_box_spans_the_width(x1, x2):
    said = "keeps the full width" in match_box(["keeps the full width"], (x1, 0, x2, 300), W, H)
    assert said == (x1 <= 0.5 and x2 >= W - 0.5)
