"""The service bounds what one request may cost: k (MAX_K, whatever the options say), the pixels sent back with
return_images (MAX_RETURNED_PIXELS), the text's length; a bad argument is a 4xx naming it, never a 5xx."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from intentcrop.defaults import DEFAULTS  # noqa: E402
from intentcrop.serve import create_app  # noqa: E402
from intentcrop.serve.app import MAX_K, MAX_RETURNED_PIXELS  # noqa: E402


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


SAMPLE = Path(__file__).resolve().parents[2] / "intentcrop" / "data" / "sample.jpg"


@pytest.fixture(scope="module")
def upload():
    return SAMPLE.read_bytes()


def post(client, upload, data):
    return client.post("/crop", files={"image": ("a.jpg", upload, "image/jpeg")}, data=data)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"k": str(MAX_K + 1)}, f"1..{MAX_K}"),
        ({"k": "0"}, f"1..{MAX_K}"),
        ({"k": "2", "options": '{"max_k": 1}'}, "max_k"),
        ({"options": '{"k": 30, "max_k": 40}'}, f"1..{MAX_K}"),  # the options cannot raise the service's bound
        ({"size": "9999x9999", "k": "20", "return_images": "true"}, "return_images"),
        ({"size": "10000x1"}, "outside the supported range"),
        ({"ratio": "10000:1"}, "outside the supported range"),
        ({"text": "the dog " + "x" * DEFAULTS.max_text_length}, "max_text_length"),
        ({"subject": "a,b,c,d"}, "four numbers"),
        ({"subject": "nan,1,2,3"}, "four finite numbers"),
        ({"options": "[1]"}, "options must be a mapping"),
        ({"options": '{"k": "3"}'}, "option k"),
        ({"options": '{"max_text_length": 0}'}, "max_text_length"),
        ({"method": "nope"}, "unknown method"),
    ],
)
def test_out_of_bounds_requests_get_a_400_naming_the_argument(client, upload, data, message):
    start = time.perf_counter()
    r = post(client, upload, data)
    assert r.status_code == 400, r.text
    assert message in r.json()["detail"]
    assert time.perf_counter() - start < 30  # refused, not computed (9999x9999 at k=20 took minutes)
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("data", [{"k": "abc"}, {"return_images": "maybe"}, {"image_format": "bmp"}])
def test_unparseable_fields_are_a_422(client, upload, data):
    assert post(client, upload, data).status_code == 422


def test_a_large_size_without_images_is_only_boxes(client, upload):
    r = post(client, upload, {"size": "9999x9999", "k": "20"})
    assert r.status_code == 200, r.text
    assert all("image" not in c for c in r.json()["crops"])


def test_the_returned_pixels_are_counted_after_cropping_too(upload):
    from PIL import Image

    w, h = Image.open(SAMPLE).size
    small = TestClient(create_app(max_returned_pixels=w * h // 4))  # less than a half-size crop
    r = post(small, upload, {"k": "3", "return_images": "true"})
    assert r.status_code == 400 and "return_images" in r.json()["detail"]
    assert post(small, upload, {"k": "3"}).status_code == 200  # the boxes alone cost nothing


def test_within_the_budget_images_come_back(client, upload):
    assert MAX_RETURNED_PIXELS >= 20 * 1_000_000  # 20 crops of a megapixel fit
    r = post(client, upload, {"size": "1000x1000", "k": "2", "return_images": "true"})
    assert r.status_code == 200, r.text
    assert all("image" in c for c in r.json()["crops"])


def test_a_negative_subject_box_is_clipped(client, upload):
    r = post(client, upload, {"subject": "-5,-5,200,200", "k": "1"})
    assert r.status_code == 200, r.text
    assert r.json()["grounding"]["region"] == [0.0, 0.0, 200.0, 200.0]
