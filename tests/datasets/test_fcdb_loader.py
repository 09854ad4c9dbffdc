import pytest

from intentcrop.core.box import Box
from intentcrop.datasets import DatasetError, available_splits, load_fcdb
from intentcrop.errors import IntentCropError

ROW = {"filename": "a.jpg", "width": 40, "height": 30, "crop_xywh": [4, 3, 20, 15]}


def test_loads_rows_as_boxes_and_keeps_extra_fields(make_folder):
    extra = dict(ROW, candidate_windows_xywh=[[0, 0, 10, 10]])
    root = make_folder("dev.jsonl", [extra, dict(ROW, filename="b.jpg")], {"a.jpg": (40, 30), "b.jpg": (40, 30)})
    data = load_fcdb(root, "dev")
    assert len(data) == 2 and data.split == "dev"
    sample = data[0]
    assert sample.crop == Box(4, 3, 24, 18)
    assert sample.crop_ratio == pytest.approx(20 / 15)
    assert sample.image_path == root / "images" / "a.jpg"
    assert sample.extra == {"candidate_windows_xywh": [[0, 0, 10, 10]]}
    assert not sample.clamped
    assert [s.filename for s in data.head(1)] == ["a.jpg"]


@pytest.mark.parametrize(
    "crop_xywh, expected",
    [
        ([-1, 0, 20, 30], Box(0, 0, 19, 30)),  # 1 px past the left edge
        ([30, 20, 12, 12], Box(30, 20, 40, 30)),  # 2 px past the right and bottom edges
    ],
)
def test_small_overshoot_is_clamped(make_folder, crop_xywh, expected):
    root = make_folder("dev.jsonl", [dict(ROW, crop_xywh=crop_xywh)], {"a.jpg": (40, 30)})
    sample = load_fcdb(root, "dev")[0]
    assert sample.crop == expected and sample.clamped


def test_large_overshoot_is_an_error_naming_the_line(make_folder):
    root = make_folder("dev.jsonl", [ROW, dict(ROW, crop_xywh=[30, 0, 20, 10])], {"a.jpg": (40, 30)})
    with pytest.raises(DatasetError, match=r"dev.jsonl:2: .*leaves the 40x30 image by 10 px"):
        load_fcdb(root, "dev")


def test_size_is_checked_only_when_asked(make_folder):
    root = make_folder("dev.jsonl", [ROW], {"a.jpg": (41, 30)})
    data = load_fcdb(root, "dev")  # lazy: no image is opened
    with pytest.raises(DatasetError, match="41x30 but its annotation says 40x30"):
        data[0].check_size()
    with pytest.raises(DatasetError, match="41x30"):
        load_fcdb(root, "dev", check_sizes=True)


def test_missing_image_is_reported_on_check(make_folder):
    root = make_folder("dev.jsonl", [dict(ROW, filename="gone.jpg")], {"a.jpg": (40, 30)})
    with pytest.raises(DatasetError, match="gone.jpg does not exist"):
        load_fcdb(root, "dev").check_sizes()


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_fcdb(tmp_path / "nowhere", "dev")


def test_missing_split_lists_the_splits_there(make_folder):
    root = make_folder("train.jsonl", [ROW], {"a.jpg": (40, 30)})
    assert available_splits(root) == ["train"]
    with pytest.raises(DatasetError, match=r"split 'dev'.*splits here: train"):
        load_fcdb(root, "dev")


def test_missing_images_folder(tmp_path):
    (tmp_path / "dev.jsonl").write_text("")
    with pytest.raises(DatasetError, match="images folder"):
        load_fcdb(tmp_path, "dev")


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not valid JSON"),
        ('{"filename": "a.jpg", "width": 40, "height": 30}', "missing field.*crop_xywh"),
        ('{"filename": "a.jpg", "width": 40, "height": 30, "crop_xywh": [1, 2]}', "not a valid"),
        ('{"filename": "a.jpg", "width": 0, "height": 30, "crop_xywh": [1, 2, 3, 4]}', "positive"),
    ],
)
def test_bad_rows_are_named(make_folder, line, message):
    root = make_folder("dev.jsonl", [], {"a.jpg": (40, 30)})
    (root / "dev.jsonl").write_text(line + "\n")
    with pytest.raises(DatasetError, match=message):
        load_fcdb(root, "dev")


def test_dataset_error_is_an_intentcrop_error():
    assert issubclass(DatasetError, IntentCropError)


def test_real_fcdb_splits(fcdb_dir):
    dev, train = load_fcdb(fcdb_dir, "dev"), load_fcdb(fcdb_dir, "train")
    assert (len(dev), len(train)) == (167, 1335)
    # The README: 19 crops overshoot by 1-2 px; all are clamped inside their image.
    assert sum(s.clamped for s in dev) + sum(s.clamped for s in train) == 19
    for sample in list(dev) + list(train):
        assert Box(0, 0, sample.width, sample.height).contains(sample.crop)
    dev.head(5).check_sizes()
    assert "candidate_windows_xywh" in dev[0].extra
