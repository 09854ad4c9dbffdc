"""Matches: the coordinate frames through the real processors, the OWL-ViT / OWLv2 adapters, selection."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.ground.fusion import Match
from intentcrop.ground.matches import PADDED_SQUARE, STRETCHED, Matches, box_frame, model_boxes_to_pixels
from intentcrop.io.image import load_image


def _to_model_frame(box: Box, width: int, height: int, frame: str) -> list[float]:
    """Inverse of model_boxes_to_pixels, written independently: pixels -> normalised cx, cy, w, h."""
    sx, sy = (max(width, height),) * 2 if frame == PADDED_SQUARE else (width, height)
    return [(box.x1 + box.x2) / 2 / sx, (box.y1 + box.y2) / 2 / sy, box.width / sx, box.height / sy]


@pytest.mark.parametrize("frame", [STRETCHED, PADDED_SQUARE])
@pytest.mark.parametrize("size, box", [((640, 480), (100, 50, 300, 400)), ((300, 900), (10, 500, 290, 880)),
                                       ((512, 512), (0, 0, 512, 512))])
def test_model_boxes_map_back_to_pixels(frame, size, box):
    target = Box.from_xyxy(box)
    cxcywh = np.array([_to_model_frame(target, *size, frame)])
    np.testing.assert_allclose(model_boxes_to_pixels(cxcywh, *size, frame)[0], box, atol=1e-6)


def test_boxes_reaching_into_padding_are_clipped():
    # OWLv2 frame of a 400x200 image: the lower half of the square is padding
    xyxy = model_boxes_to_pixels(np.array([[0.5, 0.5, 0.5, 0.5]]), 400, 200, PADDED_SQUARE)[0]
    np.testing.assert_allclose(xyxy, [100, 100, 300, 200])


def _bright_box_in_input(pixel_values) -> tuple[float, float, float, float]:
    """Normalised cx, cy, w, h of the bright pixels in a processed (1, 3, S, S) input."""
    arr = pixel_values[0].float().mean(0).numpy()
    ys, xs = np.nonzero(arr > arr.min() + 0.5 * (arr.max() - arr.min()))
    s = arr.shape[0]
    x1, x2, y1, y2 = xs.min() / s, (xs.max() + 1) / s, ys.min() / s, (ys.max() + 1) / s
    return (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1


def _exif_rotated_jpeg(upright: Image.Image) -> bytes:
    """Store `upright` rotated, with EXIF Orientation 6 (rotate 90 CW to view), as a camera does."""
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # 90 CCW; viewing applies 90 CW
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", exif=exif, quality=95)
    return buf.getvalue()


@pytest.mark.parametrize("kind, frame", [("owlvit", STRETCHED), ("owlv2", PADDED_SQUARE)])
@pytest.mark.parametrize("exif", [False, True])
def test_frame_matches_the_real_processor(tiny_models, kind, frame, exif):
    """A bright rectangle placed by construction is found in the processed input (after padding, resizing and
    EXIF rotation) and maps back to where it was drawn, to within one input pixel."""
    pytest.importorskip("torch")
    from intentcrop.models import load_grounding_model

    processor = load_grounding_model(tiny_models[kind]).processor.image_processor
    assert box_frame(processor) == frame
    width, height, target = 240, 120, Box(150, 30, 210, 90)
    upright = Image.new("RGB", (width, height), (0, 0, 0))
    upright.paste((255, 255, 255), target.as_int_tuple())
    image = load_image(_exif_rotated_jpeg(upright)) if exif else upright
    assert image.size == (width, height)
    pixel_values = processor(images=[image], return_tensors="pt")["pixel_values"]
    found = model_boxes_to_pixels(np.array([_bright_box_in_input(pixel_values)]), width, height, frame)[0]
    one_input_pixel = max(width, height) / pixel_values.shape[-1]
    np.testing.assert_allclose(found, target.to_list(), atol=1.5 * one_input_pixel)



def _outputs(cxcywh, logits, features=None, image_guided=False):
    """A stand-in transformers output of a batch of one: boxes (1, P, 4), logits (1, P, Q)."""
    torch = pytest.importorskip("torch")
    boxes = torch.tensor(np.asarray(cxcywh, np.float32)[None])
    out = SimpleNamespace(logits=torch.tensor(np.asarray(logits, np.float32)[None]),
                          class_embeds=None if features is None
                          else torch.tensor(np.asarray(features, np.float32)[None]))
    if image_guided:
        out.target_pred_boxes = boxes
    else:
        out.pred_boxes = boxes
    return out


@pytest.mark.parametrize("adapter, frame", [(Matches.from_owlvit, STRETCHED), (Matches.from_owlv2, PADDED_SQUARE)])
@pytest.mark.parametrize("image_guided", [False, True])
def test_the_adapters_read_each_models_frame(adapter, frame, image_guided):
    """One box drawn in a 400 x 200 image, written in the model's frame: OWL-ViT's stretched image, OWLv2's padded
    square. Each adapter maps it back to where it was drawn; logits go through the sigmoid."""
    width, height, target = 400, 200, Box(100, 40, 300, 160)
    cxcywh = [_to_model_frame(target, width, height, frame), [0.5, 0.5, 0.1, 0.1]]
    logits = [[2.0, -1.0], [0.0, 0.5]]
    features = np.arange(6, dtype=np.float32).reshape(2, 3)
    matches = adapter(_outputs(cxcywh, logits, features, image_guided), (width, height), ["dog", "cat"])
    assert len(matches) == 2 and matches.queries == ["dog", "cat"]
    np.testing.assert_allclose(matches.xyxy[0], target.to_list(), atol=1e-4)
    np.testing.assert_allclose(matches.scores, 1 / (1 + np.exp(-np.array(logits))), rtol=1e-6)
    np.testing.assert_array_equal(matches.token_features, features)
    # the other frame puts the same numbers somewhere else
    other = Matches.from_owlv2 if frame == STRETCHED else Matches.from_owlvit
    assert Box.from_xyxy(other(_outputs(cxcywh, logits), (width, height), ["dog", "cat"]).xyxy[0]).iou(target) < 0.9


def test_box_frame_reads_the_processors_padding():
    assert box_frame(SimpleNamespace(do_pad=True)) == PADDED_SQUARE
    assert box_frame(SimpleNamespace(do_pad=False)) == box_frame(SimpleNamespace()) == STRETCHED


def _three() -> Matches:
    xyxy = [[0, 0, 10, 10], [20, 0, 30, 10], [0, 0, 9, 9]]
    return Matches(xyxy, np.array([[0.9, 0.1], [0.5, 0.6], [0.8, 0.2]]), ["a dog", "dog"],
                   token_features=np.eye(3), data={"frame": STRETCHED})


def test_indexing_selects_tokens_as_detections_do():
    matches = _three()
    picked = matches[np.array([2, 0])]
    np.testing.assert_array_equal(picked.xyxy, [[0, 0, 9, 9], [0, 0, 10, 10]])
    np.testing.assert_array_equal(picked.token_features, np.eye(3)[[2, 0]])
    assert picked.queries == matches.queries and picked.data == {"frame": STRETCHED}
    assert len(matches[matches.scores[:, 1] > 0.5]) == 1 and len(matches[1]) == 1
    assert matches.match(1, 1) == Match(Box(20, 0, 30, 10), 0.6, "dog")
    with pytest.raises(ValueError, match="score columns"):
        Matches(np.zeros((2, 4)), np.zeros((2, 3)), ["one", "two"])


def test_top_per_query_suppresses_other_outlines_of_the_best():
    assert _three().top_per_query(2) == [[0, 1], [1, 2]]  # token 2 outlines token 0's thing: NMS drops it for query 0


def test_merging_queries_and_shifting_out_of_a_window():
    matches = _three()
    merged = matches.merge_queries([(0, 1)])
    assert merged.queries == ["a dog"]
    np.testing.assert_allclose(merged.scores[:, 0], [0.5, 0.55, 0.5])
    assert matches.merge_queries([(0,), (1,)]) is matches
    np.testing.assert_array_equal(matches.shifted(5, 7).xyxy[0], [5, 7, 15, 17])
