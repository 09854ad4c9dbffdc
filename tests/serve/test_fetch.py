"""Image URLs: fetched from a local server on 127.0.0.1 when the policy lets that network in; refused otherwise."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from intentcrop.serve.fetch import UrlFetchError, UrlPolicy, UrlRefused, fetch_url

SAMPLE = (Path(__file__).resolve().parents[2] / "intentcrop" / "data" / "sample.jpg").read_bytes()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/a.jpg":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(SAMPLE)))
            self.end_headers()
            self.wfile.write(SAMPLE)
        elif self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif self.path == "/big":
            self.send_response(200)
            self.end_headers()  # no Content-Length: counted as it streams
            for _ in range(64):
                self.wfile.write(b"x" * 65536)
        elif self.path == "/slow":
            self.send_response(200)
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self.send_response(404)
            self.end_headers()


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


LOCAL = dict(allow_hosts=["127.0.0.1"], allow_networks=["127.0.0.0/8"])


def test_allowed_host_and_network_is_fetched(server):
    assert fetch_url(f"{server}/a.jpg", UrlPolicy(**LOCAL)) == SAMPLE
    assert fetch_url(f"{server}/redirect?to=/a.jpg", UrlPolicy(**LOCAL)) == SAMPLE


@pytest.mark.parametrize("path, policy, error, message", [
    ("/a.jpg", dict(allow_hosts=["127.0.0.1"]), UrlRefused, "loopback"),  # the address check, at connect time
    ("/a.jpg", dict(allow_hosts=["example.com"], allow_networks=["127.0.0.0/8"]), UrlRefused, "allow-list"),
    ("/redirect?to=http://localhost:9/a.jpg", LOCAL, UrlRefused, "allow-list"),  # redirect re-checked
    ("/loop", dict(LOCAL, max_redirects=2), UrlFetchError, "redirects"),
    ("/big", dict(LOCAL, max_bytes=1_000_000), UrlFetchError, "more than the 1000000"),
    ("/a.jpg", dict(LOCAL, max_bytes=1000), UrlFetchError, "more than the 1000"),  # by Content-Length
    ("/slow", dict(LOCAL, total_timeout=1.0), UrlFetchError, "within 1 s"),
    ("/missing", LOCAL, UrlFetchError, "answered 404"),
])
def test_refusals(server, path, policy, error, message):
    with pytest.raises(error, match=message):
        fetch_url(f"{server}{path}", UrlPolicy(**policy))


@pytest.mark.parametrize("url, message", [
    ("file:///etc/passwd", "only http and https"),
    ("http://user:pw@127.0.0.1/a.jpg", "credentials"),
    ("http://169.254.169.254/latest/meta-data", "allow-list"),
])
def test_bad_urls_are_refused_before_connecting(url, message):
    with pytest.raises(UrlRefused, match=message):
        fetch_url(url, UrlPolicy(allow_hosts=["127.0.0.1"]))


@pytest.mark.parametrize("address, allowed", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.5", False), ("169.254.169.254", False),
    ("::1", False), ("fe80::1", False), ("::ffff:127.0.0.1", False), ("0.0.0.0", False), ("8.8.8.8", True),
])
def test_address_check(address, allowed):
    assert UrlPolicy(allow_hosts=["*"]).address_allowed(address) is allowed


def test_the_service_crops_an_allowed_url_and_refuses_others(server):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from intentcrop.serve import create_app

    client = TestClient(create_app(url_policy=UrlPolicy(**LOCAL)))
    ok = client.post("/crop", data={"url": f"{server}/a.jpg", "k": "1"})
    assert ok.status_code == 200 and ok.json()["image"] == {"width": 512, "height": 512}
    got = client.get(f"/meta/200x200/smart/?url={server}/a.jpg")
    assert got.status_code == 200 and got.json()["crops"][0]["output_size"]["width"] == 200
    refused = client.post("/crop", data={"url": "http://localhost:1/a.jpg"})
    assert refused.status_code == 400 and "allow-list" in refused.json()["detail"]
    failed = client.post("/crop", data={"url": f"{server}/missing"})
    assert failed.status_code == 502 and "404" in failed.json()["detail"]
