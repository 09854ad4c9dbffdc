"""Fuzz campaign: a plain seeded loop (no hypothesis, no shrinking) over the targets of tests/fuzz/fuzz_targets.py.

    OMP_NUM_THREADS=1 python benchmarks/fuzz_campaign.py --executions 1000000 --seconds 900

Each target gets its share of the executions (weights below: the cheap parsers most, image decoding and the
full crop fewer) and an even share of the time left (what a fast target leaves rolls over to the next); the
run stops a target at whichever comes first. Only IntentCropError may
escape a target: any other exception is a finding, printed with the input that raised it (repr, and for image
bytes a file under --save). Prints per target: executions, IntentCropError count, unexpected exception types,
seconds. Exit status 1 when there was a finding.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import random
import sys
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "fuzz")]  # this checkout's intentcrop, not an installed one

import fuzz_targets  # noqa: E402
from intentcrop.errors import IntentCropError  # noqa: E402

WEIGHTS = {  # share of --executions; the image targets last, so they get the time the parsers left over
    "parse_ratio": 0.13, "parse_size": 0.13, "subject_to_box": 0.06, "cli._parse_subject": 0.08,
    "DEFAULTS.merged": 0.11, "cli.parse_options": 0.07, "parse_relation": 0.08, "parse_position": 0.08,
    "rule_noun_phrases": 0.08, "make_intent": 0.066, "grounding_queries": 0.004,
    "open_image": 0.03, "load_image": 0.05, "crop(bytes,k=1)": 0.02,
}
SLOW_CALL_S = 5.0  # a call longer than this is a finding too (bounded time per call; the slowest is printed)


def _repr(value, limit: int = 300) -> str:
    try:
        return repr(value)[:limit]
    except Exception as exc:  # noqa: BLE001 - repr of an int over 4300 digits raises ValueError
        return f"<{type(value).__name__}: repr failed: {exc}>"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--executions", type=int, default=100_000, help="total executions over all targets")
    ap.add_argument("--seconds", type=float, default=600, help="total time budget over all targets")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--targets", nargs="*", default=None, help="only these targets (names as printed)")
    ap.add_argument("--save", type=Path, default=Path("fuzz-findings"), help="folder for inputs that failed")
    args = ap.parse_args(argv)

    warnings.simplefilter("ignore")  # Pillow's warnings on damaged files are expected, not findings
    names = args.targets or list(WEIGHTS)
    total_weight = sum(WEIGHTS[n] for n in names)
    pool = fuzz_targets.image_seeds()
    rows = []
    findings = 0
    started = time.perf_counter()
    for i, name in enumerate(names):
        share = WEIGHTS[name] / total_weight
        budget_n = max(1, int(args.executions * share))
        budget_s = max(0.0, args.seconds - (time.perf_counter() - started)) / (len(names) - i)  # even, rolled over
        target, generate = fuzz_targets.TARGETS[name]
        rng = random.Random(f"{args.seed}:{name}")
        seen: dict[str, int] = collections.Counter()
        expected = 0
        slowest = 0.0
        try:  # the first call pays for imports and model loads (spaCy): not a slow call
            target(generate(random.Random(-1), pool))
        except BaseException:  # noqa: BLE001 - the loop below records it
            pass
        t0 = time.perf_counter()
        n = 0
        while n < budget_n and time.perf_counter() - t0 < budget_s:
            value = generate(rng, pool)
            c0 = time.perf_counter()
            try:
                target(value)
            except IntentCropError:
                expected += 1
            except BaseException as exc:  # noqa: BLE001 - everything else is a finding, KeyboardInterrupt aside
                if isinstance(exc, KeyboardInterrupt):
                    raise
                kind = type(exc).__name__
                where = traceback.extract_tb(exc.__traceback__)[-1]
                key = f"{kind} at {Path(where.filename).name}:{where.lineno}"
                if key not in seen:
                    findings += 1
                    print(f"FINDING {name}: {key}: {exc!s:.200}", flush=True)
                    if isinstance(value, bytes):
                        args.save.mkdir(parents=True, exist_ok=True)
                        path = args.save / f"{name.split('(')[0]}-{hashlib.sha1(value).hexdigest()[:12]}.bin"
                        path.write_bytes(value)
                        print(f"  input saved: {path}", flush=True)
                    else:
                        print(f"  input: {_repr(value)}", flush=True)
                seen[key] += 1
            took = time.perf_counter() - c0
            slowest = max(slowest, took)
            if took > SLOW_CALL_S:
                key = "slow call"
                if key not in seen:
                    findings += 1
                    print(f"FINDING {name}: call took {took:.2f} s: {_repr(value)}", flush=True)
                seen[key] += 1
            n += 1
        rows.append((name, n, expected, dict(seen), time.perf_counter() - t0, slowest))

    print()
    print(f"{'target':<20} {'executions':>11} {'IntentCropError':>15} {'unexpected':>10} {'seconds':>8} {'slowest ms':>10}")
    for name, n, expected, seen, secs, slowest in rows:
        print(f"{name:<20} {n:>11,} {expected:>15,} {sum(seen.values()):>10} {secs:>8.1f} {slowest * 1000:>10.1f}")
        for key, count in seen.items():
            print(f"    {count} x {key}")
    total = sum(r[1] for r in rows)
    print(f"{'total':<20} {total:>11,} {sum(r[2] for r in rows):>15,} "
          f"{sum(sum(r[3].values()) for r in rows):>10} {time.perf_counter() - started:>8.1f}")
    print(f"seed {args.seed}, {len(pool)} image seeds, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
