import json

import numpy as np
import pytest

from intentcrop.core.box import Box
from intentcrop.datasets import load_fcdb
from intentcrop.errors import IntentCropError
from intentcrop.evaluation import (
    CenterCropper,
    EvaluationError,
    WholeImageCropper,
    evaluate_fcdb,
    evaluate_fcdb_methods,
)


def test_center_and_whole_on_known_crops(tiny_fcdb):
    data = load_fcdb(tiny_fcdb, "dev")
    centre = evaluate_fcdb(CenterCropper(), data)
    # Image 1: exact. Image 2: centred 54x72 vs top-left 30x40 -> inter 27 * 36 = 972,
    # union 3888 + 1200 - 972. Image 3: 72x54 inside 80x60 -> 0.81.
    ious = [1.0, 972 / (3888 + 1200 - 972), 0.81]
    assert centre.iou == pytest.approx(sum(ious) / 3)
    assert centre.recall == pytest.approx(2 / 3)
    assert [row["iou"] for row in centre.per_image] == pytest.approx(ious, abs=1e-5)
    whole = evaluate_fcdb(WholeImageCropper(), data)
    assert whole.per_image[2]["iou"] == 1.0 and whole.per_image[2]["disp"] == 0.0
    assert whole.method == "whole" and whole.n == 3 and whole.images_per_s > 0


def test_ratio_aware_passes_the_human_ratio(tiny_fcdb):
    seen = []

    def cropper(path, ratio=None):
        seen.append(ratio)
        return Box(0, 0, 10, 10)

    data = load_fcdb(tiny_fcdb, "dev")
    evaluate_fcdb(cropper, data, ratio_aware=True)
    assert seen == pytest.approx([2.0, 0.75, 80 / 60])
    seen.clear()
    evaluate_fcdb(cropper, data)
    assert seen == [None, None, None]


def test_a_cropper_may_return_a_plain_tuple(tiny_fcdb):
    report = evaluate_fcdb(lambda path: (5, 2.5, 95, 47.5), load_fcdb(tiny_fcdb, "dev").head(1), method="tuple")
    assert report.iou == 1.0 and report.method == "tuple"


def test_cropper_errors_name_method_and_image(tiny_fcdb):
    def broken(path):
        raise IntentCropError("no candidates")

    with pytest.raises(EvaluationError, match="broken failed on centre.jpg: no candidates"):
        evaluate_fcdb(broken, load_fcdb(tiny_fcdb, "dev"), method="broken")
    with pytest.raises(EvaluationError, match="not a box"):
        evaluate_fcdb(lambda path: "oops", load_fcdb(tiny_fcdb, "dev"), method="bad")


def test_predictions_are_written_once_and_never_overwritten_silently(tiny_fcdb, tmp_path):
    data = load_fcdb(tiny_fcdb, "dev")
    out = tmp_path / "pred.jsonl"
    croppers = {"center": CenterCropper(), "whole": WholeImageCropper()}
    reports = evaluate_fcdb_methods(croppers, data, predictions=out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["method"], r["filename"]) for r in rows] == [(m, f) for m in croppers for f in
                                                             ("centre.jpg", "corner.jpg", "whole.jpg")]
    assert rows[0]["pred_xyxy"] == [5, 2.5, 95, 47.5] and rows[0]["iou"] == 1.0
    assert [r.method for r in reports] == ["center", "whole"]
    with pytest.raises(EvaluationError, match="already exists"):
        evaluate_fcdb_methods(croppers, data, predictions=out)
    assert len(out.read_text().splitlines()) == 6  # untouched
    evaluate_fcdb_methods({"whole": WholeImageCropper()}, data, predictions=out, overwrite=True)
    assert len(out.read_text().splitlines()) == 3


def test_predictions_folder_must_exist(tiny_fcdb, tmp_path):
    with pytest.raises(EvaluationError, match="does not exist"):
        evaluate_fcdb_methods({"whole": WholeImageCropper()}, load_fcdb(tiny_fcdb, "dev"),
                              predictions=tmp_path / "no" / "pred.jsonl")


@pytest.mark.parametrize("cropper, published_iou", [(CenterCropper(), 0.662), (WholeImageCropper(), 0.630)])
def test_trivial_baselines_reproduce_the_published_dev_numbers(fcdb_dir, cropper, published_iou):
    report = evaluate_fcdb(cropper, load_fcdb(fcdb_dir, "dev"))
    assert report.n == 167
    assert report.iou == pytest.approx(published_iou, abs=1e-3)  # the README rounds 0.6295 up to 0.630


def test_unexpected_exceptions_are_wrapped_with_their_type(tiny_fcdb):
    def broken(path):
        raise KeyError("unknown scorer backend 'default'")

    with pytest.raises(EvaluationError, match="failed on centre.jpg: KeyError: unknown scorer backend 'default'"):
        evaluate_fcdb(broken, load_fcdb(tiny_fcdb, "dev"), method="broken")


def test_candidate_protocol_ranks_the_windows_without_the_human_crop(tiny_fcdb_windows):
    offered = []

    def last_window(path, windows):  # a ranker that always picks the last window it is offered
        offered.append(len(windows))
        return windows[-1]

    data = load_fcdb(tiny_fcdb_windows, "dev")
    report = evaluate_fcdb(last_window, data, candidates=True, method="last")
    assert offered == [2, 2, 2]  # the first window, the human crop itself, is never offered
    corner = data[1]  # 60x80, human crop = its top-left quarter = the last window
    assert report.per_image[1]["iou"] == 1.0 and corner.candidate_windows[-1].tolist() == [0, 0, 30, 40]
    assert report.protocol == "candidate windows" and report.to_dict()["protocol"] == "candidate windows"
    first = evaluate_fcdb(lambda path, windows: windows[0], data, candidates=True)
    assert first.iou == 1.0  # the second window is the human crop again


def test_candidate_protocol_needs_windows(tiny_fcdb):
    with pytest.raises(EvaluationError, match="no candidate_windows_xywh"):
        evaluate_fcdb(lambda path, windows: windows[0], load_fcdb(tiny_fcdb, "dev").head(1), candidates=True)


def test_candidate_protocol_has_no_ratio_variant(tiny_fcdb_windows):
    with pytest.raises(EvaluationError, match="no ratio-aware variant"):
        evaluate_fcdb(lambda path, windows: windows[0], load_fcdb(tiny_fcdb_windows, "dev"), candidates=True,
                      ratio_aware=True)


def test_the_default_method_ranks_fcdb_windows_above_chance(fcdb_dir):
    """FCDB's own protocol on the first 30 dev images: the default's quality scorer picks a better window than
    the average window (0.503 IoU over all 167 dev images; the best window, an oracle, 0.781)."""
    from intentcrop.evaluation import make_ranker
    from intentcrop.metrics.overlap import iou

    data = load_fcdb(fcdb_dir, "dev").head(30)
    report = evaluate_fcdb(make_ranker("intentcrop"), data, candidates=True, method="intentcrop")
    chance = float(np.mean([iou(s.candidate_windows, np.repeat([s.crop.to_xyxy()], len(s.candidate_windows), 0)
                                ).mean() for s in data]))
    assert report.iou > chance + 0.08, (report.iou, chance)
