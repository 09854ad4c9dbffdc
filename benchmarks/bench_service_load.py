"""The HTTP service under load, on 127.0.0.1 only: starts `intentcrop serve` in a child process on a free port,
sends a bounded mix of requests, prints errors, 5xx, p50/p95 latency and the server's peak RSS, then stops it.

The mix (--requests, default 200, --concurrency clients at once, default 16): plain crops of the packaged
sample (with ratios, k and text varied), slow clients that trickle their body over ~2 s, a few 40 MB uploads
(the sample padded with bytes after its end, under the 50 MB cap), bad inputs that must get their 4xx (not an
image, k out of range, an unknown option, an oversized Content-Length), all shuffled with a fixed seed. 503s for
a full queue (status 0 in the table) are counted apart from other 5xx (they are the service's backpressure, not failures).

--sequential N instead sends N plain crops one after another and prints the server's RSS along the way (the
memory check; run it with and without MALLOC_ARENA_MAX=2 in the environment, which the server inherits).

usage (from a checkout, venv active):  python benchmarks/bench_service_load.py [--requests 200] [--sequential 200]
Bounded: every request has a 60 s timeout and the run stops sending after --max-seconds (default 240)."""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = (REPO / "intentcrop" / "data" / "sample.jpg").read_bytes()
BIG = 40 * 1024 * 1024
SAMPLES_5XX: dict[int, bytes] = {}  # the first response of each 5xx status, printed at the end


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, extra: list[str]) -> subprocess.Popen:
    code = "import sys; from intentcrop.cli.main import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


def _multipart(fields: dict[str, str], image: bytes) -> tuple[bytes, str]:
    boundary = "bench-boundary-7f3a"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
                 "Content-Type: image/jpeg\r\n\r\n".encode() + image + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def raw_request(port: int, body: bytes, content_type: str, trickle_s: float = 0.0,
                declared: int | None = None, timeout: float = 60) -> int:
    """POST /crop over a plain socket (a slow client sends its body in pieces over trickle_s); the status."""
    head = (f"POST /crop HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {declared if declared is not None else len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(head)
        if declared is None:
            pieces = 20 if trickle_s else 1
            step = max(1, -(-len(body) // pieces))
            try:
                for i in range(0, len(body), step):
                    conn.sendall(body[i:i + step])
                    if trickle_s:
                        time.sleep(trickle_s / pieces)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused as it arrived: the status says why
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # to the end: the client asked for Connection: close
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split()[1]) if data.startswith(b"HTTP/") else -1
    if status >= 500:
        SAMPLES_5XX.setdefault(status, data[:600])
    return 0 if status == 503 and b'"detail":"busy' in data.replace(b" ", b"") else status  # 0: the queue was full


def build_mix(n: int, seed: int = 0) -> list[tuple[str, dict]]:
    plain = [{}, {"ratio": "1:1"}, {"ratio": "16:9,4:5", "k": "2"}, {"subject": "120,80,360,400"}, {"size": "320x240"}]
    mix: list[tuple[str, dict]] = []
    mix += [("big 40 MB", {})] * 4
    mix += [("oversized Content-Length", {})] * 2
    mix += [("slow client", {"ratio": "1:1"})] * 12
    mix += [("bad: not an image", {}), ("bad: k=99", {"k": "99"}), ("bad: unknown option", {"options": '{"nope": 1}'})] * 4
    while len(mix) < n:
        mix.append(("plain", plain[len(mix) % len(plain)]))
    random.Random(seed).shuffle(mix)
    return mix[:n]


EXPECTED = {"plain": 200, "slow client": 200, "big 40 MB": 200, "oversized Content-Length": 413,
            "bad: not an image": 400, "bad: k=99": 400, "bad: unknown option": 400}


def one(port: int, kind: str, fields: dict) -> tuple[str, int, float]:
    image = SAMPLE
    if kind == "big 40 MB":
        image = SAMPLE + b"\0" * (BIG - len(SAMPLE))  # JPEG readers stop at the end-of-image marker
    elif kind == "bad: not an image":
        image = b"this is not a picture" * 100
    body, ctype = _multipart(fields, image)
    start = time.perf_counter()
    try:
        if kind == "oversized Content-Length":
            status = raw_request(port, b"", ctype, declared=400 * 1024 * 1024)
        else:
            status = raw_request(port, body, ctype, trickle_s=2.0 if kind == "slow client" else 0.0)
    except OSError as exc:
        print(f"  {kind}: {type(exc).__name__}: {exc}", file=sys.stderr)
        status = -1
    return kind, status, time.perf_counter() - start


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run_mix(port: int, pid: int, n: int, concurrency: int, max_seconds: float) -> None:
    mix = build_mix(n)
    deadline = time.monotonic() + max_seconds
    peak = [0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], _rss_kb(pid))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start_rss = _rss_kb(pid)

    def job(item):
        if time.monotonic() > deadline:
            return item[0], None, 0.0
        return one(port, *item)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(job, mix))
    wall = time.perf_counter() - t0
    stop.set()
    watcher.join()
    sent = [r for r in results if r[1] is not None]
    errors = [(k, s) for k, s, _ in sent if s != EXPECTED[k] and s != 0]
    busy = sum(1 for _, s, _ in sent if s == 0)
    other_5xx = sum(1 for _, s, _ in sent if s >= 500)
    ok = [t for k, s, t in sent if s == 200 and k == "plain"]
    every = [t for _, _, t in sent]
    print(f"requests: {len(sent)} sent of {n} ({concurrency} at once) in {wall:.1f} s")
    for kind in EXPECTED:
        statuses = sorted({s for k, s, _ in sent if k == kind})
        count = sum(1 for k, _, _ in sent if k == kind)
        times = [t for k, _, t in sent if k == kind]
        print(f"  {kind:26s} {count:4d}  statuses {statuses}  p50 {_pct(times, .5) * 1000:7.0f} ms")
    print(f"errors (unexpected status, busy 503s aside): {len(errors)} {errors[:5]}")
    print(f"5xx: {other_5xx} (besides {busy} x 503 busy, the queue's backpressure: status 0 above)")
    for status, data in SAMPLES_5XX.items():
        print(f"  first {status}: {data.decode('latin-1')!r}")
    print(f"latency, plain 200s: p50 {_pct(ok, .5) * 1000:.0f} ms  p95 {_pct(ok, .95) * 1000:.0f} ms; "
          f"all requests: p50 {_pct(every, .5) * 1000:.0f} ms  p95 {_pct(every, .95) * 1000:.0f} ms")
    print(f"server RSS: {start_rss / 1024:.0f} MB at the start, peak {max(peak[0], _rss_kb(pid, 'VmHWM')) / 1024:.0f} MB "
          f"(VmHWM), {_rss_kb(pid) / 1024:.0f} MB at the end")


def run_sequential(port: int, pid: int, n: int, max_seconds: float) -> None:
    import httpx

    deadline = time.monotonic() + max_seconds
    marks = []
    with httpx.Client(timeout=60) as client:
        for i in range(n):
            if time.monotonic() > deadline:
                break
            fields = [{}, {"ratio": "1:1"}, {"ratio": "16:9,4:5", "k": "2"}][i % 3]
            r = client.post(f"http://127.0.0.1:{port}/crop", files={"image": ("a.jpg", SAMPLE, "image/jpeg")},
                            data=fields)
            if r.status_code != 200:
                print(f"  request {i}: {r.status_code} {r.text[:200]}")
            if i % max(1, n // 8) == 0 or i == n - 1:
                marks.append((i + 1, _rss_kb(pid)))
    print(f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '(unset)')}: RSS after request "
          + ", ".join(f"{i}: {kb / 1024:.0f} MB" for i, kb in marks)
          + f"; peak {_rss_kb(pid, 'VmHWM') / 1024:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--sequential", type=int, default=0, help="N sequential plain crops instead (the memory check)")
    ap.add_argument("--max-seconds", type=float, default=240)
    ap.add_argument("--serve-args", default="--max-queue 16", help="extra `intentcrop serve` flags")
    args = ap.parse_args(argv)
    port = _free_port()
    proc = start_server(port, args.serve_args.split())
    try:
        if args.sequential:
            run_sequential(port, proc.pid, args.sequential, args.max_seconds)
        else:
            run_mix(port, proc.pid, args.requests, args.concurrency, args.max_seconds)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
