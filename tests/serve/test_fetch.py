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


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (and 127.0.0.1), made by the openssl command."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed: no certificate for the https server")
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def _serve_https(cert: Path, key: Path):
    """An https server on 127.0.0.1 with this certificate; returns (the server, its port)."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    """An https server whose certificate names localhost; yields (base URL, its certificate)."""
    cert, key = _certificate(tmp_path_factory.mktemp("tls"), "localhost")
    httpd, port = _serve_https(cert, key)
    yield f"https://localhost:{port}", cert
    httpd.shutdown()


HTTPS_LOCAL = dict(allow_hosts=["localhost"], allow_networks=["127.0.0.0/8", "::1/128"])


def test_https_is_fetched_when_its_certificate_is_trusted(https_server):
    base, cert = https_server
    policy = UrlPolicy(**HTTPS_LOCAL, ca_file=str(cert))
    assert fetch_url(f"{base}/a.jpg", policy) == SAMPLE
    assert fetch_url(f"{base}/redirect?to=/a.jpg", policy) == SAMPLE  # a relative redirect stays on https


def test_https_refuses_an_untrusted_or_misnamed_certificate(https_server, tmp_path):
    base, cert = https_server
    with pytest.raises(UrlFetchError, match="certificate is not trusted"):
        fetch_url(f"{base}/a.jpg", UrlPolicy(**HTTPS_LOCAL))  # self-signed, not in the system's store
    other, _ = _certificate(tmp_path, "other.test")
    with pytest.raises(UrlFetchError, match="certificate is not trusted"):
        fetch_url(f"{base}/a.jpg", UrlPolicy(**HTTPS_LOCAL, ca_file=str(other)))  # a CA that did not sign it
    httpd, port = _serve_https(*_certificate(tmp_path, "other.test"))
    try:  # a trusted certificate, but for another host name
        with pytest.raises(UrlFetchError, match="certificate is not trusted.*localhost"):
            fetch_url(f"https://localhost:{port}/a.jpg", UrlPolicy(**HTTPS_LOCAL, ca_file=str(other)))
    finally:
        httpd.shutdown()


def test_https_redirects_are_checked_like_the_first_url(https_server):
    base, cert = https_server
    with pytest.raises(UrlRefused, match="allow-list"):
        fetch_url(f"{base}/redirect?to=https://example.com/a.jpg", UrlPolicy(**HTTPS_LOCAL, ca_file=str(cert)))
    with pytest.raises(UrlRefused, match="loopback"):  # https to a loopback name the network list does not let in
        fetch_url(f"{base}/a.jpg", UrlPolicy(allow_hosts=["localhost"], ca_file=str(cert)))


def test_a_bad_ca_file_fails_when_the_policy_is_made(tmp_path):
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ValueError, match="bad.pem"):
        UrlPolicy(allow_hosts=["*"], ca_file=str(tmp_path / "bad.pem"))
    with pytest.raises(ValueError, match="missing.pem"):
        UrlPolicy(allow_hosts=["*"], ca_file=str(tmp_path / "missing.pem"))
