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


def test_methods_lists_every_pipeline_with_its_summary(client):
    from intentcrop.pipeline import PIPELINE_CONFIGS

    body = client.get("/methods").json()
    assert body["default"] is None
    assert [m["name"] for m in body["methods"]] == list(PIPELINE_CONFIGS)
    by_name = {m["name"]: m for m in body["methods"]}
    assert all(m["summary"] for m in body["methods"])
    assert by_name["vlm"]["intents"] == ["free-form", "query image", "subject", "text"]
    assert TestClient(create_app(method="subject")).get("/methods").json()["default"] == "subject"


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


def test_a_text_not_found_comes_back_with_a_warning_in_the_json(client, monkeypatch):
    import intentcrop
    from intentcrop.world import generate_scene
    from intentcrop.world.bench import DEFAULT_MODELS

    real_crop = intentcrop.crop  # the service picks its default models; here, the committed world models
    monkeypatch.setattr(intentcrop, "crop", lambda *a, **kw: real_crop(
        *a, model=[str(m) for m in DEFAULT_MODELS], device="cpu", **kw))
    buffer = io.BytesIO()
    generate_scene(1).image.save(buffer, format="PNG")
    files = {"image": ("scene.png", buffer.getvalue(), "image/png")}
    r = client.post("/crop", files=files, data={"text": "the purple circle", "k": "1"})  # no purple circle there
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["warnings"] == ["'the purple circle' was not found; returning the best free-form crop"]
    assert body["grounding"]["confidence"] == 0.0
    assert body["crops"][0]["explanation"].startswith("a free-form crop: 'the purple circle' was not found")
    present = client.post("/crop", files=files, data={"text": "the red square", "k": "1"}).json()
    # the only warnings: the world CLIP cannot encode the composition / aesthetic prompts (left out, not found)
    assert all("scorer was left out" in w for w in present["warnings"]) and present["grounding"]["confidence"] > 0.5
