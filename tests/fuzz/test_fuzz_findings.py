"""Regression tests for what fuzzing found (benchmarks/fuzz_campaign.py, tests/fuzz/test_fuzz.py)."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.api import make_intent
from intentcrop.cli.crop_cmd import parse_options
from intentcrop.core.intent import parse_ratio, parse_size, subject_to_box
from intentcrop.defaults import DEFAULTS
from intentcrop.errors import IntentCropError, InvalidIntentError

HUGE = 10 ** 400  # an int float() refuses with OverflowError


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), np.float64("nan"), np.float32("inf")])
def test_integer_option_refuses_non_finite_floats(value):
    # was OverflowError / ValueError from int(inf) / int(nan) in defaults._coerce
    with pytest.raises(InvalidIntentError, match="grid_bins must be an integer"):
        DEFAULTS.merged({"grid_bins": value})


@pytest.mark.parametrize("item", ["max_output_pixels=NaN", "ratio_scales=Infinity", "max_k=-Infinity"])
def test_cli_option_refuses_json_non_finite_for_an_integer(item):
    with pytest.raises(IntentCropError, match="--option"):
        parse_options([item])


def test_integer_options_still_take_whole_numbers():
    assert DEFAULTS.merged({"grid_bins": np.int64(9)}).grid_bins == 9
    assert DEFAULTS.merged({"grid_bins": np.float32(8.0)}).grid_bins == 8
    with pytest.raises(InvalidIntentError):
        DEFAULTS.merged({"grid_bins": 8.0})


def test_float_option_refuses_an_int_too_large_for_a_float():
    with pytest.raises(InvalidIntentError, match="grounding.tie_score must be a number"):
        DEFAULTS.merged({"grounding.tie_score": HUGE})


def test_nested_grounding_mapping_with_non_string_keys():
    # was TypeError: sorted() of mixed str/int unknown names
    with pytest.raises(InvalidIntentError, match="unknown option"):
        DEFAULTS.merged({"grounding": {1: 0.5, "tie_scor": 0.5}})


@pytest.mark.parametrize("value", [HUGE, -HUGE, (HUGE, 1), (1, HUGE)])
def test_ratio_refuses_an_int_too_large_for_a_float(value):
    with pytest.raises(InvalidIntentError):
        parse_ratio(value)


@pytest.mark.parametrize("value", [(HUGE, 10), (10, -HUGE)])
def test_size_refuses_an_int_too_large_for_a_float(value):
    with pytest.raises(InvalidIntentError):
        parse_size(value)


def test_subject_box_refuses_an_int_too_large_for_a_float():
    with pytest.raises(InvalidIntentError):
        subject_to_box((0, 0, HUGE, 10), 24, 16)


@pytest.mark.parametrize("kwargs", [{"padding": -HUGE}, {"min_scale": HUGE}, {"max_scale": HUGE},
                                    {"subject": (1e308, HUGE, 0, 0)}, {"ratio": (HUGE, 0.5)},
                                    {"size": (-HUGE, 10)}])
def test_make_intent_refuses_an_int_too_large_for_a_float(kwargs):
    with pytest.raises(InvalidIntentError):
        make_intent(**kwargs)


def test_text_with_a_lone_surrogate_is_refused():
    # was UnicodeEncodeError from spaCy in ground.phrases.grounding_queries, once the text reached the grounder
    with pytest.raises(InvalidIntentError, match="not valid Unicode"):
        make_intent(text="the dog \ud83d here")
    assert make_intent(text="the dog \U0001F436 here").text == "the dog \U0001F436 here"


@pytest.mark.parametrize("name", ["x" * 300, "/".join(["y" * 200] * 30), "a\x00b"])
def test_load_image_path_that_cannot_be_a_file(name):
    # was OSError (ENAMETOOLONG) / ValueError (embedded NUL) from Path.exists() in io.image._open
    from intentcrop.errors import ImageLoadError
    from intentcrop.io.image import load_image, open_image

    with pytest.raises(ImageLoadError):
        load_image(name)
    with pytest.raises(ImageLoadError):
        open_image(name)


@pytest.mark.parametrize("name", ["x" * 300, "a\x00b"])
def test_subject_mask_name_that_cannot_be_a_file(name):
    from intentcrop.cli.crop_cmd import _parse_subject

    with pytest.raises(IntentCropError, match="neither a box"):
        _parse_subject(name)
    with pytest.raises(IntentCropError):
        subject_to_box(name, 24, 16)


GIANT = 10 ** 5000  # an int with no repr (ValueError: more than 4300 digits), so no message could show it


@pytest.mark.parametrize("call", [lambda: parse_ratio(GIANT), lambda: parse_size((GIANT, 1)),
                                  lambda: make_intent(padding=GIANT), lambda: make_intent(ratio=[GIANT]),
                                  lambda: make_intent(subject=(0, 0, GIANT, 1)),
                                  lambda: DEFAULTS.merged({"grounding.tie_score": GIANT}),
                                  lambda: DEFAULTS.merged({"grounding": [GIANT]}),
                                  lambda: DEFAULTS.merged([GIANT]),
                                  lambda: make_intent(ratio={"w": GIANT}),
                                  lambda: __import__("intentcrop").crop(b"", method=GIANT)])
def test_an_int_without_a_repr_gets_a_message(call):
    with pytest.raises(InvalidIntentError):
        call()


def test_integer_option_refuses_an_int_too_large_for_a_float():
    # was accepted by merged, then OverflowError inside crop(options={"grid_bins": 10**400})
    with pytest.raises(InvalidIntentError, match="grid_bins must be an integer"):
        DEFAULTS.merged({"grid_bins": HUGE})
    assert DEFAULTS.merged({"max_output_pixels": 10 ** 300}).max_output_pixels == 10 ** 300
