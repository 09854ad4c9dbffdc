"""ClipCrop's cost after grounding beside vlm's, on the same world text cases, in one run.

    python benchmarks/bench_clipcrop_stages.py --scenes 20

Per crop (free-form and 1:1 for each case; the first case is a warm-up): the grounding stage, the head check every
method's candidates go through (pipeline.keep_heads, timed apart), each method's own proposer and scorers, and
the ratio clipcrop / vlm of the last two together (issue 27's goal: at most 0.3).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import intentcrop
import intentcrop.pipeline as pipeline_module
from intentcrop.world.referring import benchmark_cases

WORLD = Path(__file__).resolve().parents[1] / "fixtures" / "world"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    heads = {"s": 0.0}
    keep_heads = pipeline_module.keep_heads

    def timed_heads(ctx, candidates):
        start = time.perf_counter()
        kept = keep_heads(ctx, candidates)
        heads["s"] += time.perf_counter() - start
        return kept

    pipeline_module.keep_heads = timed_heads
    cases = benchmark_cases(args.scenes, seed=args.seed)
    models = [str(WORLD / "owlvit"), str(WORLD / "clip")]
    report: dict[str, dict[str, float]] = {}
    for method in ("vlm", "clipcrop"):
        rows = []
        for i, case in enumerate(cases):
            for ratio in (None, "1:1"):
                heads["s"] = 0.0
                out = intentcrop.crop(case.scene.image, text=case.referral.text, ratio=ratio, k=1, model=models,
                                      method=method, return_output=True)
                if i == 0 or "propose" not in out.timings:  # warm-up; a not-found fallback
                    continue
                t = out.timings
                rows.append({"ground_ms": t["ground"] * 1000, "heads_ms": heads["s"] * 1000,
                             "own_propose_ms": (t["propose"] - heads["s"]) * 1000, "score_ms": t["score"] * 1000,
                             "total_ms": t["total"] * 1000})
        summary = {k: round(statistics.mean(r[k] for r in rows), 1) for k in rows[0]}
        summary["own_propose_and_score_ms"] = round(summary["own_propose_ms"] + summary["score_ms"], 1)
        summary["crops"] = len(rows)
        report[method] = summary
    ratio = report["clipcrop"]["own_propose_and_score_ms"] / report["vlm"]["own_propose_and_score_ms"]
    print(json.dumps(report, indent=1))
    print(f"clipcrop / vlm, own proposals + scoring after grounding: {ratio:.2f}x")


if __name__ == "__main__":
    main()
