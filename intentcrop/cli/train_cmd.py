"""`intentcrop train TARGET`: learn a model from data, deterministically from a seed.

  intentcrop train quality --data ../shared/datasets/fcdb --out model.npz --seed 0 [--folds 5] [--limit N]

`quality` (old name: `default`) learns the offline crop-quality model (the scorer "quality") from FCDB's human
crops; the
packaged `intentcrop/data/crop_quality.npz` is this command's output with --seed 0. Other targets
(e.g. `world`) register themselves here when their module is present.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    from intentcrop.models.clipcrop import MATCHED_BY

    parser = subparsers.add_parser(
        "train", help="train a model (the crop-quality model, ...) from data",
        description="Train a model from data, deterministically given --seed.",
        epilog="example:\n  intentcrop train quality --data ../shared/datasets/fcdb --out model.npz --seed 0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET")
    default = targets.add_parser(
        "quality", aliases=["default"], help="the offline crop-quality model (scorer \"quality\") from FCDB human crops",
        description="Learn the crop-quality model that `intentcrop crop` uses by default: hand-crafted features "
        "of candidate crops, ranked against FCDB's human crops with a listwise loss; the model shape is chosen "
        "by k-fold cross-validation on train (dev is never read). Use the result with `intentcrop crop --model "
        "FILE.npz`.",
    )
    default.add_argument("--data", required=True, metavar="DIR", help="FCDB folder with train.jsonl and images/")
    default.add_argument("--out", required=True, metavar="FILE.npz", help="where to write the model")
    default.add_argument("--seed", type=int, default=0, help="seed of subsampling, folds and initialisation (default 0)")
    default.add_argument("--folds", type=int, default=5, help="cross-validation folds for model selection "
                         "(default 5; below 2 skips CV and fits the first configuration)")
    default.add_argument("--limit", type=int, metavar="N", help="only the first N training images (for a quick run)")
    default.add_argument("--cache", metavar="DIR", help="cache per-image features here, reused by later runs")
    default.add_argument("--overwrite", action="store_true", help="allow replacing an existing --out file")
    default.add_argument("--quiet", action="store_true", help="no progress bars")
    default.set_defaults(run=run)
    from intentcrop.cli.world_cmd import add_train_parser  # the synthetic world's models

    add_train_parser(targets)
    clipcrop = targets.add_parser(
        "clipcrop", help="ClipCrop's crop decoder over a grounder's tokens, on the world's scored crops",
        description="Train ClipCrop's DETR-like crop decoder (Hungarian matching, L1 + GIoU + quality losses, "
        "mosaics) on world cases grounded by --grounder; saves a folder usable with --model FOLDER.",
    )
    clipcrop.add_argument("--grounder", required=True, metavar="PATH", help="OWL-ViT folder (fixtures/world/owlvit)")
    clipcrop.add_argument("--data", default="world", metavar="world", help="training data: 'world' (default)")
    clipcrop.add_argument("--out", required=True, metavar="DIR", help="where to save the decoder")
    clipcrop.add_argument("--seed", type=int, default=0)
    clipcrop.add_argument("--steps", type=int)
    clipcrop.add_argument("--batch", type=int)
    clipcrop.add_argument("--scenes", type=int, help="training scenes (validation: a quarter as many)")
    clipcrop.add_argument("--pool", type=int,
                          help="training samples grounded once up front (every case, then mosaics)")
    clipcrop.add_argument("--val-every", type=int, help="validate every N steps; the best is kept")
    clipcrop.add_argument("--lr", type=float)
    clipcrop.add_argument("--no-mosaic", action="store_true", help="the paper's no-mosaic ablation")
    clipcrop.add_argument("--matched-by", choices=MATCHED_BY,
                          help="queries whose matched tokens join the decoder's queries: the full text (default; "
                          "the paper's 'main' ablation), text and keywords (its full model), keywords ('key')")
    clipcrop.set_defaults(run=run_clipcrop)
    cc = targets.add_parser(
        "clipcropping", help="CLIPCropping: CKE/AKE prompt learners on a CLIP, then the cropping head on scored crops",
        description="Train CLIPCropping (intentcrop.train.clipcropping): the composition and aesthetic prompt "
        "learners (CoCoOp) on a frozen CLIP against composition / attribute labels, then the cropping head "
        "(RoIAlign + RoDAlign + knowledge, Huber + ranking loss) on scored crops; saves a folder usable with "
        "--model FOLDER and the method clipcropping.",
    )
    cc.add_argument("--clip", required=True, metavar="PATH", help="the CLIP to learn on (fixtures/world/clip)")
    cc.add_argument("--composition", default="world", metavar="DIR|world", help="cadb-format folder or 'world'")
    cc.add_argument("--aesthetics", default="world", metavar="DIR|world", help="aadb-format folder or 'world'")
    cc.add_argument("--crops", default="world", metavar="DIR|world", help="gaicd-format folder or 'world'")
    cc.add_argument("--out", required=True, metavar="DIR", help="where to save the model")
    cc.add_argument("--seed", type=int, default=0)
    cc.add_argument("--knowledge-steps", type=int)
    cc.add_argument("--head-steps", type=int)
    cc.add_argument("--label-scenes", type=int, help="world labelled scenes (validation: a fifth)")
    cc.add_argument("--crop-scenes", type=int, help="world scored scenes (validation: a fifth)")
    cc.add_argument("--val-every", type=int, help="validate the head every N steps; the best is kept")
    cc.add_argument("--no-cke", action="store_true", help="the paper's ablation: the head without composition knowledge")
    cc.add_argument("--no-ake", action="store_true", help="the paper's ablation: the head without aesthetic knowledge")
    cc.add_argument("--knowledge-from", metavar="DIR", help="take the prompt learners of this saved model (skip "
                    "stage 1; the ablations' heads over the same knowledge)")
    cc.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    cc.set_defaults(run=run_clipcropping)
    parser.set_defaults(run=run)
    return parser


def run(args) -> int:
    if getattr(args, "target", None) not in ("quality", "default"):
        print("intentcrop train: choose a target, e.g. `intentcrop train quality --data DIR --out FILE.npz`",
              file=sys.stderr)
        return 2
    from intentcrop.errors import IntentCropError
    from intentcrop.train.quality import train_quality

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        print(f"intentcrop train: {out} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit < 2:
        print("intentcrop train: --limit must be at least 2 images", file=sys.stderr)
        return 2
    command = "intentcrop train quality --data DIR --out FILE --seed {}{}{}".format(
        args.seed, f" --folds {args.folds}", f" --limit {args.limit}" if args.limit else "")
    try:
        train_quality(args.data, out, seed=args.seed, folds=args.folds, limit=args.limit, cache_dir=args.cache,
                      command=command, progress=not args.quiet)
    except IntentCropError as exc:
        print(f"intentcrop train: {exc}", file=sys.stderr)
        return 2
    return 0



def _given(**options):
    """The options the user gave; the rest keep the training function's defaults (their one place)."""
    return {k: v for k, v in options.items() if v is not None}


def run_clipcrop(args) -> int:
    if args.data != "world":
        print("intentcrop train clipcrop: only --data world is implemented so far", file=sys.stderr)
        return 2
    from intentcrop.train.clipcrop_world import train_clipcrop_world

    record = train_clipcrop_world(args.grounder, args.out, seed=args.seed, use_mosaic=not args.no_mosaic,
                                  **_given(n_scenes=args.scenes, steps=args.steps, batch=args.batch, lr=args.lr,
                                           pool=args.pool, val_every=args.val_every, matched_by=args.matched_by))
    print(f"intentcrop train clipcrop: {record['steps']} steps in {record['seconds']} s -> {args.out}")
    return 0


def run_clipcropping(args) -> int:
    from intentcrop.errors import IntentCropError

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from intentcrop.train.clipcropping import train_clipcropping

    try:
        record = train_clipcropping(args.clip, args.out, composition=args.composition, aesthetics=args.aesthetics,
                                    crops=args.crops, seed=args.seed, use_cke=not args.no_cke, use_ake=not args.no_ake,
                                    knowledge_from=args.knowledge_from, log=lambda m: print(m, file=sys.stderr, flush=True),
                                    **_given(knowledge_steps=args.knowledge_steps, head_steps=args.head_steps,
                                             label_scenes=args.label_scenes, crop_scenes=args.crop_scenes,
                                             val_every=args.val_every))
    except IntentCropError as exc:
        print(f"intentcrop train clipcropping: {exc}", file=sys.stderr)
        return 2
    print(f"intentcrop train clipcropping: {record['seconds']} s -> {args.out} (val SRCC "
          f"{record['head_best']['srcc']:.3f}, composition acc {record['knowledge_val']['composition_acc']:.3f})")
    return 0
