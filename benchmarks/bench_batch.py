"""Batch throughput and kill/resume on FCDB images.

  python benchmarks/bench_batch.py throughput --fcdb /work/shared/datasets/fcdb --images 60
      `intentcrop batch` over the first N images (sorted names) with -j 1, -j 2, --ray with 1 and 2 actors, each
      into a fresh folder; prints wall seconds (start-up included) and images/s, the seconds to the first finished
      image, and images/s from the first finished image to the last (from their files' write times).

  python benchmarks/bench_batch.py kill-resume --fcdb /work/shared/datasets/fcdb --images 300 --mode j2|ray
      starts the batch, SIGKILLs its whole process group once --kill-after images are done, runs the same command
      again, and checks: every input has exactly one `done` line (nothing redone), every input is done and its
      files are on disk with the recorded sha256 (nothing lost), and the second run skipped exactly the images
      the first finished.

Both run the CLI in child processes from this checkout (`python -m intentcrop.cli.main`), one thread per worker.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CROP_OPTIONS = ["--ratio", "4:3", "-k", "1", "--format", "jpg"]


def _command(source: Path, out: Path, mode: str) -> list[str]:
    cmd = [sys.executable, "-m", "intentcrop.cli.main", "batch", str(source), "--out", str(out), "--no-progress",
           "--summary-json", *CROP_OPTIONS]
    if mode.startswith("ray"):
        return cmd + ["--ray", "--ray-concurrency", mode[3:] or "2"]
    return cmd + ["-j", mode[1:]]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", RAY_DEDUP_LOGS="0")


def _manifest_lines(out: Path) -> list[dict]:
    path = out / "manifest.jsonl"
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    return lines


def _subset(fcdb: Path, n: int, folder: Path) -> Path:
    """A manifest of the first n FCDB images (sorted names)."""
    images = sorted((fcdb / "images").glob("*.jpg"))[:n]
    manifest = folder / f"fcdb_{n}.txt"
    manifest.write_text("\n".join(str(p) for p in images) + "\n")
    return manifest


def _after_start_up(out: Path, started: float) -> tuple[float | None, float | None]:
    """(seconds to the first finished image, images/s from the first finished image to the last), from the
    write times of each image's first file. On Ray the actors run ahead of the driver's writes, so only the
    span from first to last (not a part of it) measures the work."""
    times = sorted(os.stat(out / name).st_mtime for line in _manifest_lines(out) if line.get("event") == "done"
                   for name in list(line["files"])[:1])
    if len(times) < 3 or times[-1] <= times[0]:
        return None, None
    return times[0] - started, (len(times) - 1) / (times[-1] - times[0])


def throughput(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    source = _subset(Path(args.fcdb), args.images, work)
    print(f"{args.images} FCDB images, {' '.join(CROP_OPTIONS)}; {os.cpu_count()} CPUs")
    print(f"{'run':<10} {'wall s':>8} {'images/s':>9} {'first result s':>15} {'images/s after it':>18}")
    for mode in args.modes.split(","):
        out = work / mode
        started, wall_clock = time.monotonic(), time.time()
        done = subprocess.run(_command(source, out, mode), env=_env(), capture_output=True, text=True, cwd=REPO)
        wall = time.monotonic() - started
        if done.returncode != 0:
            print(f"{mode}: exit {done.returncode}: {done.stderr[-800:]}")
            continue
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        first, rate = _after_start_up(out, wall_clock)
        nan = float("nan")
        print(f"{mode:<10} {wall:8.1f} {summary['done'] / wall:9.2f} {first or nan:15.1f} {rate or nan:18.2f}",
              flush=True)


def kill_resume(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-resume-"))
    source = _subset(Path(args.fcdb), args.images, work)
    out = work / "out"
    cmd = _command(source, out, args.mode)
    started = time.monotonic()
    first = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                             start_new_session=True)
    while first.poll() is None:
        done = sum(1 for line in _manifest_lines(out) if line.get("event") == "done")
        if done >= args.kill_after:
            os.killpg(first.pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    first.wait()
    killed_at = time.monotonic() - started
    lines = _manifest_lines(out)
    done_before = {line["key"] for line in lines if line.get("event") == "done"}
    in_flight = {line["key"] for line in lines if line.get("event") == "file"} - done_before
    subprocess.run(["pkill", "-9", "-g", str(first.pid)], capture_output=True)  # a Ray daemon left in the group
    second_started = time.monotonic()
    second = subprocess.run(cmd, env=_env(), capture_output=True, text=True, cwd=REPO)
    second_wall = time.monotonic() - second_started
    summary = json.loads(second.stdout.strip().splitlines()[-1]) if second.stdout.strip() else {}
    lines = _manifest_lines(out)
    done_lines = [line for line in lines if line.get("event") == "done"]
    per_key: dict[str, int] = {}
    for line in done_lines:
        per_key[line["key"]] = per_key.get(line["key"], 0) + 1
    inputs = {line["input"] for line in done_lines}
    missing_files = [name for line in done_lines for name, sha in line["files"].items()
                     if not (out / name).is_file() or hashlib.sha256((out / name).read_bytes()).hexdigest() != sha]
    report = {
        "mode": args.mode, "images": args.images, "killed_after_s": round(killed_at, 1),
        "done_before_kill": len(done_before), "in_flight_at_kill": len(in_flight),
        "second_run": {k: summary.get(k) for k in ("done", "failed", "skipped", "seconds")},
        "second_run_wall_s": round(second_wall, 1),
        "done_lines": len(done_lines), "inputs_done": len(inputs), "redone": sum(c - 1 for c in per_key.values()),
        "files_missing_or_changed": len(missing_files),
        "ok": (len(inputs) == args.images and all(c == 1 for c in per_key.values()) and not missing_files
               and summary.get("skipped") == len(done_before)
               and summary.get("done") == args.images - len(done_before)),
    }
    print(json.dumps(report, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--fcdb", required=True)
    t.add_argument("--images", type=int, default=60)
    t.add_argument("--modes", default="j1,j2,ray1,ray2")
    t.set_defaults(run=throughput)
    k = sub.add_parser("kill-resume")
    k.add_argument("--fcdb", required=True)
    k.add_argument("--images", type=int, default=300)
    k.add_argument("--mode", default="j2", help="j2 (2 processes) or ray2 (Ray, 2 actors)")
    k.add_argument("--kill-after", type=int, default=100, help="SIGKILL once this many images are done")
    k.set_defaults(run=kill_resume)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
