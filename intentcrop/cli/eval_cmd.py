"""`intentcrop eval`: benchmark numbers, every method measured in the same run.

  intentcrop eval fcdb --data DIR --split dev [--method M ...] [--baselines] [--ratio-aware | --candidates]
                       [--limit N]
                       [--predictions FILE.jsonl] [--overwrite] [--json]
  intentcrop eval gaicd --data DIR [--split test] [--limit N] [--use-text | --intent none|text|image|subject]
                        [--pipeline NAME] [--model PATH ...] [--device D] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Sequence

from intentcrop.errors import IntentCropError

FCDB_METHODS = ("intentcrop", "cropper", "cagic", "clipcropping", "center", "whole", "smartcrop", "smartcrop-full")
BASELINES = ("center", "smartcrop")  # what --baselines adds next to the chosen method(s)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="measure cropping quality on FCDB / GAICD",
        description="Evaluate croppers on a benchmark folder and print a table (or JSON).",
        epilog="examples:\n"
        "  intentcrop eval fcdb --data ../shared/datasets/fcdb --split dev --baselines\n"
        "  intentcrop eval fcdb --data ../shared/datasets/fcdb --method center --method whole --limit 20\n"
        "  intentcrop eval fcdb --data ../shared/datasets/fcdb --candidates --method intentcrop --method clipcropping\n"
        "  intentcrop eval gaicd --data ../shared/datasets/gaicd-mini",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=run)
    benchmarks = p.add_subparsers(dest="benchmark", metavar="BENCHMARK")

    fcdb = benchmarks.add_parser(
        "fcdb", help="free-form crops vs. the human crop: IoU, Disp, alpha-recall, speed",
        description="Crop each image of an FCDB-style folder (SPLIT.jsonl beside images/) and compare with "
        "the human crop. Every method runs on the same images in this run.",
    )
    fcdb.add_argument("--data", required=True, metavar="DIR", help="folder with SPLIT.jsonl and images/")
    fcdb.add_argument("--split", default="dev", help="split file to read, SPLIT.jsonl (default dev)")
    fcdb.add_argument("--method", action="append", choices=FCDB_METHODS, metavar="METHOD",
                      help=f"method to evaluate, repeatable: {', '.join(FCDB_METHODS)} (default intentcrop)")
    fcdb.add_argument("--baselines", action="store_true",
                      help=f"also run the baselines {', '.join(BASELINES)} next to the chosen method(s)")
    fcdb.add_argument("--ratio-aware", action="store_true",
                      help="give each method the human crop's aspect ratio (the ratio-aware protocol)")
    fcdb.add_argument("--candidates", action="store_true",
                      help="FCDB's own protocol (VFN, VEN, CLIPCropping report it): each method ranks the row's "
                      "candidate_windows_xywh (the first, the human crop, left out) and its best is the crop")
    fcdb.add_argument("--alpha", type=float, default=0.75, help="IoU threshold of alpha-recall (default 0.75)")
    fcdb.add_argument("--limit", type=int, metavar="N", help="only the first N images")
    fcdb.add_argument("--predictions", metavar="FILE.jsonl", help="write one JSON line per image and method")
    fcdb.add_argument("--overwrite", action="store_true", help="allow replacing an existing predictions file")
    fcdb.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")

    gaicd = benchmarks.add_parser(
        "gaicd", help="ranking of annotated candidate crops vs. MOS: Acc_K/N, wAcc, SRCC, PCC",
        description="Score each image's annotated candidate crops with a pipeline's scorers (default: the quality "
        "scorer of the default pipeline) and compare the ranking with the crops' mean opinion scores.",
    )
    gaicd.add_argument("--data", required=True, metavar="DIR", help="folder with annotations.jsonl and images/")
    gaicd.add_argument("--split", help="only rows with this split (default: all rows)")
    gaicd.add_argument("--pipeline", default="default", help="pipeline whose scorers rank the crops (default default)")
    gaicd.add_argument("--use-text", action="store_true", help="pass each image's description as the text intent")
    gaicd.add_argument("--intent", choices=("none", "text", "image", "subject"), default=None,
                       help="the intent each row gives: none (free-form, the default), text (= --use-text), image "
                       "(its query_image file) or subject (its subject_mask file), as world exports write them")
    gaicd.add_argument("--model", action="append", default=None, metavar="PATH",
                       help="a model for the pipeline's model-backed stages (repeatable), e.g. the world's "
                       "fixtures/world/owlvit and fixtures/world/clip")
    gaicd.add_argument("--device", default=None, help="cpu, cuda, mps or auto for model-backed stages")
    gaicd.add_argument("--limit", type=int, metavar="N", help="only the first N images")
    gaicd.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p._benchmarks = {"fcdb": fcdb, "gaicd": gaicd}  # for printing the right usage on errors
    return p


def _fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _error(message: str) -> int:
    print(f"intentcrop eval: error: {message}", file=sys.stderr)
    return 2


def _methods(args) -> list[str]:
    chosen = list(args.method or ["intentcrop"])
    if args.baselines:
        chosen += [b for b in BASELINES if b not in chosen]
    return list(dict.fromkeys(chosen))


def run_fcdb(args) -> int:
    from intentcrop.datasets import load_fcdb
    from intentcrop.evaluation import PredictionWriter, evaluate_fcdb, make_cropper, make_ranker
    from intentcrop.evaluation.fcdb import PROTOCOLS

    if args.limit is not None and args.limit <= 0:
        return _error(f"--limit must be a positive number of images, got {args.limit}")
    try:
        dataset = load_fcdb(args.data, args.split).head(args.limit)
        writer = PredictionWriter(args.predictions, args.overwrite) if args.predictions else None
    except (IntentCropError, OSError) as exc:
        return _error(str(exc))
    if args.ratio_aware and args.candidates:
        return _error("--candidates ranks the dataset's windows as they are; it has no --ratio-aware variant")
    reports, failed = [], []
    try:
        for name in _methods(args):
            try:
                cropper = make_ranker(name) if args.candidates else make_cropper(name)
                reports.append(evaluate_fcdb(cropper, dataset, method=name, ratio_aware=args.ratio_aware,
                                             candidates=args.candidates, alpha=args.alpha, writer=writer))
            except (IntentCropError, KeyError, ImportError) as exc:  # one broken method never hides the others
                message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
                print(f"intentcrop eval: {name}: {message}", file=sys.stderr)
                failed.append(name)
    finally:
        if writer is not None:
            writer.close()
    protocol = PROTOCOLS[(args.ratio_aware, args.candidates)]
    if args.json:
        print(json.dumps({"benchmark": "fcdb", "split": args.split, "protocol": protocol, "n": len(dataset),
                          "results": [r.to_dict() for r in reports], "failed": failed}, indent=2))
    elif reports:
        print(f"FCDB {args.split}, {len(dataset)} images, {protocol}")
        print(format_table(
            ["method", "IoU", "Disp", f"recall@{args.alpha:g}", "images/s", "ms/image"],
            [[r.method, r.iou, r.disp, r.recall, f"{r.images_per_s:.1f}", f"{1000 * r.seconds_per_image:.1f}"]
             for r in reports],
        ))
    return 1 if failed else 0


def run_gaicd(args) -> int:
    from intentcrop.datasets import load_gaicd
    from intentcrop.evaluation import evaluate_gaicd, pipeline_scorer

    if args.limit is not None and args.limit <= 0:
        return _error(f"--limit must be a positive number of images, got {args.limit}")
    try:
        dataset = load_gaicd(args.data, args.split).head(args.limit)
    except (IntentCropError, OSError) as exc:
        return _error(str(exc))
    try:
        if args.use_text and args.intent not in (None, "text"):
            return _error(f"--use-text and --intent {args.intent} ask for different intents; give one")
        scorer = pipeline_scorer(args.pipeline, use_text=args.use_text, intent=args.intent, model=args.model,
                                 device=args.device)
        result = evaluate_gaicd(scorer, dataset, method=f"intentcrop:{args.pipeline}")
    except (IntentCropError, KeyError, ImportError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"intentcrop eval: {message}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"benchmark": "gaicd", **result}, indent=2))
        return 0
    print(f"GAICD, {result['n']} images, {result['seconds_per_image']:.3f} s/image of scoring")
    ks = [1, 2, 3, 4]
    rows = [[f"{kind}/{n}"] + [f"{100 * result[key]:.1f}" for key in [f"{kind}{k}/{n}" for k in ks] + [f"{kind}/{n}"]]
            for kind in ("acc", "wacc") for n in (5, 10)]
    print(format_table(["metric (%)", "K=1", "K=2", "K=3", "K=4", "mean"], rows))
    print(f"SRCC {_fmt(result['srcc'])}   PCC {_fmt(result['pcc'])}")
    return 0


def run(args) -> int:
    benchmark = getattr(args, "benchmark", None)
    if benchmark == "fcdb":
        return run_fcdb(args)
    if benchmark == "gaicd":
        return run_gaicd(args)
    return _error("choose a benchmark: 'intentcrop eval fcdb ...' or 'intentcrop eval gaicd ...'")
