"""CropResult's JSON: the focal point in pixels and shares, the box in percent of the image."""

from __future__ import annotations

import pytest

from intentcrop.core.box import Box
from intentcrop.core.result import CropResult, focal_point_dict


@pytest.mark.parametrize("box, size, percent", [
    (Box(0, 0, 800, 500), (800, 500), [0.0, 0.0, 100.0, 100.0]),
    (Box(200, 100, 600, 400), (800, 500), [25.0, 20.0, 75.0, 80.0]),
    (Box(1, 2, 3, 4), (3, 7), [33.33, 28.57, 100.0, 57.14]),
])
def test_box_percent_is_the_box_in_percent_of_the_image_with_two_decimals(box, size, percent):
    result = CropResult(box=box, score=1.0, image_size=size)
    assert result.box_percent == percent
    assert result.to_dict()["box_percent"] == percent


@pytest.mark.parametrize("box, size, point, rel, in_crop", [
    (Box(200, 100, 600, 400), (800, 500), (400.0, 250.0), (0.5, 0.5), (0.5, 0.5)),
    (Box(200, 100, 600, 400), (800, 500), (200.0, 400.0), (0.25, 0.8), (0.0, 1.0)),
    (Box(0, 0, 100, 50), (400, 200), (25.0, 10.0), (0.0625, 0.05), (0.25, 0.2)),
])
def test_focal_point_in_pixels_and_as_shares_of_the_image_and_of_the_crop(box, size, point, rel, in_crop):
    result = CropResult(box=box, score=1.0, image_size=size, focal_point=point)
    assert result.focal_point_relative == pytest.approx(rel)
    assert result.focal_point_in_crop == pytest.approx(in_crop)
    d = result.to_dict()
    assert set(d["focal_point"]) == {"x", "y", "x_rel", "y_rel"}
    assert (d["focal_point"]["x"], d["focal_point"]["y"]) == pytest.approx(point)
    assert (d["focal_point"]["x_rel"], d["focal_point"]["y_rel"]) == pytest.approx(rel)
    assert (d["focal_point_in_crop"]["x_rel"], d["focal_point_in_crop"]["y_rel"]) == pytest.approx(in_crop)


@pytest.mark.parametrize("kwargs, absent", [
    ({}, {"focal_point", "focal_point_in_crop", "box_percent"}),
    ({"image_size": (10, 10)}, {"focal_point", "focal_point_in_crop"}),
])
def test_without_a_focal_point_or_image_size_the_keys_are_left_out(kwargs, absent):
    d = CropResult(box=Box(0, 0, 5, 5), score=0.0, **kwargs).to_dict()
    assert not absent & set(d)
    assert {"rank", "box", "score", "breakdown", "explanation"} <= set(d)


def test_focal_point_dict_rounds_and_has_no_shares_without_an_image_size():
    assert focal_point_dict((10.123456, 3.0), (300, 200)) == {"x": 10.12, "y": 3.0, "x_rel": 0.0337, "y_rel": 0.015}
    assert focal_point_dict((1.0, 2.0), None) == {"x": 1.0, "y": 2.0, "x_rel": None, "y_rel": None}
