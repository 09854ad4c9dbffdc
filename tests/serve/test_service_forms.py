"""The service's forms beyond the JSON POST: image responses, the thumbor-style GET over a folder, /meta, /ready,
the offline docs page and the typed schema."""

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from intentcrop.serve import create_app  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WORLD_MODELS = [str(REPO / "fixtures" / "world" / "owlvit"), str(REPO / "fixtures" / "world" / "clip")]


@pytest.fixture(scope="module")
def image_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    (root / "holiday").mkdir()
    (root / "holiday" / "beach.jpg").write_bytes((REPO / "intentcrop" / "data" / "sample.jpg").read_bytes())
    (root / "notes.txt").write_text("not an image")
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.jpg").write_bytes((REPO / "intentcrop" / "data" / "sample.jpg").read_bytes())
    os.symlink(outside / "secret.jpg", root / "escape.jpg")
    return root


@pytest.fixture(scope="module")
def client(image_root):
    return TestClient(create_app(image_root=image_root))


def _upload(path):
    return {"image": ("a.jpg", Path(path).read_bytes(), "image/jpeg")}


@pytest.mark.parametrize("url, headers, media", [
    ("/crop.png", {}, "image/png"),
    ("/crop.jpg", {}, "image/jpeg"),
    ("/crop.webp", {}, "image/webp"),
    ("/crop", {"Accept": "image/png"}, "image/png"),
    ("/crop", {"Accept": "image/*"}, "image/jpeg"),
])
def test_image_responses_carry_the_best_crop_and_its_geometry(client, sample_image_path, url, headers, media):
    r = client.post(url, files=_upload(sample_image_path), data={"ratio": "1:1"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media
    x1, y1, x2, y2 = (int(v) for v in r.headers["x-crop-box"].split(","))
    assert Image.open(io.BytesIO(r.content)).size == (x2 - x1, y2 - y1)
    assert r.headers["x-crop-ratio"] == "1:1" and r.headers["x-crop-rank"] == "1"
    json_body = client.post("/crop", files=_upload(sample_image_path), data={"ratio": "1:1"}).json()
    assert json_body["crops"][0]["box"] == {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "width": x2 - x1,
                                            "height": y2 - y1}
    assert json_body["method"] == "default" and "focal_point" in json_body


def test_unknown_image_extension_is_a_404(client, sample_image_path):
    r = client.post("/crop.gif", files=_upload(sample_image_path))
    assert r.status_code == 404 and "jpg, png and webp" in r.json()["detail"]


def test_get_form_crops_an_image_of_the_folder_at_the_size(client):
    r = client.get("/crop/300x200/smart/holiday/beach.jpg")
    assert r.status_code == 200, r.text
    assert Image.open(io.BytesIO(r.content)).size == (300, 200)
    second = client.get("/crop/smart/holiday/beach.jpg?ratio=16:9&k=2&rank=2&format=png")
    assert second.status_code == 200 and second.headers["content-type"] == "image/png"
    assert second.headers["x-crop-rank"] == "2"
    meta = client.get("/meta/300x200/smart/holiday/beach.jpg?k=2").json()
    assert len(meta["crops"]) == 2 and meta["crops"][0]["output_size"] == {"width": 300, "height": 200}
    assert r.headers["x-crop-box"] == "{x1},{y1},{x2},{y2}".format(**meta["crops"][0]["box"])


@pytest.mark.parametrize("path, status, message", [
    ("/crop/smart/%2e%2e/outside/secret.jpg", 400, "'..'"),
    ("/crop/smart/holiday/..%2F..%2Fsecret.jpg", 400, "'..'"),
    ("/crop/smart//etc/hosts.jpg", 400, "inside the image folder"),
    ("/crop/smart/escape.jpg", 400, "outside the image folder"),  # a symlink out of the folder
    ("/crop/smart/notes.txt", 400, "not an image file name"),
    ("/crop/smart/holiday/missing.jpg", 404, "no such image"),
    ("/meta/0x200/smart/holiday/beach.jpg", 400, "both sides"),
    ("/crop/smart/holiday/beach.jpg?url=http://example.com/a.jpg", 400, "not both"),
    ("/crop/smart/holiday/beach.jpg?method=nope", 400, "unknown method"),
])
def test_get_form_refuses_paths_outside_the_folder_and_bad_parameters(client, path, status, message):
    r = client.get(path)
    assert r.status_code == status and message in r.json()["detail"], r.text


def test_get_form_is_off_without_an_image_root(sample_image_path):
    r = TestClient(create_app()).get("/crop/smart/a.jpg")
    assert r.status_code == 404 and "--image-root" in r.json()["detail"]


def test_url_sources_are_off_by_default(client):
    r = client.post("/crop", data={"url": "http://127.0.0.1:1/a.jpg"})
    assert r.status_code == 400 and "image URLs are off" in r.json()["detail"]


def test_docs_page_and_its_assets_are_served_locally(client):
    page = client.get("/docs").text
    assert "//cdn" not in page and "https://" not in page and "http://" not in page
    for src in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css", "/static/docs.js"):
        if src.startswith("/docs-assets") and src not in page:
            pytest.skip("swagger-ui-bundle is not installed: the plain docs page is served")
        assert client.get(src).status_code == 200


def test_schema_types_the_responses(client):
    schema = client.get("/openapi.json").json()
    crop = schema["paths"]["/crop"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert crop == {"$ref": "#/components/schemas/CropResponse"}
    fields = schema["components"]["schemas"]["Crop"]["properties"]
    assert {"rank", "box", "score", "explanation", "focal_point"} <= set(fields)
    assert {"/crop.{extension}", "/crop/{spec}", "/meta/{spec}", "/health", "/ready"} <= set(schema["paths"])


def test_page_is_served_without_external_assets(client):
    page = client.get("/").text
    assert "<form id=\"crop-form\"" in page and "http://" not in page and "https://" not in page
    for asset in ("/static/app.js", "/static/app.css"):
        r = client.get(asset)
        assert r.status_code == 200 and "https://" not in r.text


def test_ready_names_the_models_and_text_cropping_works_offline(sample_image_path):
    from intentcrop.world import generate_scene

    app_client = TestClient(create_app(models=WORLD_MODELS, method=None))
    deadline = time.monotonic() + 120
    while (r := app_client.get("/ready")).status_code != 200 and time.monotonic() < deadline:
        assert r.status_code == 503 and r.json()["ready"] is False
        time.sleep(0.2)
    body = r.json()
    assert body["ready"] is True and body["models"] == WORLD_MODELS and "grounder:owlvit" in body["loaded"]
    buffer = io.BytesIO()
    generate_scene(1).image.save(buffer, format="PNG")
    files = {"image": ("scene.png", buffer.getvalue(), "image/png")}
    found = app_client.post("/crop", files=files, data={"text": "the red square", "k": "1"}).json()
    # the world CLIP cannot encode the prompt scorers' words: those scorers are left out, saying so
    warnings = [w for w in found["warnings"] if "scorer was left out" not in w]
    assert found["method"] == "vlm" and warnings == [] and found["grounding"]["confidence"] > 0.5
    plain = app_client.post("/crop", files=_upload(sample_image_path), data={"k": "1"})  # no text: no models used
    assert plain.status_code == 200 and plain.json()["method"] == "default"


def test_a_text_without_models_is_a_503_naming_the_fix(client, sample_image_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    r = client.post("/crop", files=_upload(sample_image_path), data={"text": "a dog"})
    assert r.status_code == 503 and "not available" in r.json()["detail"]


def test_a_broken_model_folder_shows_in_ready(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    app_client = TestClient(create_app(models=[str(tmp_path)]))
    deadline = time.monotonic() + 60
    while (r := app_client.get("/ready").json())["error"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert r["ready"] is False and r["error"]
