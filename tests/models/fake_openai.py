"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 for the client tests (stdlib only).

The request's model name picks the behaviour: "ok" answers `answer`; "slow" sleeps `delay_s` first; "flaky"
answers 503 (or 429 with Retry-After) `failures` times, then like "ok"; "fail-after" answers `ok_requests`
requests, then 503; "not-json" answers text; "no-choices"
answers JSON without choices; "boom" answers 400. Any model checks the key when `key` is set (401 otherwise).
Every request's JSON body is kept in `requests`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    def __init__(self, answer: str = "(0.90, 100, 100, 900, 900)", key: str | None = None, failures: int = 2,
                 delay_s: float = 2.0, failure_status: int = 503):
        self.answer, self.key, self.failures, self.delay_s = answer, key, failures, delay_s
        self.failure_status = failure_status
        self.ok_requests = 1  # "fail-after": this many requests answer, the later ones get 503
        self.requests: list[dict] = []
        self._failed = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: "bytes | dict", headers: "dict | None" = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append(body)
                if not self.path.endswith("/v1/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if fake.key is not None and self.headers.get("Authorization") != f"Bearer {fake.key}":
                    return self._send(401, {"error": {"message": "Incorrect API key provided"}})
                model = body.get("model")
                if model == "slow":
                    time.sleep(fake.delay_s)
                if model == "flaky" and fake._failed < fake.failures:
                    fake._failed += 1
                    return self._send(fake.failure_status, {"error": {"message": "overloaded"}},
                                      {"Retry-After": "0"} if fake.failure_status == 429 else None)
                if model == "fail-after" and len(fake.requests) > fake.ok_requests:
                    return self._send(503, {"error": {"message": "gone"}})
                if model == "not-json":
                    return self._send(200, b"<html>gateway</html>")
                if model == "no-choices":
                    return self._send(200, {"object": "chat.completion"})
                if model == "boom":
                    return self._send(400, {"error": {"message": "image too large"}})
                self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": fake.answer}}]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
