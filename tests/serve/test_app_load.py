"""The service under load: concurrent requests give the single-threaded answer (the face cascade was shared by
the worker threads: 500s and other requests' crops), the upload cap is enforced while the body streams, a
stalled body gets a 408, a full queue a 503 with Retry-After, a crop past its time a 504."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
from fastapi.testclient import TestClient  # noqa: E402

import intentcrop  # noqa: E402
from intentcrop.serve import create_app  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "intentcrop" / "data" / "sample.jpg"


def _answer(response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    body.pop("timings_ms", None)
    return body


def post(client, upload, data=None):
    return client.post("/crop", files={"image": ("a.jpg", upload, "image/jpeg")}, data=data or {})


def test_concurrent_requests_all_get_the_single_threaded_answer():
    upload = SAMPLE.read_bytes()
    client = TestClient(create_app(max_concurrent=16, max_queue=128))
    expected = {}
    for data in ({}, {"ratio": "1:1"}, {"ratio": "16:9", "k": "2"}):
        expected[json.dumps(data)] = _answer(post(client, upload, data))
    assert expected['{}']["crops"], "the sample has crops"
    jobs = [json.dumps(d) for d in ({}, {"ratio": "1:1"}, {"ratio": "16:9", "k": "2"})] * 43  # 129 requests

    def one(key: str):
        r = post(client, upload, json.loads(key))
        return key, r.status_code, r.text if r.status_code != 200 else _answer(r)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, jobs[:128]))
    errors = [(status, text) for _, status, text in results if status != 200]
    assert not errors, errors[:3]
    wrong = [key for key, _, body in results if body != expected[key]]
    assert not wrong, f"{len(wrong)} of {len(results)} concurrent answers differ from the single-threaded one"


def test_face_detection_is_the_same_from_many_threads():
    import numpy as np
    from PIL import Image

    from intentcrop.score.features import detect_faces

    gray = np.asarray(Image.open(SAMPLE).convert("L"), dtype=np.float32) / 255
    expected = detect_faces(gray)
    assert len(expected) >= 1
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: detect_faces(gray), range(200)))
    assert all(np.array_equal(f, expected) for f in found)


# -- a real server on 127.0.0.1 ---------------------------------------------------------------------------


@contextmanager
def serving(app):
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _read_response(conn: socket.socket, timeout: float) -> tuple[int, bytes]:
    conn.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # to the end of the body: the refusals close the connection
        head, _, rest = data.partition(b"\r\n\r\n")
        if _ and b"content-length: %d" % len(rest) in head.lower():
            break
        try:
            chunk = conn.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), data[:200]
    return int(head.split()[1]), data


def _headers(length: str | None = None, chunked: bool = False) -> bytes:
    lines = ["POST /crop HTTP/1.1", "Host: 127.0.0.1", "Content-Type: multipart/form-data; boundary=xyz"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture(scope="module")
def server():
    with serving(create_app(max_upload_bytes=1024 * 1024, body_timeout=1.0)) as port:
        yield port


def test_oversized_content_length_is_413_before_the_body(server):
    with socket.create_connection(("127.0.0.1", server), timeout=5) as conn:
        start = time.monotonic()
        conn.sendall(_headers(str(400 * 1024 * 1024)))  # and not a byte of the 400 MB
        status, data = _read_response(conn, 5)
    assert status == 413, data
    assert b"larger than" in data
    assert time.monotonic() - start < 3


def test_chunked_oversized_body_is_413_as_it_streams(server):
    with socket.create_connection(("127.0.0.1", server), timeout=5) as conn:
        chunk = b"x" * 65536
        sent = 0
        conn.sendall(_headers(chunked=True))
        try:
            for _ in range(200):  # 12.5 MB at most, the cap is ~3 MB
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, data = _read_response(conn, 5)
    assert status == 413, data
    assert sent < 12 * 1024 * 1024 or b"larger than" in data


def test_stalled_body_is_408_within_the_timeout(server):
    with socket.create_connection(("127.0.0.1", server), timeout=5) as conn:
        start = time.monotonic()
        conn.sendall(_headers("5000") + b"--xyz\r\n")  # then nothing
        status, data = _read_response(conn, 5)
        waited = time.monotonic() - start
    assert status == 408, data
    assert 0.8 <= waited < 4


def test_real_server_answers_a_crop(server):
    import httpx

    upload = SAMPLE.read_bytes()
    r = httpx.post(f"http://127.0.0.1:{server}/crop", files={"image": ("a.jpg", upload, "image/jpeg")}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["crops"]


# -- the queue and the processing timeout ----------------------------------------------------------------


def _held_crop(monkeypatch, seconds: float = 10.0):
    started, release = threading.Event(), threading.Event()

    def slow_crop(*args, **kwargs):
        started.set()
        release.wait(seconds)
        raise intentcrop.errors.InvalidIntentError("released")

    monkeypatch.setattr(intentcrop, "crop", slow_crop)
    return started, release


def test_full_queue_is_503_with_retry_after(monkeypatch):
    started, release = _held_crop(monkeypatch)
    client = TestClient(create_app(max_concurrent=1, max_queue=0))
    upload = SAMPLE.read_bytes()
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(post, client, upload)
        assert started.wait(10)
        start = time.monotonic()
        busy = post(client, upload)
        assert client.get("/health").status_code == 200  # the loop is free meanwhile
        release.set()
        assert held.result(10).status_code == 400
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "1"
    assert "busy" in busy.json()["detail"]
    assert time.monotonic() - start < 3
    assert post(client, b"not an image").status_code == 400  # the slot is free again


def test_a_crop_past_the_request_timeout_is_504(monkeypatch):
    started, release = _held_crop(monkeypatch, seconds=5)
    client = TestClient(create_app(request_timeout=0.5))
    start = time.monotonic()
    r = post(client, SAMPLE.read_bytes())
    release.set()
    assert r.status_code == 504, r.text
    assert "0.5 s" in r.json()["detail"]
    assert time.monotonic() - start < 4


@pytest.mark.parametrize("kwargs", [{"max_concurrent": 0}, {"max_queue": -1}, {"body_timeout": 0},
                                    {"request_timeout": -1}, {"max_upload_bytes": 0}])
def test_bad_limits_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        create_app(**kwargs)


def test_serve_flags_reach_the_app():
    from intentcrop.cli.main import build_parser
    from intentcrop.cli.serve_cmd import build_app

    args = build_parser().parse_args(["serve", "--max-concurrent", "3", "--max-queue", "5", "--body-timeout", "7",
                                      "--request-timeout", "9", "--keep-alive", "4", "--limit-connections", "20",
                                      "--max-upload-mb", "2"])
    assert (args.max_concurrent, args.max_queue, args.body_timeout, args.request_timeout, args.keep_alive,
            args.limit_connections) == (3, 5, 7.0, 9.0, 4, 20)
    app = build_app(args)
    limits = [m for m in app.user_middleware if m.cls.__name__ == "RequestLimits"][0]
    assert limits.kwargs["max_admitted"] == 8
    assert limits.kwargs["body_timeout"] == 7.0


def test_a_request_without_a_body_gets_the_validation_4xx():
    client = TestClient(create_app())
    r = client.post("/crop")
    assert r.status_code == 422, r.text
    r = client.post("/crop", content=b"x" * 10, headers={"content-length": "ten"})
    assert r.status_code == 400, r.text
