"""The debug overlay draws the faces found and the heads that hold the crops, and none when told not to."""

from pathlib import Path

import numpy as np
import pytest

from intentcrop.core.intent import Intent
from intentcrop.io.image import load_image
from intentcrop.pipeline import create_pipeline

REPO = Path(__file__).resolve().parents[1]


def on_outline(canvas: np.ndarray, xyxy, colour, band: int = 2) -> bool:
    x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
    edges = [canvas[max(0, y1 - band):y1 + band + 1, max(0, x1):x2 + 1],
             canvas[max(0, y2 - band):y2 + band + 1, max(0, x1):x2 + 1],
             canvas[max(0, y1):y2 + 1, max(0, x1 - band):x1 + band + 1],
             canvas[max(0, y1):y2 + 1, max(0, x2 - band):x2 + band + 1]]
    return any(e.size and (np.abs(e.reshape(-1, 3).astype(int) - colour).sum(axis=1) <= 30).any() for e in edges)


@pytest.fixture(scope="module")
def astronaut():
    from intentcrop.debug import detected_heads

    image = load_image(REPO / "intentcrop" / "data" / "sample.jpg")
    out = create_pipeline("default").run(image, Intent(ratios=[1.0], k=1))
    if not detected_heads(image, out.options):
        pytest.skip("no face detector here (neither the package nor OpenCV's cascade)")
    return image, out


def test_heads_and_faces_are_drawn(astronaut):
    from intentcrop.debug import FACE_COLOUR, HEAD_COLOUR, detected_faces, detected_heads, draw_debug

    image, out = astronaut
    scale = min(1024, max(512, max(image.size))) / max(image.size)
    head = np.array(detected_heads(image, out.options)[0].to_xyxy()) * scale
    face = np.array(detected_faces(image, out.options)[0].to_xyxy()) * scale
    assert head[1] < face[1] and head[3] > face[3]  # the head holds the face, with the hair above it
    canvas = np.asarray(draw_debug(image, out, panel=False))
    assert on_outline(canvas, head, HEAD_COLOUR) and on_outline(canvas, face, FACE_COLOUR)
    bare = np.asarray(draw_debug(image, out, panel=False, faces=[]))
    assert not on_outline(bare, head, HEAD_COLOUR) and not on_outline(bare, face, FACE_COLOUR)


def test_the_legend_names_the_heads(astronaut):
    from intentcrop.debug import _legend

    _, out = astronaut
    assert any(name.startswith("head") for name, _ in _legend(out, True, False, False, heads=True))
    assert not any(name.startswith("head") for name, _ in _legend(out, True, False, False))


def test_no_heads_drawn_when_the_constraint_is_off():
    from intentcrop.debug import HEAD_COLOUR, detected_heads, draw_debug

    image = load_image(REPO / "intentcrop" / "data" / "sample.jpg")
    out = create_pipeline("default").run(image, Intent(ratios=[1.0], k=1), options={"head_constraint": False})
    heads = detected_heads(image, out.options)
    if not heads:
        pytest.skip("no face detector here")
    scale = min(1024, max(512, max(image.size))) / max(image.size)
    canvas = np.asarray(draw_debug(image, out, panel=False))
    assert not on_outline(canvas, np.array(heads[0].to_xyxy()) * scale, HEAD_COLOUR, band=0)
