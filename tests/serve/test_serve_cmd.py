"""`intentcrop serve`'s flags reach the app: models, method, image root, URL policy; --workers' environment."""

import json

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from intentcrop.cli.main import build_parser, main  # noqa: E402
from intentcrop.cli.serve_cmd import app_config, build_app  # noqa: E402


def _args(*argv):
    return build_parser(["serve_cmd"]).parse_args(["serve", *argv])


def test_flags_reach_the_app(tmp_path):
    args = _args("--method", "default", "--image-root", str(tmp_path), "--allow-url", "*.example.com",
                 "--allow-network", "10.0.0.0/8", "--url-max-mb", "1")
    ready = TestClient(build_app(args)).get("/ready").json()
    assert ready == {"ready": True, "method": "default", "models": [], "loaded": ready["loaded"], "error": None,
                     "image_root": True, "url_sources": True}
    policy = app_config(args)["url_policy"]
    assert policy["allow_hosts"] == ["*.example.com"] and policy["max_bytes"] == 1024 * 1024


def test_workers_get_the_same_app_from_the_environment(tmp_path, monkeypatch):
    from intentcrop.serve.app import app_from_environment

    args = _args("--method", "subject", "--image-root", str(tmp_path), "--allow-url", "127.0.0.1")
    monkeypatch.setenv("INTENTCROP_SERVE_CONFIG", json.dumps(app_config(args)))
    ready = TestClient(app_from_environment()).get("/ready").json()
    assert ready["method"] == "subject" and ready["image_root"] and ready["url_sources"]


@pytest.mark.parametrize("argv, message", [
    (["--method", "nope"], "unknown method"),
    (["--image-root", "/no/such/folder"], "not a folder"),
    (["--allow-url", "x", "--allow-network", "not-a-network"], "does not appear to be"),
    (["--allow-url", "x", "--url-ca", "/no/such/ca.pem"], "ca.pem': not a readable PEM certificate file"),
])
def test_bad_flags_exit_2_with_the_reason(capsys, argv, message):
    assert main(["serve", *argv]) == 2
    assert message in capsys.readouterr().err
