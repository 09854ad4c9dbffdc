"""Peak memory of loading worst-case small files: each a few hundred kB that decodes to ~170 megapixels
(just under Pillow's bomb limit), loaded with load_image in a fresh process under /usr/bin/time -v.

usage (from a checkout, venv active):  python benchmarks/bench_load_memory.py [--code DIR]
DIR: the checkout whose intentcrop to measure (default: this one). Needs /usr/bin/time; uses ~2 GB of memory
and a minute of one core."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "hostile"))
from make_corpus import _chunk, png  # noqa: E402

CASES = {
    "16-bit grey PNG 12500x14000": lambda: png(12500, 14000, 16, 0),
    "1-bit PNG 13000x13000": lambda: png(13000, 13000, 1, 0),
    "RGBA PNG 13000x13000": lambda: png(13000, 13000, 8, 6),
    "palette PNG 13000x13000": lambda: (lambda d: d[:33] + _chunk(b"PLTE", bytes(range(256)) * 3) + d[33:])(
        png(13000, 13000, 8, 3)),
}
LOAD = "import sys, time; from intentcrop.io.image import load_image; t = time.time(); " \
       "im = load_image(sys.argv[1]); print(im.size, f'{time.time() - t:.1f}s')"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=str(REPO), help="checkout whose intentcrop to measure")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=args.code, OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        for label, make in CASES.items():
            path = Path(tmp) / "case.png"
            path.write_bytes(make())
            run = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", LOAD, str(path)], env=env,
                                 capture_output=True, text=True)
            peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
            out = run.stdout.strip() or run.stderr.strip().splitlines()[-1]
            print(f"{label:32s} {path.stat().st_size / 1e3:7.0f} kB  peak {int(peak.group(1)) / 1e6 if peak else 0:5.2f} GB"
                  f"  {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
