"""Measure the grounding confidence calibration (GroundingConfig.calibration) and its threshold on the world.

usage:  OMP_NUM_THREADS=1 python benchmarks/calibrate_grounding.py [--seeds 1,2] [--scenes 100] [--json rows.json]

For each held-out seed (never the benchmark's seed 0 when fitting): the benchmark's text cases, its relation and
position cases and its query-image cases (label 1 when every target's box lies at least half inside the kept
region), and per scene two texts naming an object kind the scene lacks (one whose colour and shape are both there
on other objects, one any absent kind) and a query image of an absent kind from an earlier scene (label 0). Each
is grounded by the "vlm" pipeline's verified grounder with calibration (1, 0), so the confidence read is the raw
evidence; a Platt map is fitted over all of them (ground.confidence.fit_platt), and for a few thresholds the
script prints how many absent intents fall back and how many present ones would (about 80 s a seed on 2 cores).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from intentcrop.api import make_intent
from intentcrop.ground.confidence import calibrate, fit_platt
from intentcrop.models.routing import model_overrides
from intentcrop.pipeline import PIPELINE_CONFIGS, create_pipeline
from intentcrop.world import benchmark_cases, position_cases, relation_cases
from intentcrop.world.bench import DEFAULT_MODELS
from intentcrop.world.vocabulary import COLOURS, SHAPES, phrase


def found(region, targets) -> int:
    def cover(t):
        ix = max(0.0, min(region.x2, t.x2) - max(region.x1, t.x1))
        iy = max(0.0, min(region.y2, t.y2) - max(region.y1, t.y1))
        return ix * iy / max(t.area, 1e-9)

    return int(region is not None and all(cover(t) >= 0.5 for t in targets))


def collect(seeds: list[int], n_scenes: int) -> list[dict]:
    models = [str(m) for m in DEFAULT_MODELS]
    pipe = create_pipeline("vlm", **model_overrides(PIPELINE_CONFIGS["vlm"], models, "cpu"))
    options = {"grounding": {"calibration": [1.0, 0.0], "min_confidence": 0.0}}

    def ground(image, **intent):
        return pipe.ground(pipe.preprocess(image, make_intent(**intent), options))

    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed + 123)
        pool: list = []  # (kind, query image) of earlier scenes
        cases = (benchmark_cases(n_scenes, seed=seed) + relation_cases(n_scenes // 4, seed=seed)
                 + position_cases(n_scenes // 4, seed=seed))
        for case in cases:
            scene, targets = case.scene, [case.scene.objects[t].box for t in case.targets]
            g = ground(scene.image, text=case.referral.text)
            rows.append(dict(seed=scene.seed, intent="text", kind=case.referral.kind, present=True,
                             evidence=g.confidence, label=found(g.region, targets)))
            if case.referral.kind in ("relation", "position"):
                continue
            kinds = {(o.colour, o.shape) for o in scene.objects}
            absent = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in kinds]
            hard = [(c, s) for c, s in absent if any(o.colour == c for o in scene.objects)
                    and any(o.shape == s for o in scene.objects)]
            for kind, choice in (("absent_hard", hard), ("absent_any", absent)):
                if choice:
                    c, s = choice[int(rng.integers(len(choice)))]
                    g = ground(scene.image, text=f"the {phrase(c, s)}")
                    rows.append(dict(seed=scene.seed, intent="text", kind=kind, present=False,
                                     evidence=g.confidence, label=0))
            query = case.query_image()
            if query is None:
                continue
            g = ground(scene.image, query_image=query)
            rows.append(dict(seed=scene.seed, intent="image", kind="present", present=True, evidence=g.confidence,
                             label=found(g.region, targets[:1])))
            other = [(k, img) for k, img in pool if k not in kinds]
            if other:
                _, img = other[int(rng.integers(len(other)))]
                g = ground(scene.image, query_image=img)
                rows.append(dict(seed=scene.seed, intent="image", kind="absent", present=False,
                                 evidence=g.confidence, label=0))
            pool.append((scene.objects[case.targets[0]].kind, query))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--scenes", type=int, default=100)
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    rows = collect([int(s) for s in args.seeds.split(",")], args.scenes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f)
    a, b = fit_platt([r["evidence"] for r in rows], [r["label"] for r in rows])
    print(f"{len(rows)} groundings, {sum(r['label'] for r in rows)} found; Platt calibration a={a:.4f} b={b:.4f}")
    for threshold in (0.01, 0.02, 0.025, 0.03, 0.05, 0.1):
        for intent in ("text", "image"):
            rs = [r for r in rows if r["intent"] == intent]
            below = [r for r in rs if calibrate(r["evidence"], (a, b)) < threshold]
            print(f"  min_confidence {threshold:<5} {intent:5}: absent falling back "
                  f"{sum(not r['present'] for r in below)}/{sum(not r['present'] for r in rs)}, present "
                  f"{sum(r['present'] for r in below)}/{sum(r['present'] for r in rs)} (found ones "
                  f"{sum(r['label'] for r in below)})")


if __name__ == "__main__":
    main()
