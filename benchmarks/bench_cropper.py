"""Cropper in the world, end to end through a real OpenAI-compatible server (`transformers serve`).

    OMP_NUM_THREADS=2 python benchmarks/bench_cropper.py --cases 24 [--vlm fixtures/world/vlm] [--json out.json]

Serves the world VLM (fixtures/world/vlm, trained by `python -m intentcrop.train.cropper_vlm`) with
`transformers serve` on 127.0.0.1, builds an example bank of world scenes (apart from the benchmark's; CLIP image
embeddings of fixtures/world/clip, texts per example), and crops the world's referring-text cases
(intentcrop.world.referring.benchmark_cases, seed 0; every other case with a ratio from RATIOS) by:

  vlm pipeline         the default text method (OWL-ViT grounding + CLIP scoring, world models)
  zero-shot            cropper, no examples (S=0), no refinement (L=0)
  in-context           cropper, S examples retrieved by the text-conditioned Q, no refinement
  in-context + refine  cropper, S examples, L refinement rounds, the "best over rounds" rule
  ... last-round rule  the same run's pool, the best crop of the last round (the paper's Table 8 alternative)
  ... best after r     the same run's pool, the best crop of rounds 0..r (the gain per round)

Metrics (intentcrop.world.bench.crop_metrics, averaged): all-in, exclusion, IoU with the targets' box, ratio
error, and seconds per crop (wall time, the server's included).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from intentcrop.core.box import Box  # noqa: E402
from intentcrop.core.intent import parse_ratio  # noqa: E402
from intentcrop.world.bench import RATIOS, crop_metrics, ratio_can_hold_targets  # noqa: E402

FIXTURES = REPO / "fixtures" / "world"
BANK_SEED = 3_500_000_000  # bank scenes: apart from the benchmark's and the VLM's training scenes
METRICS = ("all_in", "exclude", "iou", "ratio_err")


def build_world_bank(folder: Path, n_scenes: int, clip: Path) -> Path:
    from intentcrop.retrieve.bank import BankRecord, build_bank
    from intentcrop.retrieve.embed import make_embedder
    from intentcrop.train.cropper_vlm import target_crop, world_pool

    records = []
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    for case in world_pool(n_scenes, BANK_SEED):
        path = images / f"{case.scene.seed}.png"
        if not path.exists():
            case.scene.image.save(path)
        records.append(BankRecord(path, case.scene.width, case.scene.height,
                                  np.array([target_crop(case.scene, case.targets).to_xyxy()], np.float32),
                                  np.ones(1, np.float32), text=case.referral.text))
    return build_bank(records, folder / "bank", make_embedder(str(clip)), kind="world")


def cases_to_run(n: int) -> list[tuple]:
    from intentcrop.world.referring import benchmark_cases

    out = []
    for i, case in enumerate(benchmark_cases(n)):
        ratio = None if i % 2 == 0 else RATIOS[(i // 2) % len(RATIOS)]
        if ratio is not None and not ratio_can_hold_targets(case, parse_ratio(ratio)):
            ratio = None
        out.append((case, ratio))
    return out


def summarise(rows: list[dict]) -> dict:
    out = {}
    for m in METRICS:
        values = [r[m] for r in rows if not np.isnan(r[m])]
        out[m] = round(float(np.mean(values)), 3) if values else None
    out["n"] = len(rows)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=24)
    ap.add_argument("--vlm", type=Path, default=FIXTURES / "vlm")
    ap.add_argument("--bank-scenes", type=int, default=100)
    ap.add_argument("--examples", type=int, default=None, help="S (default: the option cropper_examples)")
    ap.add_argument("--rounds", type=int, default=None, help="L (default: the option cropper_rounds)")
    ap.add_argument("--candidates", type=int, default=None, help="R (default: the option cropper_candidates)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    import intentcrop
    from intentcrop.defaults import DEFAULTS
    from intentcrop.models.vlm_server import transformers_serve

    S = DEFAULTS.cropper_examples if args.examples is None else args.examples
    L = DEFAULTS.cropper_rounds if args.rounds is None else args.rounds
    R = DEFAULTS.cropper_candidates if args.candidates is None else args.candidates
    clip, owlvit = FIXTURES / "clip", FIXTURES / "owlvit"
    work = Path(tempfile.mkdtemp(prefix="bench_cropper_"))
    t0 = time.perf_counter()
    bank = build_world_bank(work, args.bank_scenes, clip)
    print(f"bank: {bank} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    cases = cases_to_run(args.cases)
    rows: dict[str, list[dict]] = {}
    seconds: dict[str, float] = {}
    per_round: list[list[dict]] = [[] for _ in range(L + 1)]

    def record(name: str, case, box: Box, ratio, took: float) -> None:
        rows.setdefault(name, []).append(crop_metrics(case, box, None if ratio is None else parse_ratio(ratio)))
        seconds[name] = seconds.get(name, 0.0) + took

    with transformers_serve(args.vlm, threads=1) as url:
        print(f"serving {args.vlm} at {url}", file=sys.stderr)
        proposer = ("cropper", {"vlm_url": url, "vlm_model": str(args.vlm.resolve()), "bank": str(bank),
                                "vlm_timeout": 120})
        modes = {
            "zero-shot": {"cropper_examples": 0, "cropper_rounds": 0},
            "in-context": {"cropper_examples": S, "cropper_rounds": 0},
            "in-context + refine": {"cropper_examples": S, "cropper_rounds": L},
        }
        for ci, (case, ratio) in enumerate(cases):
            text, image = case.referral.text, case.scene.image
            t = time.perf_counter()
            out = intentcrop.crop(image, text, ratio=ratio, k=1, min_scale=0.1, return_output=True,
                                  model=[str(owlvit), str(clip)])
            record("vlm pipeline", case, out.results[0].box, ratio, time.perf_counter() - t)
            for name, options in modes.items():
                t = time.perf_counter()
                out = intentcrop.crop(image, text, ratio=ratio, k=1, method="cropper", return_output=True,
                                      model=str(clip), proposer=proposer,
                                      options={**options, "cropper_candidates": R})
                took = time.perf_counter() - t
                if out.warnings:
                    print(f"  {name} case {ci}: {out.warnings[0][:160]}", file=sys.stderr)
                record(name, case, out.results[0].box, ratio, took)
                if name == "in-context + refine" and "cropper.round" in out.candidates.breakdown:
                    pool = out.candidates
                    rounds = pool.breakdown["cropper.round"]
                    last = np.flatnonzero(rounds == rounds.max())
                    pick = last[np.argmax(pool.scores[last])]
                    record("  ... last-round rule", case, pool[int(pick)].boxes()[0], ratio, 0.0)
                    for r in range(L + 1):
                        upto = np.flatnonzero(rounds <= r)
                        if len(upto):
                            best = upto[np.argmax(pool.scores[upto])]
                            per_round[r].append(crop_metrics(case, pool[int(best)].boxes()[0],
                                                             None if ratio is None else parse_ratio(ratio)))
            print(f"case {ci + 1}/{len(cases)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    for r in range(L + 1):
        rows[f"  ... best after round {r}"] = per_round[r]
    table = {name: {**summarise(rs), "s_per_crop": round(seconds.get(name, 0.0) / max(len(rs), 1), 2)}
             for name, rs in rows.items()}
    print(f"Cropper in the world: {len(cases)} referring-text cases (seed 0), S={S}, R={R}, L={L}, "
          f"VLM {args.vlm.name} served by transformers serve")
    print(f"{'method':28s} {'all-in':>7s} {'exclude':>8s} {'IoU':>6s} {'ratio err':>9s} {'s/crop':>7s}")
    for name, row in table.items():
        fmt = lambda v: "   -" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"{name:28s} {fmt(row['all_in']):>7s} {fmt(row['exclude']):>8s} {fmt(row['iou']):>6s} "
              f"{fmt(row['ratio_err']):>9s} {row['s_per_crop'] if row['s_per_crop'] else '':>7}")
    if args.json:
        args.json.write_text(json.dumps({"S": S, "R": R, "L": L, "cases": len(cases), "table": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
