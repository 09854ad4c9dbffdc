"""Crop features: summed-area sums, what each feature says about crops of synthetic scenes, vectorisation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent
from intentcrop.score.features import (
    FEATURE_NAMES, FEATURE_PHRASES, _face_cascade, _face_features, _face_placement, box_sums, candidate_features,
    detect_faces, features_for, image_maps, summed_area,
)
from intentcrop.core.box import pairwise_iou

# The sample's face (intentcrop/data/sample.jpg, 512x512), marked by hand: forehead to chin, cheek to cheek.
SAMPLE_FACE = (175, 55, 280, 190)


def scene(width: int = 400, height: int = 300, obj=(40, 100, 140, 200)) -> Image.Image:
    """A calm grey-blue field with one bright, detailed red object."""
    rng = np.random.default_rng(0)
    arr = np.full((height, width, 3), (110, 120, 140), dtype=np.uint8)
    arr = np.clip(arr + rng.normal(0, 2, arr.shape), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    draw = ImageDraw.Draw(img)
    x1, y1, x2, y2 = obj
    draw.rectangle(obj, fill=(230, 30, 20))
    for x in range(x1, x2, 8):  # stripes: edges and sharpness inside the object
        draw.line([(x, y1), (x, y2)], fill=(250, 240, 60), width=2)
    return img


def feats(img: Image.Image, boxes) -> dict[str, np.ndarray]:
    ctx = CropContext(image=img, intent=Intent())
    values = features_for(ctx, np.asarray(boxes, dtype=np.float64))
    return {name: values[:, i] for i, name in enumerate(FEATURE_NAMES)}


@pytest.mark.parametrize("shape", [(7, 5), (1, 9), (30, 30)])
def test_box_sums_match_brute_force(shape):
    rng = np.random.default_rng(1)
    values = rng.random(shape)
    table = summed_area(values)
    h, w = shape
    x1 = rng.integers(-2, w, 50)
    y1 = rng.integers(-2, h, 50)
    x2 = x1 + rng.integers(0, w + 2, 50)
    y2 = y1 + rng.integers(0, h + 2, 50)
    got = box_sums(table, x1, y1, x2, y2)
    want = [values[max(a, 0):max(min(c, h), 0), max(b, 0):max(min(d, w), 0)].sum() if c > a and d > b else 0.0
            for a, b, c, d in zip(y1, x1, y2, x2)]
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_every_feature_has_a_phrase_and_a_finite_value():
    assert set(FEATURE_NAMES) == set(FEATURE_PHRASES)
    img = scene()
    f = feats(img, [[0, 0, 400, 300], [50, 40, 350, 260], [200, 0, 400, 150]])
    for name, col in f.items():
        assert col.shape == (3,) and np.all(np.isfinite(col)), name


def test_whole_image_keeps_everything():
    f = feats(scene(), [[0, 0, 400, 300]])
    for name, want in [("area", 1.0), ("saliency_kept", 1.0), ("focus_kept", 1.0), ("margin_left", 0.0),
                       ("margin_bottom", 0.0), ("lost_left", 0.0), ("aspect_change", 0.0), ("faces_kept", 1.0)]:
        assert f[name][0] == pytest.approx(want, abs=1e-6), name


# (feature, box that should have MORE of it, box that should have LESS) on scene(): object at x 40..140, y 100..200.
CONTRASTS = [
    ("saliency_kept", [0, 50, 250, 250], [200, 0, 400, 300]),  # keeps the object vs leaves it out
    ("peak_kept", [0, 50, 250, 250], [200, 0, 400, 300]),
    ("focus_kept", [0, 50, 250, 250], [200, 0, 400, 300]),
    ("border_edges", [90, 50, 390, 290], [20, 60, 230, 240]),  # left border through the stripes vs around them
    ("border_saliency", [90, 50, 390, 290], [20, 60, 230, 240]),
    ("lost_left", [90, 50, 390, 290], [20, 60, 230, 240]),  # drops half the object on the left
    ("saliency_density", [20, 80, 200, 220], [150, 0, 400, 300]),
    ("subject_offset_x", [30, 50, 330, 250], [0, 50, 180, 250]),  # object at the side vs centred
    ("contrast_kept", [0, 50, 250, 250], [200, 0, 400, 300]),
    ("colour_kept", [0, 50, 250, 250], [200, 0, 400, 300]),
    ("contrast_lost_sides", [90, 50, 390, 290], [20, 60, 230, 240]),
    ("area", [0, 0, 400, 300], [100, 75, 300, 225]),
    ("offcentre_x", [100, 0, 400, 300], [50, 0, 350, 300]),
]


@pytest.mark.parametrize("name, more, less", CONTRASTS, ids=[c[0] for c in CONTRASTS])
def test_feature_orders_crops_as_a_photographer_would(name, more, less):
    f = feats(scene(), [more, less])
    assert f[name][0] > f[name][1] + 1e-6


def test_features_are_vectorised_over_candidates():
    img = scene()
    rng = np.random.default_rng(2)
    x1, y1 = rng.integers(0, 150, 20), rng.integers(0, 100, 20)
    boxes = np.stack([x1, y1, x1 + rng.integers(100, 250, 20), y1 + rng.integers(80, 200, 20)], axis=1).astype(float)
    ctx = CropContext(image=img, intent=Intent())
    together = features_for(ctx, boxes)
    one_by_one = np.concatenate([features_for(ctx, b[None]) for b in boxes])
    np.testing.assert_allclose(together, one_by_one)


def test_maps_are_computed_once_per_context():
    ctx = CropContext(image=scene(), intent=Intent())
    assert image_maps(ctx) is image_maps(ctx)
    features_for(ctx, np.array([[0, 0, 100, 100]]))
    assert sum(k.startswith("score.features.maps") for k in ctx.cache) == 1


def test_features_do_not_depend_on_image_resolution():
    small, large = scene(400, 300), scene(400, 300).resize((800, 600), Image.Resampling.BILINEAR)
    boxes = np.array([[0, 50, 250, 250], [90, 50, 390, 290]], dtype=float)
    a = feats(small, boxes)
    b = feats(large, boxes * 2)
    for name in ("area", "saliency_kept", "margin_left", "lost_left"):
        np.testing.assert_allclose(a[name], b[name], atol=0.05, err_msg=name)


@pytest.mark.parametrize(
    "box, kept, cut",
    [([0, 0, 100, 100], 1.0, 0.0),  # both faces inside
     ([0, 0, 35, 100], 0.5, 1.0),  # one face inside, one cut in half
     ([50, 0, 100, 100], 0.0, 0.0)],  # no face at all
)
def test_face_features(box, kept, cut):
    faces = np.array([[0, 0, 20, 20], [30, 0, 40, 10]], dtype=float)  # areas 400 and 100
    x1, y1, x2, y2 = (np.array([v]) for v in box)
    share, n_cut = _face_features(faces, x1, y1, x2, y2)
    want_share = {1.0: 1.0, 0.5: (400 + 50) / 500, 0.0: 0.0}[kept]
    assert share[0] == pytest.approx(want_share)
    assert n_cut[0] == cut


def test_no_faces_means_nothing_to_keep_or_cut():
    share, n_cut = _face_features(np.zeros((0, 4)), np.array([0]), np.array([0]), np.array([5]), np.array([5]))
    assert share[0] == 1.0 and n_cut[0] == 0.0


def test_candidate_features_of_no_boxes():
    ctx = CropContext(image=scene(), intent=Intent())
    out = candidate_features(image_maps(ctx), np.zeros((0, 4)), 400, 300)
    assert out.shape == (0, len(FEATURE_NAMES))


@pytest.mark.parametrize(
    "box, depth, headroom, offset",
    [([0, 0, 100, 100], 0.0, 0.2, 0.0),  # face whole, centred, 20 px above it in a 100-px crop
     ([0, 30, 100, 100], 0.25, -10 / 70, 0.0),  # top border through the face: a quarter of it is cut
     ([0, 0, 100, 40], 0.5, 0.5, 0.0),  # bottom border halves it
     ([60, 0, 100, 100], 0.0, 0.2, 0.5 + 10 / 40)],  # face left out entirely: nothing is sliced
)
def test_face_placement(box, depth, headroom, offset):
    faces = np.array([[40, 20, 60, 60]], dtype=float)
    x1, y1, x2, y2 = (np.array([v]) for v in box)
    got_depth, got_headroom, got_offset, size = _face_placement(faces, x1, y1, x2, y2)
    assert got_depth[0] == pytest.approx(depth)
    assert got_headroom[0] == pytest.approx(headroom)
    assert got_offset[0] == pytest.approx(offset)
    assert size[0] == pytest.approx(800 / ((box[2] - box[0]) * (box[3] - box[1])))


def test_no_faces_means_constant_placement_features():
    out = _face_placement(np.zeros((0, 4)), np.array([0, 3]), np.array([0, 1]), np.array([5, 9]), np.array([5, 7]))
    assert all(np.all(v == 0.0) for v in out)


@pytest.mark.skipif(_face_cascade() is None, reason="this OpenCV has no Haar cascades (OpenCV 5 dropped them)")
def test_the_sample_portraits_face_is_found_and_cut_faces_are_measured(sample_image_path):
    ctx = CropContext(image=Image.open(sample_image_path).convert("RGB"), intent=Intent())
    maps = image_maps(ctx)
    faces = maps.faces / maps.scale
    assert len(faces) == 1
    assert pairwise_iou(faces, np.array([SAMPLE_FACE], dtype=float))[0, 0] > 0.6
    boxes = np.array([[0, 0, 512, 288], [0, 136, 512, 424], [0, 220, 512, 508]], dtype=float)  # 16:9: top, middle, bottom
    f = {n: features_for(ctx, boxes)[:, i] for i, n in enumerate(FEATURE_NAMES)}
    np.testing.assert_array_equal(f["faces_cut"], [0, 1, 0])
    assert f["face_cut_depth"][0] == 0 and f["face_cut_depth"][1] > 0.2 and f["face_cut_depth"][2] == 0
    assert f["faces_kept"][0] == 1 and f["faces_kept"][2] == 0


def test_face_detection_on_a_blank_or_tiny_picture_finds_nothing():
    assert detect_faces(np.full((120, 160), 0.5)).shape == (0, 4)
    assert detect_faces(np.zeros((10, 10))).shape == (0, 4)


def test_shared_lab_maps_equal_their_own_conversion():
    from intentcrop.score.features import chroma_map, colour_contrast, lab_image

    rgb = np.random.default_rng(3).random((40, 60, 3)).astype(np.float32)
    lab = lab_image(rgb)
    assert np.array_equal(colour_contrast(rgb, lab), colour_contrast(rgb))
    assert np.array_equal(chroma_map(rgb, lab), chroma_map(rgb))


def test_box_sums_clip_out_of_range_boxes_like_np_clip():
    from intentcrop.score.features import box_sums, summed_area

    table = summed_area(np.random.default_rng(4).random((9, 13)))
    x1, y1 = np.array([-5, 0, 3, 20]), np.array([-2, 4, 9, 1])
    x2, y2 = np.array([4, 30, 2, 25]), np.array([3, 12, 8, 2])
    cx1, cx2 = np.clip(x1, 0, 13), np.clip(x2, 0, 13)
    cy1, cy2 = np.clip(y1, 0, 9), np.clip(y2, 0, 9)
    cx2, cy2 = np.maximum(cx2, cx1), np.maximum(cy2, cy1)
    expected = table[cy2, cx2] - table[cy1, cx2] - table[cy2, cx1] + table[cy1, cx1]
    assert np.array_equal(box_sums(table, x1, y1, x2, y2), expected)
