"""Composed scenes: the composition class and attribute labels are what was rendered, and captions use them."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.world.composition import (ATTRIBUTES, COMPOSITIONS, caption, caption_fits, compose_scene,
                                          composition_label)
from intentcrop.world.tokenizer import build_vocab_and_merges

SEEDS = range(6)


@pytest.mark.parametrize("composition", COMPOSITIONS)
def test_label_is_what_was_rendered(composition):
    for seed in SEEDS:
        scene = compose_scene(seed, composition)
        assert scene.labels["composition"] == composition
        assert composition_label(scene) == composition  # measured from the subject's pixels
        arr = np.asarray(scene.image, dtype=np.float32)
        if composition == "symmetric":
            assert np.abs(arr - arr[:, ::-1]).mean() < 8  # mirrored up to sensor noise
        elif composition in ("horizontal", "vertical"):  # the background's lines: steps across them, not along
            grey = np.ma.array(arr.mean(axis=2), mask=np.any([o.mask for o in scene.objects], axis=0))
            rows = np.abs(np.diff(grey.mean(axis=1))).sum()  # variation down the image
            cols = np.abs(np.diff(grey.mean(axis=0))).sum()  # variation across it
            assert (rows > 1.5 * cols) if composition == "horizontal" else (cols > 1.5 * rows)


def test_attribute_labels_follow_the_pixels():
    scenes = [compose_scene(seed) for seed in range(40)]
    for scene in scenes:
        assert set(scene.labels["attributes"]) == set(ATTRIBUTES)
        assert all(0.0 <= v <= 1.0 for v in scene.labels["attributes"].values())
        assert scene.labels["attributes"]["object_emphasis"] == pytest.approx(1 / len(scene.objects), abs=1e-3)
    # a blurred background has less high-frequency energy than a sharp one (same composition class)
    def sharpness(scene):
        g = np.asarray(scene.image.convert("L"), dtype=np.float32)
        return np.abs(np.diff(g, axis=1)).mean()
    blurred = [sharpness(s) for s in scenes if s.labels["attributes"]["depth_of_field"] == 1.0]
    sharp = [sharpness(s) for s in scenes if s.labels["attributes"]["depth_of_field"] == 0.0]
    assert blurred and sharp and np.mean(blurred) < np.mean(sharp)


def test_same_seed_same_scene_and_captions_fit_their_scene():
    a, b = compose_scene(3), compose_scene(3)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image)) and a.labels == b.labels
    vocab, _ = build_vocab_and_merges()
    rng = np.random.default_rng(0)
    for seed in range(12):
        scene = compose_scene(seed)
        text, key = caption(scene, rng)
        assert caption_fits(scene, key)
        assert all(w + "</w>" in vocab for w in text.split())  # every caption word is one world token
        assert len(text.split()) + 2 <= 16  # fits the world's text length


def test_unknown_composition_is_refused():
    with pytest.raises(ValueError, match="unknown composition"):
        compose_scene(0, "diagonal")
