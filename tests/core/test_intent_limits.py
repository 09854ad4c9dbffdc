"""Intent arguments: odd types are an InvalidIntentError naming the argument; a size has the bounds a ratio has."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.core.intent import Intent, parse_ratio, parse_size
from intentcrop.errors import InvalidIntentError


@pytest.mark.parametrize(
    "size, ratio",
    [("10000x1", "10000:1"), ("1x10000", "1:10000"), ("1100x100", "11:1"), ((100, 1001), (100, 1001))],
)
def test_size_is_refused_where_its_ratio_is(size, ratio):
    with pytest.raises(InvalidIntentError, match="outside the supported range"):
        parse_ratio(ratio)
    with pytest.raises(InvalidIntentError, match="outside the supported range"):
        parse_size(size)
    with pytest.raises(InvalidIntentError, match="outside the supported range"):
        Intent(size=size)


@pytest.mark.parametrize("size, expected", [("1000x100", (1000, 100)), ("100x1000", (100, 1000)),
                                            ((1080, 1350), (1080, 1350)), ((np.int64(64), 48.0), (64, 48))])
def test_sizes_at_the_ratio_bounds_are_kept(size, expected):
    assert parse_size(size) == expected


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"text": 5}, "text"),
        ({"text": b"the dog"}, "text"),
        ({"text": ["the dog"]}, "text"),
        ({"k": "3"}, "k"),
        ({"k": True}, "k"),
        ({"k": 2.0}, "k"),
        ({"ratios": object()}, "ratio"),
        ({"ratios": [{"w": 16}]}, "aspect ratio"),
        ({"ratios": [("16", "a")]}, "aspect ratio"),
        ({"ratios": [(16, None)]}, "aspect ratio"),
        ({"size": (1.5, 2)}, "output size"),
        ({"size": ("a", 2)}, "output size"),
        ({"size": (float("nan"), 2)}, "output size"),
        ({"size": {"w": 1}}, "output size"),
        ({"size": 100}, "output size"),
        ({"size": "1" * 5000 + "x1"}, "output size"),  # int() refuses such numbers with a bare ValueError
        ({"ratios": ["1" * 5000 + ":1"]}, "aspect ratio"),
        ({"min_scale": "0.5"}, "min_scale"),
        ({"min_scale": float("nan")}, "min_scale"),
        ({"max_scale": None}, "max_scale"),
        ({"max_scale": [1]}, "max_scale"),
        ({"padding": "0.1"}, "padding"),
        ({"padding": float("inf")}, "padding"),
        ({"subject": ("a", 1, 2, 3)}, "subject"),
        ({"subject": (1, 2, 3)}, "subject"),
        ({"subject": (0, 0, float("nan"), 5)}, "subject"),
        ({"extras": [1]}, "extras"),
    ],
)
def test_odd_argument_types_name_the_argument(kwargs, name):
    with pytest.raises(InvalidIntentError, match=name):
        Intent(**kwargs)


def test_numpy_numbers_are_numbers():
    intent = Intent(k=np.int64(2), min_scale=np.float32(0.5), max_scale=np.float64(0.9), padding=np.float64(0.1))
    assert intent.k == 2 and intent.min_scale == 0.5 and intent.max_scale == 0.9 and intent.padding == 0.1
