"""`Pipeline.score_boxes`: given crops scored as `run` scores its own candidates."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.core.candidates import Candidates
from intentcrop.core.intent import Intent
from intentcrop.pipeline import create_pipeline
from intentcrop.world.scenes import generate_scene


@pytest.mark.parametrize("method, intent", [("default", Intent()), ("subject", None)])
def test_score_boxes_matches_the_pipelines_own_scoring(method, intent):
    scene = generate_scene(2, n_objects=3)
    target = scene.objects[0].box
    intent = intent or Intent(subject=target.to_list())
    pipe = create_pipeline(method)
    boxes = np.array([[0, 0, scene.width, scene.height], target.expand(0.3).clip(scene.width, scene.height).to_list(),
                      [0, 0, scene.width // 2, scene.height // 2]], dtype=float)
    scores = pipe.score_boxes(scene.image, boxes, intent)
    ctx = pipe.preprocess(scene.image, intent)
    ctx.grounding = pipe.ground(ctx)
    expected = pipe.score(ctx, Candidates.from_xyxy(boxes)).scores
    np.testing.assert_allclose(scores, expected)
    assert scores.shape == (3,) and np.isfinite(scores).all()
    assert pipe.score_boxes(scene.image, np.zeros((0, 4)), intent).shape == (0,)
