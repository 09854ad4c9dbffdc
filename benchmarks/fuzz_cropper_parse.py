"""Fuzz campaign for the VLM-answer parser (intentcrop.propose.cropper_parse): a seeded loop, no shrinking.

    OMP_NUM_THREADS=1 python benchmarks/fuzz_cropper_parse.py --executions 1000000 --seconds 1200

Each input is built from pieces a VLM might write (tuples in any brackets and separators, labels, fractions,
pixels, negative and huge numbers, code fences, prose) mixed with random characters and random mutations of
the corpus answers in tests/propose/test_cropper_parse.py. Only VLMAnswerError may escape; any other
exception, a crop outside the image or with no area, or a call slower than SLOW_CALL_S is a finding, printed
with its input. Prints executions, clear errors, crops found, findings and seconds. Exit status 1 on a finding.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "propose")]

from intentcrop.propose.cropper_parse import VLMAnswerError, parse_crops  # noqa: E402
from test_cropper_parse import CORPUS  # noqa: E402

SLOW_CALL_S = 0.5
PIECES = ["(", ")", "[", "]", "{", "}", "<", ">", ",", ", ", ";", " ", "\n", "|", "/", ":", "=", "s=", "x1=",
          "y1: ", "x2 =", "y2=", "-", "+", ".", "0.", "```", "json", "Output:", "Score is", "crop", "e", "E",
          "\u00a0", "\u2212", "\uff08", "\uff09", "\u0661", "NaN", "inf", "1e400"]


def _number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        return str(rng.randint(1, 1000))
    if kind < 0.5:
        return f"{rng.random():.{rng.randint(0, 6)}f}"
    if kind < 0.65:
        return str(rng.randint(-10_000, 100_000))
    if kind < 0.75:
        return "9" * rng.randint(1, 40)
    if kind < 0.85:
        return f"{rng.uniform(-2, 2000):.3f}"
    return rng.choice(["0", "1", "1000", "1001", "-0", ".5", "5.", "00001", "1.0000000000001"])


def make_input(rng: random.Random) -> str:
    mode = rng.random()
    if mode < 0.15:  # random characters
        return "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 200)))
    if mode < 0.35:  # a corpus answer, mutated
        text = list(rng.choice(CORPUS)[0])
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            pos = rng.randint(0, len(text))
            if op < 0.4 and text:
                del text[min(pos, len(text) - 1)]
            elif op < 0.8:
                text.insert(pos, rng.choice(PIECES + [_number(rng)]))
            else:
                text[pos:pos] = list(_number(rng))
        return "".join(text)
    parts = []  # pieces and numbers
    for _ in range(rng.randint(0, 60)):
        parts.append(_number(rng) if rng.random() < 0.45 else rng.choice(PIECES))
    return "".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--executions", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    start = time.perf_counter()
    n = errors = found = 0
    findings: list[str] = []
    slowest = 0.0
    while n < args.executions and time.perf_counter() - start < args.seconds:
        text = make_input(rng)
        width, height = rng.choice([(1, 1), (2, 3), (640, 480), (2000, 1000), (rng.randint(1, 9000),
                                                                              rng.randint(1, 9000))])
        t0 = time.perf_counter()
        try:
            crops = parse_crops(text, width, height)
            found += 1
            for c in crops:
                b = c.box
                if not (0 <= b.x1 < b.x2 <= width and 0 <= b.y1 < b.y2 <= height):
                    findings.append(f"crop {b} outside {width}x{height} for {text!r:.300}")
        except VLMAnswerError:
            errors += 1
        except Exception as exc:  # noqa: BLE001 - any other exception is what the campaign looks for
            findings.append(f"{type(exc).__name__}: {exc} for {text!r:.300}")
        took = time.perf_counter() - t0
        slowest = max(slowest, took)
        if took > SLOW_CALL_S:
            findings.append(f"slow call {took:.2f}s for {text!r:.300}")
        n += 1
    seconds = time.perf_counter() - start
    print(f"parse_crops: {n} executions, {found} with crops, {errors} VLMAnswerError, {len(findings)} findings, "
          f"slowest call {slowest * 1000:.2f} ms, {seconds:.0f} s")
    for f in findings[:20]:
        print("FINDING", f)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
