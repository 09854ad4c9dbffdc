"""Speed of the offline default cropper beside smartcrop, on 1024-px images, one core.

    python benchmarks/bench_default.py --data ../shared/datasets/fcdb --images 40
    python benchmarks/bench_default.py --data ../shared/datasets/fcdb --quality   # FCDB dev quality instead

Each method runs in its own fresh process (so peak memory is its own) pinned to one thread: latency per
image (mean, p50, p95, including JPEG decode), images/s, and peak resident memory, printed as a table.
Images are FCDB's, resized so the long side is exactly 1024 px and written to a temporary folder.
Methods: intentcrop's default pipeline free-form and with a 16:9 ratio, and smartcrop (the `smartcrop`
package, configured as in `intentcrop eval fcdb`: free-form searches 8 ratios; with a ratio, one).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

METHODS = {
    "intentcrop": ("intentcrop default (free-form)", None),
    "intentcrop-16:9": ("intentcrop default (16:9)", 16 / 9),
    "smartcrop": ("smartcrop as in eval (free-form, 8 ratios)", None),
    "smartcrop-16:9": ("smartcrop as in eval (16:9)", 16 / 9),
    "smartcrop-full": ("smartcrop full resolution (free-form, 8 ratios)", None),
    "smartcrop-full-16:9": ("smartcrop full resolution (16:9)", 16 / 9),
}


def prepare_images(data: Path, split: str, count: int, out_dir: Path) -> list[Path]:
    from PIL import Image

    rows = [json.loads(line) for line in open(data / f"{split}.jsonl") if line.strip()][:count]
    paths = []
    for row in rows:
        with Image.open(data / "images" / row["filename"]) as img:
            img = img.convert("RGB")
            s = 1024 / max(img.size)
            img = img.resize((round(img.size[0] * s), round(img.size[1] * s)), Image.Resampling.BICUBIC)
            path = out_dir / row["filename"]
            img.save(path, quality=92)
            paths.append(path)
    return paths


def worker(method: str, paths: list[str], warmup: int) -> dict:
    """Runs inside a fresh process: time `method` on every image, report latencies and peak memory."""
    import resource

    import cv2
    import numpy as np

    cv2.setNumThreads(1)
    _, ratio = METHODS[method]
    if method.startswith("intentcrop"):
        import intentcrop

        def run(p):
            return intentcrop.crop(p, k=1, ratio=ratio)[0].box
    else:  # smartcrop as in eval: prescaled to a 100-px target, or full resolution (the reference setting)
        from intentcrop.evaluation.croppers import SmartcropCropper

        cropper = SmartcropCropper(target_side=None if method.startswith("smartcrop-full") else 100)

        def run(p):
            return cropper(Path(p), ratio=ratio)
    for p in paths[:warmup]:  # first calls load models and fill caches
        run(p)
    times = []
    for p in paths:
        t = time.perf_counter()
        run(p)
        times.append(time.perf_counter() - t)
    t = np.array(times)
    return {"method": method, "images": len(t), "mean_ms": 1000 * t.mean(), "p50_ms": 1000 * np.median(t),
            "p95_ms": 1000 * np.percentile(t, 95), "images_per_s": len(t) / t.sum(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


class PipelineCropper:
    """intentcrop's default pipeline with another scorer (e.g. the hand-weighted one), as an FCDB cropper."""

    def __init__(self, scorer: str) -> None:
        from intentcrop.pipeline import create_pipeline

        self.name = f"intentcrop[{scorer}]"
        self.pipeline = create_pipeline("default", scorers=[(scorer, 1.0, {})])

    def __call__(self, image_path: Path, ratio: float | None = None):
        from intentcrop.api import make_intent

        return self.pipeline.run(image_path, make_intent(ratio=ratio, k=1)).results[0].box


def quality(data: Path, split: str) -> int:
    """FCDB quality of the learned default, the hand-weighted scorer and the baselines, in one run, both protocols."""
    from intentcrop.datasets import load_fcdb
    from intentcrop.evaluation import evaluate_fcdb, make_cropper

    dataset = load_fcdb(data, split)
    methods = [("intentcrop (learned default)", make_cropper("intentcrop")),
               ("intentcrop (heuristic)", PipelineCropper("heuristic")),
               ("center 90%", make_cropper("center")), ("smartcrop", make_cropper("smartcrop"))]
    print(f"FCDB {split}, {len(dataset)} images")
    print(f"{'method':30s} {'protocol':12s} {'IoU':>6s} {'Disp':>7s} {'recall@0.75':>11s} {'ms/image':>9s}")
    for ratio_aware in (False, True):
        for name, cropper in methods:
            r = evaluate_fcdb(cropper, dataset, method=name, ratio_aware=ratio_aware)
            print(f"{name:30s} {'ratio-aware' if ratio_aware else 'free-form':12s} {r.iou:6.3f} {r.disp:7.4f} "
                  f"{r.recall:11.3f} {1000 * r.seconds_per_image:9.1f}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared/datasets/fcdb"),
                        help="FCDB folder (default ../shared/datasets/fcdb)")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--images", type=int, default=40, help="how many images (default 40)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--method", action="append", choices=list(METHODS), help="default: all")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--quality", action="store_true",
                        help="measure FCDB quality (IoU, Disp, recall) of learned vs heuristic vs baselines instead")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.paths, args.warmup)))
        return 0
    if args.quality:
        return quality(Path(args.data), args.split)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = prepare_images(Path(args.data), args.split, args.images, Path(tmp))
        for method in args.method or list(METHODS):
            cmd = [sys.executable, __file__, "--worker", method, "--warmup", str(args.warmup), "--paths",
                   *map(str, paths)]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                print(f"{method} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    header = (f"{'method':48s} {'mean ms':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'img/s':>7s} {'peak MB':>8s} "
              f"{'x smartcrop (eval)':>19s} {'x smartcrop (full)':>19s}")
    print(f"{len(paths)} images, 1024 px long side, one thread each\n{header}\n{'-' * len(header)}")

    def throughput_ratio(row: dict, twin_name: str) -> str:
        """How many times smartcrop's images/s this intentcrop row reaches, on the same task (ratio or not)."""
        twin = next((t for t in rows if t["method"] == twin_name + ("-16:9" if row["method"].endswith("16:9") else "")),
                    None)
        return f"{row['images_per_s'] / twin['images_per_s']:.1f}x" if twin and row["method"].startswith("intentcrop") else ""

    for r in rows:
        print(f"{METHODS[r['method']][0]:48s} {r['mean_ms']:8.1f} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
              f"{r['images_per_s']:7.1f} {r['peak_rss_mb']:8.0f} {throughput_ratio(r, 'smartcrop'):>19s} "
              f"{throughput_ratio(r, 'smartcrop-full'):>19s}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
