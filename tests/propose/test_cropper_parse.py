"""The tolerant parser of VLM answers (intentcrop.propose.cropper_parse): a corpus of real-looking answers, the
scale rules, and a quick hypothesis fuzz (the long campaign: benchmarks/fuzz_cropper_parse.py)."""

import pytest
from hypothesis import given, settings, strategies as st

from intentcrop.core.box import Box
from intentcrop.errors import IntentCropError
from intentcrop.propose.cropper_parse import VLMAnswerError, coordinate_scale, parse_crops

W, H = 2000, 1000

# (answer, expected [(score, x1, y1, x2, y2) in pixels of a 2000x1000 image], tolerance px)
CORPUS = [
    ("(0.71, 1, 1, 1000, 1000)", [(0.71, 0, 0, 2000, 1000)]),
    ("Output: (0.80, 1, 1, 500.5, 500.5)", [(0.80, 0, 0, 1000, 500)]),
    ("[1, 1, 500.5, 500.5]", [(None, 0, 0, 1000, 500)]),
    ("The best crop is (s=0.9, x1=1, y1=1, x2=500.5, y2=1000).", [(0.9, 0, 0, 1000, 1000)]),
    ("x1: 1; y1: 1; x2: 500.5; y2: 1000", [(None, 0, 0, 1000, 1000)]),
    ("```json\n[[0.6, 1, 1, 500.5, 1000], [0.5, 500.5, 1, 1000, 1000]]\n```",
     [(0.6, 0, 0, 1000, 1000), (0.5, 1000, 0, 2000, 1000)]),
    ("{0.25, 0.0, 0.5, 1.0}", [(None, 500, 0, 1000, 1000)]),  # fractions
    ("(0.9, 0.1, 0.2, 0.6, 0.7)", [(0.9, 200, 200, 1200, 700)]),  # fractions with a score
    ("Crop: (0.5, 1200, 100, 1800, 900)", [(0.5, 1200, 100, 1800, 900)]),  # pixels (a value above 1000)
    ("(0.5, 500.5, 1000, 1, 1)", [(0.5, 0, 0, 1000, 1000)]),  # swapped corners
    ("(0.5, -50, -20, 1200, 1100)", [(0.5, 0, 0, 1200, 1000)]),  # 1200 > 1000: pixels, clipped
    ("(0.7, 1, 1, 500, 500) and again (0.9, 1, 1, 500, 500)", [(0.9, 0, 0, 998, 499)]),  # duplicates merged
    ("Here are my crops:\n1. (0.82, 120, 80, 880, 940)\n2. (0.75, 200, 100, 800, 900)",
     [(0.82, 238, 79, 1760, 939), (0.75, 398, 99, 1600, 899)]),
    ("(0.82 120 80 880 940)", [(0.82, 238, 79, 1760, 939)]),
    ("<0.82|120|80|880|940>", [(0.82, 238, 79, 1760, 939)]),
    ("0.82, 120, 80, 880, 940, 0.75, 200, 100, 800, 900",
     [(0.82, 238, 79, 1760, 939), (0.75, 398, 99, 1600, 899)]),  # two tuples run together
]


@pytest.mark.parametrize("answer,expected", CORPUS)
def test_corpus_of_answers(answer, expected):
    crops = parse_crops(answer, W, H)
    assert len(crops) == len(expected), crops
    for crop, (score, *xyxy) in zip(crops, expected):
        assert crop.score == score
        assert crop.box.to_xyxy() == pytest.approx(tuple(xyxy), abs=3.0)


@pytest.mark.parametrize("answer", [
    "", "I cannot crop this image.", "(1, 2, 3)", "score: 0.5", "(0.5, 10, 10, 10, 10)",
    "(0.5, 2000, 2000, 3000, 3000)",  # pixels wholly outside the image: nothing left
    "1 2 3 4 5 6 7",  # seven numbers are no tuple
])
def test_no_crop_is_a_clear_error(answer):
    with pytest.raises(VLMAnswerError, match="VLM's answer"):
        parse_crops(answer, W, H)


@pytest.mark.parametrize("answer", [None, 12, b"(1, 1, 500, 500)"])
def test_non_text_is_a_clear_error(answer):
    with pytest.raises(VLMAnswerError, match="not text"):
        parse_crops(answer, W, H)


@pytest.mark.parametrize("values,scale", [
    ([0.1, 0.9, 1.0], "fraction"), ([1, 500, 1000], "grid"), ([10, 1001], "pixels"), ([], "grid"),
])
def test_coordinate_scale(values, scale):
    assert coordinate_scale(values) == scale


def test_grid_roundtrip_matches_box_to_grid():
    box = Box(300, 150, 1700, 850)
    crop, = parse_crops(str(box.to_grid(W, H)), W, H)
    assert crop.box.iou(box) > 0.995


_noise = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
_grid = st.integers(1, 1000)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.integers(1, 5000), st.integers(1, 5000))
def test_any_text_gives_crops_inside_the_image_or_a_clear_error(text, width, height):
    try:
        crops = parse_crops(text, width, height)
    except IntentCropError:
        return
    assert crops
    for c in crops:
        b = c.box
        assert 0 <= b.x1 < b.x2 <= width and 0 <= b.y1 < b.y2 <= height


@settings(max_examples=200, deadline=None)
@given(_noise, _grid, _grid, _grid, _grid, st.floats(0.01, 0.99), st.sampled_from(["({}, {}, {}, {}, {})",
       "[{}, {}, {}, {}, {}]", "s={} x1={} y1={} x2={} y2={}", "{}; {}; {}; {}; {}"]))
def test_a_tuple_in_noise_is_found(noise, a, b, c, d, s, fmt):
    if abs(a - c) < 5 or abs(b - d) < 5:
        return
    # noise without digits, so that the tuple is the only numbers in the answer
    noise = "".join(ch for ch in noise if not ch.isdigit())
    answer = f"{noise} " + fmt.format(f"{s:.2f}", a, b, c, d) + f" {noise}"
    crops = parse_crops(answer, W, H)
    want = Box.from_grid((min(a, c), min(b, d), max(a, c), max(b, d)), W, H)
    assert any(cr.box.iou(want) > 0.99 and cr.score == pytest.approx(round(s, 2)) for cr in crops), (answer, crops)
