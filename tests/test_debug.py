"""The debug overlay shows the grounding's look-alikes and how its region was picked."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

from intentcrop import Box, Intent, create_pipeline
from intentcrop.core.context import Grounding
from intentcrop.debug import GROUNDING_COLOUR, LOOKALIKE_COLOUR, draw_debug

IMAGE = Image.new("RGB", (640, 480), (90, 120, 150))  # drawn at its own size (512-1024 px)
LOOKALIKE = Box(300, 40, 360, 100)


def _output(selection):
    out = create_pipeline("default").run(IMAGE, Intent(subject=Box(40, 40, 100, 100), k=1))
    grounding = Grounding(boxes=[Box(40, 40, 100, 100)], scores=[0.6], phrases=["red circle"],
                          region=Box(40, 40, 100, 100), strict=False, source="text", rejected=[LOOKALIKE],
                          rejected_scores=[0.2], selection=selection)
    return dataclasses.replace(out, grounding=grounding)


def _has_colour(pixels: np.ndarray, colour) -> bool:
    return bool((np.abs(pixels.astype(int) - np.array(colour)).sum(-1) == 0).any())


def test_lookalikes_are_outlined_in_their_own_colour():
    canvas = np.asarray(draw_debug(IMAGE, _output(""), panel=False))
    x1, y1, x2, y2 = LOOKALIKE.as_int_tuple()
    assert _has_colour(canvas[y1:y2 + 1, x1:x1 + 1], LOOKALIKE_COLOUR)  # its left edge
    assert not _has_colour(canvas[y1:y2 + 1, x1:x1 + 1], GROUNDING_COLOUR)


def test_the_panel_says_how_the_region_was_picked():
    plain = draw_debug(IMAGE, _output(""))
    explained = np.asarray(draw_debug(IMAGE, _output("the 'red circle' match furthest toward the left, of 2")))
    assert explained.shape[0] > plain.size[1]  # one more line of text
    panel = explained[IMAGE.height:]
    assert _has_colour(panel, GROUNDING_COLOUR)


@pytest.mark.parametrize("size, drawn_width", [((200, 100), 512), ((640, 480), 640), ((3000, 1000), 1024)])
def test_the_picture_is_drawn_large_enough_to_read_and_small_enough_to_open(size, drawn_width):
    image = Image.new("RGB", size, (90, 120, 150))
    out = create_pipeline("default").run(image, Intent(k=1))
    assert draw_debug(image, out, panel=False).size[0] == drawn_width
