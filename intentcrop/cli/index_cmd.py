"""`intentcrop index build`: an example bank for Cropper's in-context retrieval (intentcrop.retrieve.bank).

  intentcrop index build --data ../shared/datasets/fcdb --out banks/fcdb [--clip clip-b32] [--split train]
  intentcrop index build --data ../shared/datasets/gaicd-mini --out banks/gaicd
  intentcrop index info banks/fcdb

Without --clip the bank holds the weights-free embedding (intentcrop.retrieve.embed.FeatureEmbedder); with it,
CLIP image embeddings of that model (a short name, hub id or folder; the crops are then retrieved with the same
model's embedding of the query).
"""

from __future__ import annotations

import argparse
import sys
import time


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "index", help="build an example bank for the cropper method's in-context retrieval",
        description="Build or inspect an example bank: each example's image embedding, crops and scores.",
        epilog="example:\n  intentcrop index build --data ../shared/datasets/fcdb --out banks/fcdb",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    build = actions.add_parser("build", help="index an FCDB- or GAICD-style folder")
    build.add_argument("--data", required=True, metavar="DIR",
                       help="FCDB-style (SPLIT.jsonl + images/) or GAICD-style (annotations.jsonl + images/) folder")
    build.add_argument("--out", required=True, metavar="BANK", help="folder to write the bank to")
    build.add_argument("--split", help="only this split (FCDB: default train and dev; GAICD: default all rows)")
    build.add_argument("--clip", metavar="MODEL", help="CLIP image embeddings from this model (default: the "
                       "weights-free features embedding)")
    build.add_argument("--limit", type=int, metavar="N", help="only the first N examples")
    build.add_argument("--quiet", action="store_true")
    info = actions.add_parser("info", help="what a bank holds")
    info.add_argument("bank", metavar="BANK")
    return parser


def run(args) -> int:
    from intentcrop.errors import IntentCropError
    from intentcrop.retrieve.bank import build_bank, dataset_records, load_bank
    from intentcrop.retrieve.embed import make_embedder

    try:
        if args.action == "build":
            kind, records = dataset_records(args.data, args.split, args.limit)
            embedder = make_embedder(args.clip)
            log = None if args.quiet else (lambda m: print(m, file=sys.stderr))
            t0 = time.perf_counter()
            out = build_bank(records, args.out, embedder, kind=kind, log=log)
            crops = sum(len(r.crops) for r in records)
            print(f"{out}: {len(records)} {kind} examples, {crops} crops, embedding {embedder.name} "
                  f"({time.perf_counter() - t0:.1f} s)")
            return 0
        if args.action == "info":
            t0 = time.perf_counter()
            bank = load_bank(args.bank)
            took = time.perf_counter() - t0
            print(f"{args.bank}: {len(bank)} {bank.kind} examples, {len(bank.crops)} crops, embedding "
                  f"{bank.embedder} ({bank.embeddings.shape[1]}-d), loaded in {took * 1000:.1f} ms")
            return 0
    except IntentCropError as exc:
        print(f"intentcrop index: {exc}", file=sys.stderr)
        return 2
    print("intentcrop index: choose an action: build or info", file=sys.stderr)
    return 2
