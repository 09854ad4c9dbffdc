"""The scene generator: deterministic, exact boxes and masks, the layouts the benchmark relies on."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.world.scenes import MAX_OBJECTS, SCENE_SIZES, generate_scene, shape_mask
from intentcrop.world.vocabulary import COLOURS, SHAPES, SIZES, all_words, phrase


@pytest.mark.parametrize("seed", [0, 1, 17, 12345])
def test_same_seed_same_scene(seed):
    a, b = generate_scene(seed), generate_scene(seed)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert a.to_dict() == b.to_dict()


def test_different_seeds_differ():
    assert not np.array_equal(np.asarray(generate_scene(1).image), np.asarray(generate_scene(2).image))


@pytest.mark.parametrize("seed", range(12))
def test_boxes_are_tight_boxes_of_the_visible_masks(seed):
    scene = generate_scene(seed)
    assert (scene.width, scene.height) in SCENE_SIZES
    assert 1 <= len(scene.objects) <= MAX_OBJECTS
    owner = np.zeros((scene.height, scene.width), dtype=int)
    for obj in scene.objects:
        assert obj.mask.shape == (scene.height, scene.width)
        ys, xs = np.nonzero(obj.mask)
        assert obj.box.to_list() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        assert 0 <= obj.box.x1 < obj.box.x2 <= scene.width and 0 <= obj.box.y1 < obj.box.y2 <= scene.height
        owner += obj.mask
    assert owner.max() <= 1  # visible masks never overlap: occluded pixels belong to the object in front


@pytest.mark.parametrize("seed", range(6))
def test_objects_have_their_colour(seed):
    scene = generate_scene(seed)
    pixels = np.asarray(scene.image, dtype=np.float64)
    for obj in scene.objects:
        mean = pixels[obj.mask].mean(axis=0)
        nearest = min(COLOURS, key=lambda c: np.abs(np.array(COLOURS[c]) - mean).sum())
        assert nearest == obj.colour


@pytest.mark.parametrize("size", [(192, 192), (320, 240), (160, 240)])
def test_requested_size_and_object_count(size):
    scene = generate_scene(5, size=size, n_objects=3)
    assert scene.image.size == size
    assert 1 <= len(scene.objects) <= 3


def test_sizes_follow_the_size_words():
    ratios = {"small": [], "large": []}
    for seed in range(40):
        scene = generate_scene(seed)
        short = min(scene.width, scene.height)
        for obj in scene.objects:
            if obj.mask.sum() > 0.95 * shape_mask(obj.shape, obj.box.as_int_tuple(), scene.width, scene.height).sum():
                ratios[obj.size].append(max(obj.box.width, obj.box.height) / short)
    assert max(ratios["small"]) < min(ratios["large"])  # the gap keeps 'small' and 'large' apart
    for word, values in ratios.items():
        lo, hi = SIZES[word]
        assert lo * 0.85 <= np.median(values) <= hi * 1.15


def test_scenes_contain_one_attribute_distractors():
    found = 0
    for seed in range(30):
        objs = generate_scene(seed).objects
        found += any(a.colour == b.colour and a.shape != b.shape for a in objs for b in objs)
    assert found >= 10


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_masks_fill_their_box(shape):
    mask = shape_mask(shape, (10, 20, 50, 60), 80, 80)
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (10, 20, 50, 60)


@pytest.mark.parametrize("args,expected", [
    (("red", "circle", None, False), "red circle"),
    (("red", "circle", "small", False), "small red circle"),
    (("yellow", "star", None, True), "yellow stars"),
    (("blue", "cross", None, True), "blue crosses"),
    ((None, "square", None, False), "square"),
    (("green", None, None, False), "green thing"),
])
def test_phrases(args, expected):
    assert phrase(*args) == expected
    assert set(expected.split()) <= set(all_words())
