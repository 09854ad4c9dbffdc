"""`intentcrop.crop(...)`: every argument's type is checked, with an InvalidIntentError naming it (never a bare
TypeError / ValueError / KeyError), and the call's bounds (max_text_length, max_k) are read from its options."""

from __future__ import annotations

import numpy as np
import pytest

import intentcrop
from intentcrop.defaults import DEFAULTS, Defaults
from intentcrop.errors import InvalidIntentError

IMAGE = np.full((120, 160, 3), 90, np.uint8)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"text": 5}, "text"),
        ({"text": {"the": "dog"}}, "text"),
        ({"k": "3"}, "k"),
        ({"k": True}, "k"),
        ({"k": 0}, "k"),
        ({"ratio": object()}, "ratio"),
        ({"ratio": True}, "ratio"),
        ({"ratio": {"16": 9}}, "ratio"),
        ({"ratio": ("16", "x")}, "aspect ratio"),
        ({"size": (1.5, 2)}, "output size"),
        ({"size": [None, 2]}, "output size"),
        ({"size": 1080}, "output size"),
        ({"size": "10000x1"}, "output size"),
        ({"min_scale": "0.5"}, "min_scale"),
        ({"max_scale": "1"}, "max_scale"),
        ({"padding": [0.1]}, "padding"),
        ({"method": ["vlm"]}, "method"),
        ({"method": 3}, "method"),
        ({"method": "nope"}, "method"),
        ({"pipeline": 3}, "pipeline"),
        ({"device": 0}, "device"),
        ({"options": [("k", 2)]}, "options"),
        ({"options": "k=2"}, "options"),
        ({"options": {"k": "2"}}, "option k"),
        ({"options": {"max_k": 0}}, "option max_k"),
        ({"options": {"k": 5, "max_k": 4}}, "option k=5"),
        ({"options": {"max_text_length": "long"}}, "option max_text_length"),
        ({"subject": ("a", 1, 2, 3)}, "subject"),
        ({"model": 5}, "model"),
        ({"model": ["owlvit-b32", 5]}, "model"),
    ],
)
def test_bad_argument_types_are_invalid_intent_errors_naming_them(kwargs, name):
    with pytest.raises(InvalidIntentError, match=name):
        intentcrop.crop(IMAGE, **kwargs)


def test_text_longer_than_the_maximum_is_refused_before_any_model():
    longest = DEFAULTS.max_text_length
    assert longest == 1000
    with pytest.raises(InvalidIntentError, match="max_text_length"):
        intentcrop.crop(IMAGE, "the dog " + "x" * longest)
    # the bound is the call's option: read at call time
    with pytest.raises(InvalidIntentError, match="max_text_length"):
        intentcrop.crop(IMAGE, "the red dog", options={"max_text_length": 5})


@pytest.mark.parametrize("k", [DEFAULTS.max_k + 1, 10_000])
def test_k_above_max_k_is_refused(k):
    with pytest.raises(InvalidIntentError, match="max_k"):
        intentcrop.crop(IMAGE, k=k)


def test_max_k_is_an_option():
    assert len(intentcrop.crop(IMAGE, k=2, options={"max_k": 2})) == 2
    with pytest.raises(InvalidIntentError, match="max_k"):
        intentcrop.crop(IMAGE, k=3, options={"max_k": 2})


def test_the_option_k_is_bounded_by_max_k_too():
    assert DEFAULTS.k <= DEFAULTS.max_k
    with pytest.raises(InvalidIntentError, match="option k=60 .* max_k"):
        intentcrop.crop(IMAGE, options={"k": 60})
    with pytest.raises(InvalidIntentError, match="option max_k must be at least 1"):
        Defaults(max_k=0)


@pytest.mark.parametrize("kwargs", [{"subject": (-5, -5, 60, 70)}, {"subject": [-5.0, -5.0, 600.0, 600.0]}])
def test_a_subject_box_partly_outside_is_clipped(kwargs):
    output = intentcrop.crop(IMAGE, return_output=True, **kwargs)
    x1, y1, x2, y2 = output.grounding.region.to_list() if hasattr(output.grounding.region, "to_list") \
        else output.grounding.region
    assert x1 == 0 and y1 == 0 and x2 <= 160 and y2 <= 120
