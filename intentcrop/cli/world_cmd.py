"""`intentcrop train world`: regenerate the world's OWL-ViT grounder and CLIP scorer from a seed.

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


def run(args: argparse.Namespace) -> int:
    from intentcrop.train.clip_world import ClipWorldConfig, evaluate_retrieval, evaluate_shape_naming, train_clip
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
    report["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(report, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intentcrop.cli.world_cmd", description=__doc__)
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
