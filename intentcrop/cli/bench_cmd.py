"""`intentcrop bench world`: conditioned cropping measured on a synthetic world with exact ground truth.

  intentcrop bench world [--scenes N] [--seed S] [--model OWLVIT_DIR --model CLIP_DIR] [--intent text ...]
                         [--method NAME ...] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import sys

from intentcrop.errors import IntentCropError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "bench",
        help="benchmarks with exact ground truth (the synthetic 'world')",
        description="Run a benchmark and print its table.",
        epilog="examples:\n  intentcrop bench world --scenes 100 --seed 0\n"
        "  intentcrop bench world --method auto --method vlm --method default",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=run)
    targets = p.add_subparsers(dest="target", metavar="TARGET")
    world = targets.add_parser(
        "world", help="text-, image- and subject-conditioned crops on seeded scenes of coloured shapes",
        description="Crop seeded world scenes by referring text, query image and subject mask, with and without "
        "an aspect ratio, beside the free-form crop and the tight grounding box, and print all-in rate, target "
        "containment, distractor exclusion, ratio error, IoU with the targets' box and the framed rate; beside them, "
        "against the world annotator's scored candidates and annotators' crops: IoU-Mean/Max over the annotators, "
        "Acc_1/5, Acc_1/10, SRCC and PCC of the method's scores of the candidates against their MOS, and the mean "
        "milliseconds per case.",
    )
    world.add_argument("--scenes", type=int, default=None,
                       help="how many scenes (one referring case each; default 100)")
    world.add_argument("--seed", type=int, default=0, help="benchmark seed: the same seed gives the same scenes")
    world.add_argument("--model", action="append", default=None, metavar="PATH",
                       help="a world model folder (OWL-ViT grounder and/or CLIP scorer); default: fixtures/world")
    world.add_argument("--intent", action="append", choices=("text", "image", "subject"), default=None,
                       help="limit to these intents (repeatable; default all three)")
    world.add_argument("--method", action="append", default=None, metavar="NAME",
                       help="a method to run (repeatable): 'auto' (the automatic choice per intent, the reference; "
                       "the default) or a pipeline config name (default, subject, vlm, ...)")
    world.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    world.add_argument("--min-scale", type=float, default=None,
                       help="least crop side as a share of the image side for conditioned crops (default: the option "
                       "grounded_min_scale, 0.1)")
    world.add_argument("--json", metavar="OUT", default=None, help="also write the table and every case as JSON")
    world.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def run(args: argparse.Namespace) -> int:
    if getattr(args, "target", None) != "world":
        print("intentcrop bench: choose a target, e.g. `intentcrop bench world`", file=sys.stderr)
        return 2
    from intentcrop.world.bench import (AUTO, DEFAULT_SCENES, INTENTS, format_table, method_names, run_world_bench,
                                        write_json)

    n_scenes = DEFAULT_SCENES if args.scenes is None else args.scenes
    if n_scenes < 1:
        print("intentcrop bench world: --scenes must be at least 1", file=sys.stderr)
        return 2
    methods = tuple(args.method) if args.method else (AUTO,)
    unknown = [m for m in methods if m not in method_names()]
    if unknown:
        print(f"intentcrop bench world: unknown method {', '.join(unknown)}; known: {', '.join(method_names())}",
              file=sys.stderr)
        return 2
    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        result = run_world_bench(
            n_scenes=n_scenes, seed=args.seed, models=tuple(args.model) if args.model else None,
            intents=tuple(args.intent) if args.intent else INTENTS, device=args.device,
            min_scale=args.min_scale, progress=progress, methods=methods,
        )
    except (IntentCropError, FileNotFoundError) as exc:
        print(f"intentcrop bench world: {exc}", file=sys.stderr)
        return 1
    print(format_table(result["summary"]))
    print(f"\n{result['cases']} cases, seed {result['seed']}, {result['seconds']}s; models: "
          + ", ".join(result["models"]))
    if result["impossible"]:
        print(f"skipped {len(result['impossible'])} case/ratio pairs no crop holding the targets can meet")
    for method, intents in result["unsupported"].items():
        print(f"method {method} has no grounder for {', '.join(intents)} intents: skipped there")
    if args.json:
        write_json(result, args.json)
    return 0
