"""The clip_text scorer and the crop embeddings the CLIP scorers share, on a tiny CLIP checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from intentcrop.core.candidates import Candidates  # noqa: E402
from intentcrop.core.context import CropContext  # noqa: E402
from intentcrop.core.intent import Intent  # noqa: E402
from intentcrop.score.clip import ClipTextScorer, crop_embeddings  # noqa: E402
from clip_scenes import random_boxes as _boxes, scene as _scene  # noqa: E402


def test_clip_text_scorer_and_shared_cache(tiny_models):
    ctx = CropContext(image=_scene(), intent=Intent(text="the yellow box"))
    candidates = Candidates.from_xyxy(_boxes(12))
    scorer = ClipTextScorer(model=str(tiny_models["clip"]))
    terms = scorer.score(ctx, candidates)
    assert set(terms) == {"similarity", "total"} and terms["total"].shape == (12,)
    assert np.all(np.abs(terms["similarity"]) <= 1 + 1e-6)
    query = scorer.encoder.encode_text(["a photo of the yellow box"])[0]
    np.testing.assert_allclose(terms["similarity"], crop_embeddings(ctx, candidates, scorer.encoder) @ query, atol=1e-6)
    assert sum(k.startswith("clip_crops:") for k in ctx.cache) == 1  # encoded once, reused
    free = ClipTextScorer(model=str(tiny_models["clip"])).score(CropContext(_scene(), Intent()), candidates)
    np.testing.assert_array_equal(free["total"], 0.0)


def test_clip_text_with_query_image(tiny_models):
    query = _scene().crop((120, 30, 170, 90))
    ctx = CropContext(image=_scene(), intent=Intent(query_image=query))
    terms = ClipTextScorer(model=str(tiny_models["clip"]), mode="exact").score(ctx, Candidates.from_xyxy(_boxes(5)))
    assert terms["total"].shape == (5,) and np.ptp(terms["total"]) > 0
