"""Every entry of the hostile corpus (tests/hostile/make_corpus.py) through the API, the CLI and the HTTP service:
only IntentCropError may escape, refused files are named, valid-but-odd ones crop, nothing gives a traceback or
a 5xx."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import intentcrop
from intentcrop.cli.main import main
from intentcrop.errors import ImageLoadError, IntentCropError

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
NAMES = sorted(MANIFEST)


def expect(name: str) -> str:
    return MANIFEST[name]["expect"]


def test_corpus_is_big_enough_and_matches_its_generator(tmp_path):
    assert len(MANIFEST) >= 40
    assert sum((CORPUS / n).stat().st_size for n in NAMES) < 1_000_000
    sys.path.insert(0, str(HERE))
    try:
        import make_corpus
    finally:
        sys.path.remove(str(HERE))
    made = make_corpus.write(tmp_path)
    assert made == MANIFEST  # regenerate with: python tests/hostile/make_corpus.py
    kinds = {n.split("-")[0] for n in NAMES}
    assert {"bomb", "frames", "trunc", "mode", "size", "exif", "disguise"} <= kinds


@pytest.mark.parametrize("name", NAMES)
def test_api(name):
    path = CORPUS / name
    for source in (str(path), path.read_bytes()):
        try:
            results = intentcrop.crop(source, k=1)
        except ImageLoadError as exc:
            assert expect(name) != "crop", f"{name} must crop: {exc}"
            if isinstance(source, str):
                assert str(path) in str(exc)
            continue
        except IntentCropError:
            assert expect(name) == "either"
            continue
        assert expect(name) != "refuse", f"{name} ({MANIFEST[name]['what']}) must be refused"
        assert len(results) == 1


def test_cli_batch_goes_on_past_every_bad_file(capsys):
    paths = [str(CORPUS / n) for n in NAMES]
    code = main(["crop", *paths, "-k", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 1  # some inputs failed
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    cropped = {json.loads(line)["input"] for line in captured.out.splitlines() if line.strip()}
    for name, path in zip(NAMES, paths):
        if expect(name) == "crop":
            assert path in cropped, name
        elif expect(name) == "refuse":
            assert path not in cropped and path in captured.err, name


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
    from fastapi.testclient import TestClient

    from intentcrop.serve import create_app

    return TestClient(create_app(max_upload_bytes=2_000_000), raise_server_exceptions=False)


@pytest.mark.parametrize("name", NAMES)
def test_http(client, name):
    data = (CORPUS / name).read_bytes()
    r = client.post("/crop", files={"image": (name, data, "application/octet-stream")}, data={"k": "1"})
    assert r.status_code < 500, r.text
    if expect(name) == "crop":
        assert r.status_code == 200, r.text
    elif expect(name) == "refuse":
        assert 400 <= r.status_code < 500, r.text


@pytest.mark.parametrize("name", [n for n in NAMES if MANIFEST[n]["expect"] == "refuse"])
def test_http_query_image_is_refused(client, name):
    good = (CORPUS / "mode-png-palette.png").read_bytes()
    r = client.post("/crop", files={"image": ("a.png", good, "image/png"),
                                    "query_image": (name, (CORPUS / name).read_bytes(), "image/jpeg")},
                    data={"k": "1"})
    assert 400 <= r.status_code < 500, r.text
