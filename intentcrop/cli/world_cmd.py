"""`intentcrop train world`: regenerate the world's OWL-ViT grounder and CLIP scorer from a seed; and
`intentcrop world export --format gaicd --out DIR --scenes N --seed S [--overwrite]`: the world written out in a
dataset's format (intentcrop.world.export; formats: its EXPORTERS).

`intentcrop train` (cli/train_cmd.py) registers this target with `add_train_parser(train_subparsers)`; the
module also runs on its own: `python -m intentcrop.cli.world_cmd --out fixtures/world --seed 0`. The world's
benchmark is `intentcrop bench world` (cli/bench_cmd.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _add_arguments(p: argparse.ArgumentParser) -> None:
    from intentcrop.train.clip_world import ClipWorldConfig
    from intentcrop.train.owlvit_world import OwlWorldConfig

    p.add_argument("--out", default="fixtures/world",
                   help="folder to write owlvit/ and clip/ into (default fixtures/world)")
    p.add_argument("--seed", type=int, default=0, help="training seed: the same seed gives the same models")
    p.add_argument("--owlvit-steps", type=int, default=OwlWorldConfig.steps, help="OWL-ViT training steps")
    p.add_argument("--clip-steps", type=int, default=ClipWorldConfig.steps, help="CLIP training steps")
    p.add_argument("--owlvit-refine-steps", type=int, default=OwlWorldConfig.refine_steps,
                   help="OWL-ViT phase-2 steps (lower learning rate, new scenes)")
    p.add_argument("--owlvit-refine-size", type=int, default=OwlWorldConfig.refine_image_size,
                   help="OWL-ViT phase-2 input side in px (position embeddings interpolated from phase 1's)")
    p.add_argument("--owlvit-resume", metavar="DIR", default=None,
                   help="load OWL-ViT phase 1 from this folder (a run with --owlvit-refine-steps 0) and train phase 2")
    p.add_argument("--only", choices=("owlvit", "clip"), default=None, help="train just one of the two models")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1; fixtures/world was made with 2, which is faster)")
    p.add_argument("--eval-scenes", type=int, default=60, help="held-out scenes for the accuracy check (0: skip)")


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "world", help="train the synthetic world's tiny OWL-ViT and CLIP models from a seed",
        description="Train a tiny OWL-ViT grounder (Hungarian matching) and a tiny CLIP (contrastive) on "
        "generated scenes and save both with save_pretrained, loadable with --model PATH.",
    )
    _add_arguments(p)
    p.set_defaults(run=run)
    return p


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The top-level `intentcrop world` command (export)."""
    from intentcrop.world.export import EXPORTERS

    p = subparsers.add_parser(
        "world", help="the synthetic world: write it out in a dataset's format",
        description="Tools for the synthetic world of coloured shapes (its models: `intentcrop train world`, its "
        "benchmark: `intentcrop bench world`).",
        epilog="example:\n  intentcrop world export --format gaicd --out world-gaicd --scenes 20 --seed 0\n"
        "  intentcrop eval gaicd --data world-gaicd --use-text\n"
        "  intentcrop world export --format cadb --out world-cadb --scenes 60 --seed 0   # composition classes\n"
        "  intentcrop world export --format aadb --out world-aadb --scenes 60 --seed 0   # attribute scores",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=run_world)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    export = actions.add_parser(
        "export", help="write seeded world scenes with the world annotator's scored crops in a dataset's format",
        description="Write the benchmark's world cases (scenes, intents, the annotator's scored candidate crops and "
        "annotators' crops) in a dataset's folder format, loadable by that dataset's loader.",
    )
    export.add_argument("--format", required=True, choices=sorted(EXPORTERS), help="folder format to write")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    export.add_argument("--scenes", type=int, default=20, help="benchmark scenes (default 20)")
    export.add_argument("--seed", type=int, default=0, help="benchmark seed (the same scenes as `bench world`)")
    export.add_argument("--overwrite", action="store_true", help="replace files the folder already has")
    return p


def run_world(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) != "export":
        print("intentcrop world: choose an action, e.g. `intentcrop world export --format gaicd --out DIR`",
              file=sys.stderr)
        return 2
    from intentcrop.errors import IntentCropError
    from intentcrop.world.export import export

    try:
        report = export(args.format, args.out, args.scenes, args.seed, args.overwrite)
    except (IntentCropError, OSError) as exc:
        print(f"intentcrop world export: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


def run(args: argparse.Namespace) -> int:
    from intentcrop.train.clip_world import (ClipWorldConfig, evaluate_composition_naming, evaluate_retrieval,
                                             evaluate_shape_naming, train_clip)
    from intentcrop.train.owlvit_world import OwlWorldConfig, evaluate_grounding, train_owlvit

    out = Path(args.out)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    report: dict[str, object] = {}
    t0 = time.time()
    if args.only in (None, "owlvit"):
        cfg = OwlWorldConfig(steps=args.owlvit_steps, refine_steps=args.owlvit_refine_steps,
                             refine_image_size=args.owlvit_refine_size, seed=args.seed,
                             threads=args.threads)
        result = train_owlvit(out / "owlvit", cfg, log=log, resume_from=args.owlvit_resume)
        if args.eval_scenes:
            report["owlvit"] = evaluate_grounding(result["model"], result["processor"], args.eval_scenes)
            log(f"owlvit held-out grounding: {report['owlvit']}")
    if args.only in (None, "clip"):
        cfg_c = ClipWorldConfig(steps=args.clip_steps, seed=args.seed, threads=args.threads)
        result = train_clip(out / "clip", cfg_c, log=log)
        if args.eval_scenes:
            report["clip"] = evaluate_retrieval(result["model"], result["processor"], args.eval_scenes)
            log(f"clip held-out retrieval: {report['clip']}")
            report["clip_shapes"] = evaluate_shape_naming(result["model"], result["processor"], args.eval_scenes)
            log(f"clip held-out shape naming: {report['clip_shapes']}")
            report["clip_composition"] = evaluate_composition_naming(result["model"], result["processor"],
                                                                     args.eval_scenes)
            log(f"clip held-out composition / attribute naming: {report['clip_composition']}")
    report["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(report, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intentcrop.cli.world_cmd", description=__doc__)
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
