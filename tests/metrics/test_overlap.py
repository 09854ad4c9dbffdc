import math

import numpy as np
import pytest

from intentcrop.core.box import Box
from intentcrop.metrics import (
    alpha_recall,
    boundary_displacement,
    box_agreement,
    displacement_over_annotators,
    iou,
    iou_over_annotators,
)


@pytest.mark.parametrize(
    "pred, gt, expected",
    [
        ((0, 0, 2, 2), (0, 0, 2, 2), 1.0),
        ((0, 0, 2, 2), (3, 3, 5, 5), 0.0),  # disjoint
        ((0, 0, 2, 2), (2, 0, 4, 2), 0.0),  # touching edges share no area
        ((0, 0, 2, 2), (1, 1, 3, 3), 1 / 7),  # inter 1, union 4 + 4 - 1
        ((0, 0, 4, 4), (0, 0, 2, 4), 0.5),  # nested: 8 / 16
        ((0, 0, 10, 10), (5, 0, 15, 10), 1 / 3),  # 50 / 150
        ((1, 1, 1, 1), (1, 1, 1, 1), 0.0),  # empty union
    ],
)
def test_iou_by_hand(pred, gt, expected):
    assert iou([pred], [gt])[0] == pytest.approx(expected)
    assert iou([Box.from_xyxy(pred)], [Box.from_xyxy(gt)])[0] == pytest.approx(expected)


def test_iou_is_paired_and_vectorised():
    pred = np.array([[0, 0, 2, 2], [0, 0, 4, 4]])
    gt = np.array([[1, 1, 3, 3], [0, 0, 2, 4]])
    np.testing.assert_allclose(iou(pred, gt), [1 / 7, 0.5])


@pytest.mark.parametrize(
    "pred, gt, width, height, expected",
    [
        ((0, 0, 100, 50), (0, 0, 100, 50), 100, 50, 0.0),
        # every edge 10 % of its side in: ((10 + 10) / 100 + (5 + 5) / 50) / 4
        ((10, 5, 90, 45), (0, 0, 100, 50), 100, 50, 0.1),
        # only the right edge moved, by half the width: (50 / 100) / 4
        ((0, 0, 50, 50), (0, 0, 100, 50), 100, 50, 0.125),
        # y is normalised by the height, not the width
        ((0, 10, 100, 50), (0, 0, 100, 50), 100, 50, (10 / 50) / 4),
    ],
)
def test_boundary_displacement_by_hand(pred, gt, width, height, expected):
    assert boundary_displacement([pred], [gt], width, height)[0] == pytest.approx(expected)


def test_boundary_displacement_takes_one_size_per_image():
    pred = [(0, 0, 50, 50), (0, 0, 50, 50)]
    gt = [(0, 0, 100, 50), (0, 0, 100, 50)]
    np.testing.assert_allclose(boundary_displacement(pred, gt, [100, 200], [50, 50]), [0.125, 0.0625])


def test_boundary_displacement_rejects_bad_size():
    with pytest.raises(ValueError, match="positive"):
        boundary_displacement([(0, 0, 1, 1)], [(0, 0, 1, 1)], 0, 1)


@pytest.mark.parametrize(
    "ious, alpha, expected",
    [
        ([0.8, 0.75, 0.74, 0.2], 0.75, 0.5),  # the threshold itself counts
        ([0.8, 0.75, 0.74, 0.2], 0.5, 0.75),
        ([0.1], 0.75, 0.0),
    ],
)
def test_alpha_recall(ious, alpha, expected):
    assert alpha_recall(ious, alpha) == pytest.approx(expected)


def test_alpha_recall_of_nothing_is_nan():
    assert math.isnan(alpha_recall([]))


def test_iou_over_annotators_mean_and_max_with_ragged_annotators():
    pred = [(0, 0, 2, 2), (0, 0, 2, 2)]
    gts = [[(0, 0, 2, 2), (1, 1, 3, 3)], [(0, 0, 4, 4)]]  # the second image has one annotator
    out = iou_over_annotators(pred, gts)
    np.testing.assert_allclose(out["mean"], [(1 + 1 / 7) / 2, 0.25])
    np.testing.assert_allclose(out["max"], [1.0, 0.25])


def test_displacement_over_annotators_mean_and_min():
    pred = [(0, 0, 2, 2)]
    gts = [[(0, 0, 2, 2), (1, 1, 3, 3)]]  # Disp 0 and ((1 + 1) / 4 + (1 + 1) / 4) / 4 = 0.25
    out = displacement_over_annotators(pred, gts, 4, 4)
    np.testing.assert_allclose(out["mean"], [0.125])
    np.testing.assert_allclose(out["min"], [0.0])


def test_over_annotators_needs_one_annotator_per_image():
    with pytest.raises(ValueError, match="at least one"):
        iou_over_annotators([(0, 0, 1, 1)], [[]])


def test_box_agreement_summary():
    pred = [(0, 0, 100, 50), (0, 0, 50, 50)]
    gt = [(0, 0, 100, 50), (0, 0, 100, 50)]
    out = box_agreement(pred, gt, 100, 50)
    assert out == pytest.approx({"iou": 0.75, "disp": 0.0625, "recall": 0.5, "n": 2})


def test_rejects_boxes_without_four_coordinates():
    with pytest.raises(ValueError, match="4 coordinates"):
        iou([(0, 0, 1)], [(0, 0, 1)])
