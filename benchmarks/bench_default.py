"""Speed of the offline default cropper beside smartcrop and the JPEG decode floor, call for call, one core.

    python benchmarks/bench_default.py --images 12            # all three tables, a few minutes
    python benchmarks/bench_default.py --images 40 --sides 1024
    python benchmarks/bench_default.py --quality              # FCDB dev quality (IoU, Disp, recall) instead

FCDB dev images are resized (bicubic) so the long side is 512, 1024, 2048, 4096 and 8192 px and saved as JPEG
q90 in a temporary folder. Every time is one call on one image file, decode included, median over the images,
after a warm-up call; one thread (OMP/BLAS/OpenCV). Timings of the methods compared in a table are taken in
ONE process, interleaved image by image (method A on image 1, method B on image 1, ..., then image 2), so a
busy machine slows them alike and the ratios hold. Peak memory is measured apart: each method in its own
fresh process on two images, as the peak resident set (VmHWM) minus that process's resident set before the
first call (imports done and models loaded), i.e. what the calls themselves add ("MB" columns).

(a) call for call at --call-side px (default 1024): one intentcrop call (intentcrop.crop(path, k=1, ratio=R))
    against one smartcrop call for the same ratio R (smartcrop.py 0.5, SmartCrop().crop(image, w, h), min_scale as in `intentcrop eval`). For
    the free-form row intentcrop chooses any shape; smartcrop has no free-form mode, so it makes its default
    crop, a square (1:1), in one call. "smartcrop@100" prescales to a 100-px target as its CLI does;
    "smartcrop@full" asks for the largest crop of the ratio, so it analyses the image at full resolution.
    The ratio column is smartcrop's time over intentcrop's: above 1, intentcrop is faster.
(b) by image size: intentcrop free-form against the decode floor (the same JPEG decoded with Pillow's draft
    straight to the 256-px analysis size, then resized to it, as intentcrop's own decode at best could be)
    and a full decode (Image.open + load + convert RGB), and against smartcrop 1:1 at 100 px and at full
    resolution (full resolution only up to --smartcrop-full-max px: at 8192 px one call takes many seconds).
(c) start-up: `intentcrop --version` and a one-image CLI crop (`intentcrop crop IMAGE`, 1024 px), each a fresh
    process (median of 5 / 3 runs), beside `python -c pass`, from this checkout (python -m intentcrop.cli.main).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

SIDES = (512, 1024, 2048, 4096, 8192)
RATIOS = {"free-form": None, "1:1": 1.0, "16:9": 16 / 9, "4:5": 4 / 5}
ANALYSIS_SIDE = 256  # intentcrop.defaults.ANALYSIS_SIDE, repeated so the floor needs no intentcrop import


def prepare_images(data: Path, split: str, count: int, sides, out_dir: Path) -> dict[int, list[Path]]:
    from PIL import Image

    rows = [json.loads(line) for line in open(data / f"{split}.jsonl") if line.strip()][:count]
    out: dict[int, list[Path]] = {s: [] for s in sides}
    for row in rows:
        with Image.open(data / "images" / row["filename"]) as img:
            img = img.convert("RGB")
            for side in sides:
                s = side / max(img.size)
                path = out_dir / str(side) / row["filename"]
                path.parent.mkdir(exist_ok=True)
                img.resize((round(img.size[0] * s), round(img.size[1] * s)), Image.Resampling.BICUBIC).save(
                    path, quality=90)
                out[side].append(path)
    return out


# -- the methods (each a callable on one image path) ------------------------------------------------------


def make_method(name: str):
    """'intentcrop:RATIO', 'smartcrop100:RATIO', 'smartcropfull:RATIO', 'decode-draft', 'decode-full'."""
    from PIL import Image

    kind, _, ratio_name = name.partition(":")
    if kind == "decode-full":
        def run(p):
            with Image.open(p) as im:
                return im.convert("RGB").size
        return run
    if kind == "decode-draft":
        def run(p):
            with Image.open(p) as im:
                s = ANALYSIS_SIDE / max(im.size)
                size = (max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s)))
                im.draft("RGB", size)
                return im.convert("RGB").resize(size, Image.Resampling.BILINEAR).size
        return run
    ratio = RATIOS[ratio_name]
    if kind == "intentcrop":
        import intentcrop

        def run(p):
            return intentcrop.crop(p, k=1, ratio=ratio)[0].box
        return run
    from smartcrop import SmartCrop

    from intentcrop.evaluation.croppers import SMARTCROP_MIN_SCALE
    from intentcrop.io.image import load_image
    from intentcrop.propose.geometry import largest_ratio_window

    cropper, r = SmartCrop(), 1.0 if ratio is None else ratio  # no free-form mode: its default, a square

    def run(p):
        image = load_image(p)
        if kind == "smartcrop100":  # its CLI's setting: a 100-px target, so it analyses a ~100-px copy
            tw, th = (100, max(1, round(100 / r))) if r >= 1 else (max(1, round(100 * r)), 100)
        else:  # the largest crop of the ratio: no prescaling, the analysis runs at full resolution
            tw, th = largest_ratio_window(*image.size, r)
        return cropper.crop(image, width=tw, height=th, min_scale=SMARTCROP_MIN_SCALE)["top_crop"]
    return run


def time_worker(methods: list[str], paths: list[str], warmup: int) -> dict:
    """Runs inside a fresh process: every method on every image, interleaved; per-call seconds."""
    import cv2

    cv2.setNumThreads(1)
    runs = {m: make_method(m) for m in methods}
    for p in paths[:warmup]:
        for m in methods:
            runs[m](p)
    times: dict[str, list[float]] = {m: [] for m in methods}
    for p in paths:
        for m in methods:
            t = time.perf_counter()
            runs[m](p)
            times[m].append(time.perf_counter() - t)
    return times


def memory_worker(method: str, paths: list[str]) -> dict:
    """Runs inside a fresh process: the peak resident memory the calls of `method` add to the process as it is
    once imports are done and models loaded. Read from /proc/self/status (VmRSS, VmHWM): ru_maxrss would keep
    the parent's high-water mark across fork + exec."""
    import cv2

    cv2.setNumThreads(1)

    def status_mb(key: str) -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mb() -> float:
        return status_mb("VmRSS")

    run = make_method(method)
    if method.startswith("intentcrop"):  # load the model and import the stages on a tiny image first
        from PIL import Image

        tiny = Path(tempfile.mkdtemp()) / "tiny.jpg"
        Image.new("RGB", (64, 48), (120, 90, 60)).save(tiny)
        run(str(tiny))
    base = rss_mb()
    for p in paths:
        run(p)
    peak = status_mb("VmHWM")
    return {"method": method, "base_mb": base, "peak_mb": peak, "added_mb": max(0.0, peak - base)}


# -- the driver ---------------------------------------------------------------------------------------------


def _env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))


def _sub(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=_env())
    if done.returncode != 0:
        raise RuntimeError(f"worker {args[:3]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def timings(methods: list[str], paths: list[Path], warmup: int) -> dict[str, float]:
    """Median ms per call of each method, interleaved in one process."""
    t = _sub(["--time-worker", *methods, "--warmup", str(warmup), "--paths", *map(str, paths)])
    return {m: 1000 * statistics.median(v) for m, v in t.items()}


def memory(method: str, paths: list[Path]) -> float:
    return _sub(["--memory-worker", method, "--paths", *map(str, paths[:2])])["added_mb"]


def startup(image: Path) -> dict[str, float]:
    def median_run(cmd: list[str], n: int) -> float:
        out = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, env=_env(), check=True, cwd=REPO)
            out.append(time.perf_counter() - t)
        return 1000 * statistics.median(out)

    cli = [sys.executable, "-m", "intentcrop.cli.main"]
    return {"python -c pass": median_run([sys.executable, "-c", "pass"], 5),
            "intentcrop --version": median_run(cli + ["--version"], 5),
            "intentcrop crop IMAGE (1024 px)": median_run(cli + ["crop", str(image)], 3)}


def _x(num: float, den: float) -> str:
    return f"{num / den:6.1f}x" if den > 0 else "   n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO.parent / "shared/datasets/fcdb"),
                        help="FCDB folder (default ../shared/datasets/fcdb)")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--images", type=int, default=12, help="FCDB images per size (default 12)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--sides", type=int, nargs="+", default=list(SIDES), help="long sides for table (b)")
    parser.add_argument("--call-side", type=int, default=1024, help="long side for table (a) (default 1024)")
    parser.add_argument("--smartcrop-full-max", type=int, default=4096,
                        help="largest side smartcrop runs at full resolution in table (b) (default 4096)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--json", metavar="FILE", help="also write every number as JSON")
    parser.add_argument("--quality", action="store_true",
                        help="measure FCDB quality (IoU, Disp, recall) of learned vs heuristic vs baselines instead")
    parser.add_argument("--time-worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)
    parser.add_argument("--paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_worker:
        print(json.dumps(time_worker(args.time_worker, args.paths, args.warmup)))
        return 0
    if args.memory_worker:
        print(json.dumps(memory_worker(args.memory_worker, args.paths)))
        return 0
    if args.quality:
        return quality(Path(args.data), args.split)

    sides = sorted(set(args.sides) | {args.call_side})
    report: dict = {"images": args.images, "call_for_call": {}, "by_size": {}, "startup": {}}
    with tempfile.TemporaryDirectory() as tmp:
        paths = prepare_images(Path(args.data), args.split, args.images, sides, Path(tmp))
        print(f"{args.images} FCDB {args.split} images per size, JPEG q90; median ms per call, one thread; "
              "ratios are the other method's time over intentcrop's (above 1: intentcrop is faster)\n", flush=True)

        # (a) call for call
        methods = [f"{k}:{r}" for r in RATIOS for k in ("intentcrop", "smartcrop100", "smartcropfull")]
        ms = timings(methods, paths[args.call_side], args.warmup)
        report["call_for_call"] = ms
        print(f"(a) call for call at {args.call_side} px (free-form: smartcrop makes its default square)")
        head = f"{'ratio':10s} {'intentcrop':>10s} {'smartcrop@100':>13s} {'x':>7s} {'smartcrop@full':>14s} {'x':>7s}"
        print(f"{head}\n{'-' * len(head)}")
        for r in RATIOS:
            ic, s100, sfull = ms[f"intentcrop:{r}"], ms[f"smartcrop100:{r}"], ms[f"smartcropfull:{r}"]
            print(f"{r:10s} {ic:10.1f} {s100:13.1f} {_x(s100, ic):>7s} {sfull:14.1f} {_x(sfull, ic):>7s}", flush=True)

        # (b) by image size
        print("\n(b) by image size (intentcrop free-form; smartcrop 1:1; floor = JPEG draft-decoded to the 256-px "
              "analysis size)")
        head = (f"{'side':>5s} {'intentcrop':>10s} {'floor':>6s} {'ic/floor':>8s} {'full dec':>8s} {'x':>6s} "
                f"{'sc@100':>7s} {'x':>6s} {'sc@full':>8s} {'x':>7s} {'ic MB':>6s} {'floor MB':>8s} "
                f"{'full MB':>7s}")
        print(f"{head}\n{'-' * len(head)}")
        for side in args.sides:
            methods = ["intentcrop:free-form", "decode-draft", "decode-full", "smartcrop100:1:1"]
            if side <= args.smartcrop_full_max:
                methods.append("smartcropfull:1:1")
            ms = timings(methods, paths[side], args.warmup)
            mem = {} if args.no_memory else {m: memory(m, paths[side])
                                               for m in ("intentcrop:free-form", "decode-draft", "decode-full")}
            report["by_size"][side] = {"ms": ms, "added_peak_mb": mem}
            ic = ms["intentcrop:free-form"]
            sfull = ms.get("smartcropfull:1:1")
            print(f"{side:5d} {ic:10.1f} {ms['decode-draft']:6.1f} {ic / ms['decode-draft']:7.1f}x "
                  f"{ms['decode-full']:8.1f} {_x(ms['decode-full'], ic):>6s} {ms['smartcrop100:1:1']:7.1f} "
                  f"{_x(ms['smartcrop100:1:1'], ic):>6s} {'-' if sfull is None else f'{sfull:.0f}':>8s} "
                  f"{'' if sfull is None else _x(sfull, ic):>7s} {mem.get('intentcrop:free-form', float('nan')):6.0f} "
                  f"{mem.get('decode-draft', float('nan')):8.0f} {mem.get('decode-full', float('nan')):7.0f}",
                  flush=True)

        # (c) start-up
        report["startup"] = st = startup(paths[args.call_side][0])
        print("\n(c) start-up, a fresh process each (median)")
        for name, v in st.items():
            print(f"{name:34s} {v:7.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


# -- quality (unchanged: FCDB dev numbers of the learned default beside the baselines) ----------------------


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


if __name__ == "__main__":
    sys.exit(main())
