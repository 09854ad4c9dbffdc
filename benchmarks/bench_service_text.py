"""Text crops over HTTP, offline: `intentcrop serve --model fixtures/world/owlvit --model fixtures/world/clip` in a
child process on 127.0.0.1, waits for /ready, then sends N world scenes one after another, each with the text of
one of its objects (the referring expressions of `intentcrop.world`), to POST /crop (JSON) and POST /crop.jpg;
prints the start-up time, p50/p95 latency, requests/s and how many crops hold the named object (IoU of the
object's box inside the crop: at least 90 %; single-object attribute texts, 'the red circle').

usage: python benchmarks/bench_service_text.py [--requests 40] [--serve-args "--workers 1"]"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--serve-args", default="")
    args = ap.parse_args()
    import httpx

    from intentcrop.world import generate_scene
    from intentcrop.world.referring import referrals

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    models = ["--model", str(REPO / "fixtures/world/owlvit"), "--model", str(REPO / "fixtures/world/clip")]
    code = "import sys; from intentcrop.cli.main import main; sys.exit(main(sys.argv[1:]))"
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port), *models,
                             *args.serve_args.split()], cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=60) as client:
            while True:
                try:
                    if client.get(base + "/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() - started > 180:
                    raise SystemExit("not ready after 180 s")
                time.sleep(0.2)
            ready_s = time.monotonic() - started
            latencies, held, sent = [], 0, 0
            t0 = time.monotonic()
            for seed in range(args.requests):
                scene = generate_scene(seed)
                found = [r for r in referrals(scene) if r.kind == "attribute" and len(r.targets) == 1]
                if not found:
                    continue
                expression = found[0]
                buffer = io.BytesIO()
                scene.image.save(buffer, format="PNG")
                files = {"image": ("scene.png", buffer.getvalue(), "image/png")}
                t = time.monotonic()
                r = client.post(base + "/crop", files=files, data={"text": expression.text, "k": "1"})
                latencies.append(time.monotonic() - t)
                sent += 1
                assert r.status_code == 200, r.text
                box = r.json()["crops"][0]["box"]
                x1, y1, x2, y2 = scene.objects[expression.targets[0]].box.to_list()
                inter = (max(0, min(x2, box["x2"]) - max(x1, box["x1"]))
                         * max(0, min(y2, box["y2"]) - max(y1, box["y1"])))
                held += inter >= 0.9 * (x2 - x1) * (y2 - y1)
                image = client.post(base + "/crop.jpg", files=files, data={"text": expression.text})
                assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
            wall = time.monotonic() - t0
        latencies.sort()
        print(f"ready after {ready_s:.1f} s (models loaded); {sent} text crops (JSON) + {sent} image responses")
        print(f"JSON latency p50 {1000 * statistics.median(latencies):.0f} ms, p95 "
              f"{1000 * latencies[int(0.95 * (len(latencies) - 1))]:.0f} ms; {2 * sent / wall:.2f} requests/s "
              f"sequential; the named object held in {held}/{sent} crops")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
