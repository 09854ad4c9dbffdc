import base64
import io

import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from intentcrop.serve import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(max_upload_bytes=2_000_000))


def test_health(client):
    assert client.get("/health").json()["status"] == "ok"


def test_crop_returns_boxes_and_images(client, sample_image_path):
    files = {"image": ("a.jpg", sample_image_path.read_bytes(), "image/jpeg")}
    r = client.post("/crop", files=files, data={"ratio": "16:9,1:1", "k": "1", "return_images": "true"})
    assert r.status_code == 200, r.text
    crops = r.json()["crops"]
    assert [c["ratio"] for c in crops] == ["16:9", "1:1"]
    img = Image.open(io.BytesIO(base64.b64decode(crops[1]["image"])))
    assert img.size[0] == img.size[1] == crops[1]["box"]["width"]


@pytest.mark.parametrize(
    "files, data, status, message",
    [
        ({"image": ("a.txt", b"hello", "text/plain")}, {}, 400, "not an image"),
        ({"image": ("a.jpg", b"", "image/jpeg")}, {}, 400, "empty"),
        ({"image": ("a.jpg", b"x" * 2_000_001, "image/jpeg")}, {}, 413, "larger than"),
        (None, {"ratio": "wide"}, 400, "unknown aspect ratio"),
        (None, {"subject": "1,2,3"}, 400, "four numbers"),
        (None, {"size": "0x10"}, 400, "size"),
    ],
)
def test_bad_requests_get_clear_errors_and_the_server_keeps_serving(client, sample_image_path, files, data, status, message):
    files = files or {"image": ("a.jpg", sample_image_path.read_bytes(), "image/jpeg")}
    r = client.post("/crop", files=files, data=data)
    assert r.status_code == status and message in r.json()["detail"]
    assert client.get("/health").status_code == 200
