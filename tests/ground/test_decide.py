"""decide(plan, matches, ...): candidates -> fuse (by the plan's kind) -> refine, each step on known Matches."""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.core.intent import Intent
from intentcrop.ground.config import GroundingConfig
from intentcrop.ground.confidence import calibrate
from intentcrop.ground.decide import candidates, decide
from intentcrop.ground.detect import detect
from intentcrop.ground.fusion import fuse_matches
from intentcrop.ground.matches import Matches
from intentcrop.ground.plan import plan

IMAGE = Image.new("RGB", (200, 100))
LEFT_DOG, RIGHT_DOG, CAR = Box(5, 40, 35, 70), Box(160, 40, 190, 70), Box(90, 30, 130, 80)


def _matches(queries, scores):
    return Matches(np.array([b.to_list() for b in (LEFT_DOG, RIGHT_DOG, CAR)]), np.array(scores), queries)


def test_candidates_are_the_best_boxes_of_each_phrase():
    matches = _matches(["dog"], [[0.3], [0.7], [0.01]])
    found = candidates(plan(Intent(text="dog")), matches, GroundingConfig(per_query=2))
    assert [(m.box, m.score, m.phrase) for m in found] == [(RIGHT_DOG, 0.7, "dog"), (LEFT_DOG, 0.3, "dog")]


def test_each_kind_fuses_its_own_way():
    config = GroundingConfig()
    plain = decide(plan(Intent(text="dog")), _matches(["dog"], [[0.3], [0.7], [0.01]]), config, IMAGE)
    assert plain.confidence == calibrate(0.7, config.calibration)  # decide's last step: the best kept match's
    assert dataclasses.replace(plain, confidence=None) == fuse_matches(candidates(plan(Intent(text="dog")), _matches(["dog"], [[0.3], [0.7], [0.01]]),
                                            config), "text", **config.fusion_args())
    relation = plan(Intent(text="the dog left of the car"))
    grounding = decide(relation, _matches(["dog", "car"], [[0.3, 0.001], [0.7, 0.001], [0.001, 0.8]]), config,
                       IMAGE)
    assert grounding.region == LEFT_DOG and grounding.rejected == [RIGHT_DOG]
    position = decide(plan(Intent(text="the dog on the right")), _matches(["dog"], [[0.7], [0.3], [0.001]]),
                      config, IMAGE)
    assert position.region == RIGHT_DOG


def test_detect_asks_once_and_folds_the_readings_of_one_referent():
    asked = []

    class Detector:
        def detect_text(self, image, queries):
            asked.append(list(queries))
            return _matches(list(queries), [[0.8, 0.2], [0.2, 0.6], [0.1, 0.1]])

    planned = plan(Intent(text="the red circle"))
    matches = detect(Detector(), IMAGE, planned)
    assert asked == [["the red circle", "red circle"]] and matches.queries == ["the red circle"]
    np.testing.assert_allclose(matches.scores[:, 0], [0.5, 0.4, 0.1])
