import numpy as np
import pytest

from intentcrop.core.box import Box
from intentcrop.datasets import DatasetError, load_gaicd

ROW = {"filename": "a.jpg", "width": 40, "height": 30, "split": "test", "text": "a cat",
       "crops_xyxy": [[0, 0, 40, 30], [5, 5, 35, 25]], "mos": [3.5, 2.0]}


def test_loads_crops_and_mos(make_folder):
    root = make_folder("annotations.jsonl", [ROW, dict(ROW, filename="b.jpg", split="train")],
                       {"a.jpg": (40, 30), "b.jpg": (40, 30)})
    data = load_gaicd(root)
    assert len(data) == 2
    sample = data[0]
    np.testing.assert_array_equal(sample.crops_xyxy, [[0, 0, 40, 30], [5, 5, 35, 25]])
    np.testing.assert_array_equal(sample.mos, [3.5, 2.0])
    assert sample.crops[1] == Box(5, 5, 35, 25)
    assert (sample.split, sample.text) == ("test", "a cat")
    assert [s.filename for s in load_gaicd(root, "train")] == ["b.jpg"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"mos": [1.0]}, "2 crops but 1 MOS"),
        ({"crops_xyxy": [[0, 0, 10]], "mos": [1.0]}, r"\[x1, y1, x2, y2\]"),
        ({"crops_xyxy": [[10, 0, 5, 5]], "mos": [1.0]}, "x2 < x1"),
    ],
)
def test_bad_rows_are_named(make_folder, change, message):
    root = make_folder("annotations.jsonl", [dict(ROW, **change)], {"a.jpg": (40, 30)})
    with pytest.raises(DatasetError, match=message):
        load_gaicd(root)


def test_unknown_split_lists_the_splits(make_folder):
    root = make_folder("annotations.jsonl", [ROW], {"a.jpg": (40, 30)})
    with pytest.raises(DatasetError, match="split 'val' has no rows.*test"):
        load_gaicd(root, "val")


def test_missing_annotations_file(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError, match="annotations file"):
        load_gaicd(tmp_path)


def test_size_mismatch_found_on_check(make_folder):
    root = make_folder("annotations.jsonl", [ROW], {"a.jpg": (40, 31)})
    with pytest.raises(DatasetError, match="40x31"):
        load_gaicd(root, check_sizes=True)


def test_real_gaicd_mini(gaicd_mini_dir):
    data = load_gaicd(gaicd_mini_dir, check_sizes=True)
    assert len(data) == 5 and len(load_gaicd(gaicd_mini_dir, "test")) == 4
    for sample in data:
        assert len(sample.crops_xyxy) == len(sample.mos) >= 10
        assert np.all((sample.mos >= 1) & (sample.mos <= 5))
