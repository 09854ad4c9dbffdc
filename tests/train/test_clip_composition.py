"""CLIP training on composed scenes: the batch's soft targets follow the labels, and the naming check runs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from intentcrop.train import clip_world  # noqa: E402

TINY_CLIP = dict(image_size=32, patch_size=8, vision_width=32, vision_layers=1, text_width=32, text_layers=1,
                 heads=2, projection_dim=32, batch_size=8, lr=3e-3, warmup=1, threads=1, log_every=1000)


def test_composed_rows_have_their_own_positives_only():
    crops, captions, positives = clip_world.make_pairs(list(range(12)), np.random.default_rng(0), composed_share=0.5)
    assert len(crops) == len(captions) == 12 and (positives.diagonal() == 1).all()
    from intentcrop.world.composition import ATTRIBUTE_PHRASES, COMPOSITION_PHRASES

    phrases = list(COMPOSITION_PHRASES.values()) + [p for pair in ATTRIBUTE_PHRASES.values() for p in pair]
    assert all(any(p in c for p in phrases) for c in captions[6:])  # the composed half: composition words
    assert positives[:6, 6:].sum() == 0  # a region crop never fits a composition / attribute caption


def test_composition_naming_check_reports_shares():
    cfg = clip_world.ClipWorldConfig(**TINY_CLIP)
    processor = clip_world.build_clip_processor(cfg.image_size)
    model = clip_world.build_model(cfg, processor.tokenizer).eval()
    report = clip_world.evaluate_composition_naming(model, processor, n_scenes=6)
    assert report["scenes"] == 6
    assert 0.0 <= report["composition_top1"] <= 1.0 and 0.0 <= report["attribute_accuracy"] <= 1.0
