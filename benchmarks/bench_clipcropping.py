"""CLIPCropping in the world, in one run (issue 28): ranking and crops on held-out scored cases, and explanations.

  python benchmarks/bench_clipcropping.py --cases 60 --scenes 100 [--no-cke DIR] [--no-ake DIR] [--json FILE]

Held-out cases: `intentcrop.train.clipcropping_world.held_out_cases` (free-form world annotations of composed and
ordinary scenes, seeds never trained or validated on). Per method: Acc_1/5, Acc_1/10, SRCC, PCC of its scores of
the ~90 candidates against their MOS (`Pipeline.score_boxes`), and IoU-Mean of its chosen crop (`Pipeline.run`,
k=1) over the case's annotators. Methods: the trained head (fixtures/world/clipcropping), the ablation heads given
(--no-cke / --no-ake), the zero-shot prompt scorer alone (clip_prompts over grid candidates: score/prompts.py),
the vlm pipeline (its free-form scorers include clip_prompts) and the offline default; all on the world CLIP.
Explanations: on `--scenes` held-out composed scenes built with each of the five composition classes in turn, how
often the head's top composition element of the whole image -- the phrase its explanation starts with -- names
the class the scene was built with; and how often each aesthetic element's side (good-side probability > 0.5)
matches the label. The zero-shot prompts' composition elements are measured the same way where the model can
encode them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIX = ROOT / "fixtures" / "world"
EXPLAIN_SEED = 830_000_000  # composed scenes for the explanation check: apart from training / validation / cases


def _register_forced_prompts() -> None:
    """clip_prompts with its inert-element check off: the world CLIP knows none of the prompts' telling words, so
    the library leaves every pair out (constant scores); this measures what scoring them anyway gives."""
    from intentcrop.registry import SCORERS
    from intentcrop.score.prompts import ClipPromptScorer

    if "clip_prompts_unchecked" in SCORERS.names():
        return

    @SCORERS.register("clip_prompts_unchecked")
    class Unchecked(ClipPromptScorer):
        def usable_elements(self, encoder):
            return self.elements


def methods(args) -> dict[str, tuple[str, dict]]:
    from intentcrop.models.routing import model_overrides
    from intentcrop.pipeline import PIPELINE_CONFIGS

    _register_forced_prompts()
    clip, owl = str(args.clip), str(FIX / "owlvit")
    out = {"clipcropping": ("clipcropping", model_overrides(PIPELINE_CONFIGS["clipcropping"],
                                                            [str(args.head), clip], "cpu"))}
    for label, folder in (("clipcropping no CKE", args.no_cke), ("clipcropping no AKE", args.no_ake)):
        if folder:
            out[label] = ("clipcropping", model_overrides(PIPELINE_CONFIGS["clipcropping"], [folder, clip], "cpu"))
    prompts = {"proposer": ("grid", {}), "grounders": {}, "searcher": None,
               "scorers": [("clip_prompts", 1.0, {"model": clip, "device": "cpu"})]}
    out["clip_prompts (zero-shot)"] = ("default", prompts)
    unchecked = dict(prompts, scorers=[("clip_prompts_unchecked", 1.0, {"model": clip, "device": "cpu"})])
    out["clip_prompts, inert check off"] = ("default", unchecked)
    out["vlm"] = ("vlm", model_overrides(PIPELINE_CONFIGS["vlm"], [owl, clip], "cpu"))
    out["default"] = ("default", {})
    return out


def measure_ranking(args) -> list[dict]:
    from intentcrop.core.intent import Intent
    from intentcrop.metrics.overlap import iou_over_annotators
    from intentcrop.pipeline import create_pipeline
    from intentcrop.train.clipcropping_world import held_out_cases
    from intentcrop.world.bench import ranking_metrics

    cases = held_out_cases(args.cases, seed=args.seed)
    rows = []
    for label, (name, overrides) in methods(args).items():
        pipe = create_pipeline(name, **overrides)
        start = time.perf_counter()
        per = []
        for case in cases:
            scores = pipe.score_boxes(case.image, case.crops)
            m = ranking_metrics(scores, case.mos)
            box = pipe.run(case.image, Intent(k=1)).results[0].box
            m["iou_mean"] = float(iou_over_annotators(np.array([box.to_list()]), [case.annotators])["mean"][0])
            per.append(m)
        row = {"method": label, "n": len(cases)}
        for key in ("acc1/5", "acc1/10", "srcc", "pcc", "iou_mean"):
            vals = np.array([p[key] for p in per], dtype=np.float64)
            row[key] = round(float(np.nanmean(vals)), 3)
        row["s_per_case"] = round((time.perf_counter() - start) / len(cases), 3)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def measure_explanations(args) -> dict:
    from intentcrop.models.clip import shared_encoder
    from intentcrop.models.clipcropping import AESTHETIC_ELEMENTS, COMPOSITION_ELEMENTS, COMPOSITION_LABELS, ClipCropping
    from intentcrop.score.prompts import ClipPromptScorer, element_scores
    from intentcrop.train.clipcropping_world import WORLD_CLASSES, world_attribute_targets
    from intentcrop.world.composition import compose_scene

    head = ClipCropping.from_pretrained(args.head)
    encoder = shared_encoder(head.trained_clip(), "cpu", None)
    head.attach(encoder)
    prompts = ClipPromptScorer(model=str(args.clip), device="cpu", groups=("composition",))
    usable = prompts.usable_elements(encoder) or prompts.elements  # inert on the world CLIP: scored anyway
    names = [e.name for e in COMPOSITION_ELEMENTS]
    hits, zs_hits, side_hits, side_n = 0, 0, np.zeros(5), np.zeros(5)
    per_class = {c: [0, 0] for c in names}
    for i in range(args.scenes):
        scene = compose_scene(EXPLAIN_SEED + args.seed * 1_000_000 + i, composition=WORLD_CLASSES[i % 5])
        truth = COMPOSITION_LABELS[scene.labels["composition"]]
        whole = np.array([[0, 0, scene.width, scene.height]], dtype=np.float64)
        out = head.predict(scene.image, whole)
        top = names[int(np.argmax(out["composition"][0]))]
        hits += top == truth
        per_class[truth][0] += top == truth
        per_class[truth][1] += 1
        target = world_attribute_targets(scene.labels["attributes"])
        decided = np.abs(target - 0.5) > 1e-6
        side_hits += ((out["aesthetics"][0] > 0.5) == (target > 0.5)) & decided
        side_n += decided
        # the zero-shot prompts on the same whole image
        embed = encoder.pool_crops(encoder.image_state(scene.image), whole, scene.width, scene.height)
        pos = encoder.encode_text([e.positive for e in usable])
        neg = encoder.encode_text([e.negative for e in usable])
        p = element_scores(embed, pos, neg, encoder.logit_scale)[0]
        zs_hits += usable[int(np.argmax(p))].name == truth
    return {"scenes": args.scenes, "composition_named": round(hits / args.scenes, 3),
            "per_class": {c: round(h / max(n, 1), 3) for c, (h, n) in per_class.items()},
            "aesthetic_side": {e.name: round(float(h / max(n, 1)), 3) for e, h, n in zip(AESTHETIC_ELEMENTS, side_hits, side_n)},
            "zero_shot_composition_named": round(zs_hits / args.scenes, 3),
            "zero_shot_inert_elements": sorted(set(e.name for e in prompts.elements)
                                               - set(e.name for e in prompts.usable_elements(encoder))),
            "chance": 0.2}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--scenes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--head", metavar="DIR", default=str(FIX / "clipcropping"),
                        help="the trained CLIPCropping model (default: the world checkpoint)")
    parser.add_argument("--clip", metavar="DIR", default=str(FIX / "clip"),
                        help="the CLIP every method scores with (default: the world CLIP; give the one the head was trained on)")
    parser.add_argument("--no-cke", metavar="DIR")
    parser.add_argument("--no-ake", metavar="DIR")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    start = time.time()
    result = {"ranking": measure_ranking(args), "explanations": measure_explanations(args)}
    result["seconds"] = round(time.time() - start, 1)
    head = ["method", "n", "acc1/5", "acc1/10", "srcc", "pcc", "iou_mean", "s_per_case"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in result["ranking"]:
        print("| " + " | ".join(str(row[h]) for h in head) + " |")
    print(json.dumps(result["explanations"], indent=1))
    print(f"{result['seconds']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
