"""The subject grounder (GROUNDERS "subject"): the given box, or the box around the given mask, kept strictly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent
from intentcrop.errors import IntentCropError
from intentcrop.registry import GROUNDERS


def _ground(**intent):
    return GROUNDERS.create("subject").ground(CropContext(image=Image.new("RGB", (100, 80)), intent=Intent(**intent)))


def test_a_subject_box_is_the_strict_region():
    grounding = _ground(subject=(10, 20, 50, 60))
    assert grounding.region == Box(10, 20, 50, 60) and grounding.boxes == [grounding.region]
    assert grounding.strict is True and grounding.source == "subject" and grounding.phrases == ["subject"]
    assert grounding.scores == [1.0]


def test_a_subject_mask_is_the_box_around_it():
    mask = np.zeros((80, 100), np.uint8)
    mask[30:40, 5:25] = 255
    assert _ground(subject=mask).region == Box(5, 30, 25, 40)


def test_no_subject_is_an_error():
    with pytest.raises(IntentCropError, match="needs a subject"):
        _ground(text="dog")


def test_every_pipeline_grounds_subjects_with_it():
    from intentcrop.pipeline import PIPELINE_CONFIGS, create_pipeline

    assert all(config["grounders"]["subject"] == ("subject", {}) for config in PIPELINE_CONFIGS.values())
    pipe = create_pipeline("subject")
    ctx = CropContext(image=Image.new("RGB", (100, 80)), intent=Intent(subject=(10, 20, 50, 60)))
    assert pipe.ground(ctx) == _ground(subject=(10, 20, 50, 60))
