"""The debug overlay shows the grounding's look-alikes and how its region was picked."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from intentcrop import Box, Intent, create_pipeline
from intentcrop.core.context import Grounding
from intentcrop.debug import GROUNDING_COLOUR, LOOKALIKE_COLOUR, draw_debug

REPO = Path(__file__).resolve().parent.parent
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


# -- readable at a glance: winners only by default, labels, wrapped text, faces, grounding --------------------

BACKGROUND = tuple(np.asarray(Image.blend(IMAGE, Image.new("RGB", IMAGE.size), 0.35))[0, 0])  # the dimmed picture


def _on_outline(canvas: np.ndarray, xyxy, colour, band: int = 2) -> bool:
    """Whether `colour` appears on any of the four edges of the box `xyxy` (canvas pixels), `band` px either side."""
    x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
    edges = [canvas[max(0, y1 - band):y1 + band + 1, max(0, x1):x2 + 1],  # top
             canvas[max(0, y2 - band):y2 + band + 1, max(0, x1):x2 + 1],  # bottom
             canvas[max(0, y1):y2 + 1, max(0, x1 - band):x1 + band + 1],  # left
             canvas[max(0, y1):y2 + 1, max(0, x2 - band):x2 + band + 1]]  # right
    return any(e.size and _has_colour(e, colour) for e in edges)


def test_a_label_names_the_crops_ratio_rank_and_score():
    from intentcrop import CropResult
    from intentcrop.debug import winner_label

    assert winner_label(CropResult(box=Box(0, 0, 160, 90), score=1.2345, ratio=16 / 9, rank=2)) == "16:9 #2 1.23"
    assert winner_label(CropResult(box=Box(0, 0, 50, 50), score=-0.5, ratio=1.0, rank=1)) == "1:1 #1 -0.50"
    assert winner_label(CropResult(box=Box(0, 0, 70, 50), score=3.0, rank=1)) == "free #1 3.00"


def test_every_winner_gets_its_label_and_its_panel_line():
    from intentcrop.debug import _font, panel_lines, winner_label

    out = create_pipeline("default").run(IMAGE, Intent(ratios=[16 / 9, 1.0], k=2))
    labels = [winner_label(r) for r in out.results]
    assert len(set(labels)) == len(labels) == 4
    assert {lab.split()[0] for lab in labels} == {"16:9", "1:1"} and {lab.split()[1] for lab in labels} == {"#1", "#2"}
    text = "\n".join(line for line, _ in panel_lines(out, _font(12), 640))
    assert all(lab in text for lab in labels)


def _far_candidate(out, scale: float, away: float = 40.0) -> tuple[int, int]:
    """A drawn (top-150) non-winner candidate's left-edge midpoint, in canvas pixels, far from every winner's edges
    (and so from the winners' labels)."""
    cands = out.candidates
    winners = [np.array(r.box.to_xyxy()) * scale for r in out.results]
    for idx in np.argsort(-cands.scores)[:150]:
        x1, y1, x2, y2 = cands.xyxy[idx] * scale
        px, py = int(round(x1)), int(round((y1 + y2) / 2))
        if any(np.allclose(cands.xyxy[idx], r.box.to_xyxy()) for r in out.results):
            continue
        if all(min(abs(px - wx1), abs(px - wx2)) > away and min(abs(py - wy1), abs(py - wy2)) > away
               for wx1, wy1, wx2, wy2 in winners):
            return px, py
    pytest.skip("no candidate far enough from the winner on this image")


def test_by_default_only_the_winners_are_drawn_and_all_candidates_on_request():
    out = create_pipeline("default").run(IMAGE, Intent(k=1))
    winners_only = np.asarray(draw_debug(IMAGE, out, panel=False, faces=[]))
    everything = np.asarray(draw_debug(IMAGE, out, panel=False, faces=[], all_candidates=True))
    px, py = _far_candidate(out, 1.0)
    assert tuple(winners_only[py, px]) == BACKGROUND  # a candidate's border, untouched
    assert tuple(everything[py, px]) != BACKGROUND
    drawn = lambda canvas: int((np.abs(canvas.astype(int) - BACKGROUND).sum(-1) > 0).sum())  # noqa: E731
    assert drawn(everything) > drawn(winners_only) > 0
    x1, y1, x2, y2 = out.results[0].box.as_int_tuple()
    from intentcrop.debug import WINNER_COLOURS

    assert _on_outline(winners_only, (x1, y1, x2, y2), WINNER_COLOURS[0])


def test_wrapped_lines_never_exceed_the_width():
    from intentcrop.debug import MARGIN, _font, panel_lines, wrap_text

    font = _font(14)
    text = ("keeps the full width; more room above the face; drops interesting content at the bottom; "
            "a_single_word_far_too_long_for_any_line_of_this_panel_at_all_whatever_the_font " * 3)
    lines = wrap_text(text, font, 200, indent="    ")
    assert len(lines) > 3 and all(font.getlength(line) <= 200 for line in lines)
    assert all(line.startswith("    ") for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost

    out = create_pipeline("default").run(IMAGE, Intent(ratios=[16 / 9, 1.0], k=2))
    for r in out.results:
        r.explanation = text
        r.breakdown = {f"quality.value.a_rather_long_feature_name_{i}": float(i) for i in range(8)}
    for width in (512, 700, 1024):
        for line, _ in panel_lines(out, font, width):
            assert font.getlength(line) <= width - 2 * MARGIN, line
    overlay = draw_debug(IMAGE, out)
    assert overlay.size[0] == IMAGE.size[0]  # the panel is as wide as the picture, no wider


@pytest.fixture(scope="module")
def portrait():
    from intentcrop.score.features import _face_cascade

    if _face_cascade() is None:
        pytest.skip("this OpenCV has no face cascade")
    from intentcrop.io.image import load_image

    return load_image(REPO / "intentcrop" / "data" / "sample.jpg")


def test_face_boxes_are_drawn_where_the_faces_are(portrait):
    from intentcrop.debug import FACE_COLOUR, detected_faces

    out = create_pipeline("default").run(portrait, Intent(ratios=[16 / 9, 1.0], k=2))
    faces = detected_faces(portrait, out.options)
    assert len(faces) == 1
    face = faces[0]
    w, h = portrait.size
    assert 0.3 * w < face.center[0] < 0.7 * w and face.center[1] < 0.4 * h  # the astronaut's face
    scale = min(1024, max(512, max(portrait.size))) / max(portrait.size)
    xyxy = np.array(face.to_xyxy()) * scale
    canvas = np.asarray(draw_debug(portrait, out, panel=False))
    assert _on_outline(canvas, xyxy, FACE_COLOUR)
    assert not _on_outline(np.asarray(draw_debug(portrait, out, panel=False, faces=[])), xyxy, FACE_COLOUR)


def test_person_boxes_are_drawn_when_the_output_carries_them():
    from intentcrop.debug import PERSON_COLOUR

    person = Box(400, 100, 560, 420)
    out = create_pipeline("default").run(IMAGE, Intent(k=1))
    assert not _on_outline(np.asarray(draw_debug(IMAGE, out, panel=False)), person.to_xyxy(), PERSON_COLOUR)
    given = np.asarray(draw_debug(IMAGE, out, panel=False, people=[person]))
    assert _on_outline(given, person.to_xyxy(), PERSON_COLOUR)
    out.people = [person]  # the hook a person detector would fill
    assert _on_outline(np.asarray(draw_debug(IMAGE, out, panel=False)), person.to_xyxy(), PERSON_COLOUR)


@pytest.mark.slow
def test_grounding_boxes_are_drawn_for_a_world_text_case():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import intentcrop
    from intentcrop.world import generate_scene, referrals

    models = [REPO / "fixtures" / "world" / "owlvit", REPO / "fixtures" / "world" / "clip"]
    if not all(p.exists() for p in models):
        pytest.skip("fixtures/world models absent (run `intentcrop train world`)")
    scene = generate_scene(1100006)
    text = "the small red circle"
    assert text in [r.text for r in referrals(scene)]  # the scene generator still draws the same world
    out = intentcrop.crop(scene.image, text=text, k=1, model=[str(p) for p in models], device="cpu",
                          return_output=True)
    assert out.grounding is not None and out.grounding.boxes
    scale = min(1024, max(512, max(scene.image.size))) / max(scene.image.size)
    canvas = np.asarray(draw_debug(scene.image, out, panel=False))
    for box in out.grounding.boxes:
        assert _on_outline(canvas, np.array(box.to_xyxy()) * scale, GROUNDING_COLOUR)
    for box in out.grounding.rejected:
        assert _on_outline(canvas, np.array(box.to_xyxy()) * scale, LOOKALIKE_COLOUR)
    panel = np.asarray(draw_debug(scene.image, out))[canvas.shape[0]:]
    assert _has_colour(panel, GROUNDING_COLOUR)  # the legend names the grounded matches


def test_the_cli_draws_every_candidate_with_debug_all(sample_image_path, tmp_path):
    from intentcrop.cli.main import main

    winners, everything = tmp_path / "winners.png", tmp_path / "all.png"
    assert main(["crop", str(sample_image_path), "-k", "1", "--debug", str(winners)]) == 0
    assert main(["crop", str(sample_image_path), "-k", "1", "--debug", str(everything), "--debug-all"]) == 0
    a, b = np.asarray(Image.open(winners).convert("RGB")), np.asarray(Image.open(everything).convert("RGB"))
    assert a.shape[1] == b.shape[1] == 512
    w, h = Image.open(sample_image_path).size
    height = round(h * 512 / max(w, h))  # the pictures, above the panels
    assert (a[:height] != b[:height]).any(-1).sum() > 1000  # many more outlines
