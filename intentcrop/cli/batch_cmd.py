"""`intentcrop batch`: a folder or a manifest of images cropped into a folder, resumable, in worker processes
or on a Ray cluster (see intentcrop.batch.runner for the manifest)."""

from __future__ import annotations

import argparse
import json
import sys

from intentcrop.io.image import DEFAULT_QUALITY


def add_parser(subparsers) -> argparse.ArgumentParser:
    from intentcrop.cli.crop_cmd import add_intent_arguments, add_method_arguments

    p = subparsers.add_parser(
        "batch", help="crop a folder of images (worker processes or Ray), resumable",
        description="Crop every image of a folder (recursively) or of a manifest into --out, with the crop "
        "command's intent options. Progress (images/s, ETA) on stderr; the results are appended to "
        "OUT/manifest.jsonl as they come (geometry, scores, reasons, the files); the same command again after a "
        "kill skips the finished images. A summary at the end: done, failed (with reasons), skipped.",
        epilog="examples:\n"
        "  intentcrop batch photos/ --out crops/ --ratio 16:9 -k 1 -j 2\n"
        "  intentcrop batch list.jsonl --root photos/ --out crops/ --size 1080x1350\n"
        "  intentcrop batch photos/ --out crops/ --text 'the dog' --model owlv2-b16 --ray\n"
        "  intentcrop batch photos/ --out crops/ --ray ray://head:10001 --ray-concurrency 8 --ray-gpus 0.25\n"
        "\n"
        "MANIFEST: a .jsonl with \"input\", \"path\" or \"filename\" per row, or one path a line; relative\n"
        "paths are read from --root, else from the manifest's folder. Exit status: 0 all done, 1 some failed.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="INPUT_DIR|MANIFEST", help="a folder of images, or a manifest file")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the crops and manifest.jsonl")
    p.add_argument("--root", metavar="DIR", help="where a manifest's relative paths are (default: its folder)")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                   help="worker processes (default 1: this process); each loads the models once")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on Ray: a local instance, or the cluster at ADDRESS (ray://host:10001, auto)")
    p.add_argument("--ray-concurrency", type=int, metavar="N", help="Ray actors (default: -j)")
    p.add_argument("--ray-gpus", type=float, default=0.0, metavar="G", help="GPUs per Ray actor (default 0)")
    p.add_argument("--ray-batch-size", type=int, default=4, metavar="N", help="images per Ray batch (default 4)")
    p.add_argument("--limit", type=int, metavar="N", help="the first N images only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--summary-json", action="store_true", help="print the summary as JSON on stdout")
    add_intent_arguments(p)
    out = p.add_argument_group("output")
    out.add_argument("--format", choices=["jpg", "png", "webp"], help="format of the crops (default: the input's)")
    out.add_argument("--quality", type=int, default=DEFAULT_QUALITY, metavar="N",
                     help=f"JPEG / WebP quality, 1..100 (default {DEFAULT_QUALITY})")
    out.add_argument("--no-upscale", action="store_true", help="never enlarge a crop smaller than --size")
    out.add_argument("--overwrite", action="store_true",
                     help="redo every image and replace existing files (else only files this batch wrote are replaced)")
    add_method_arguments(p)
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from intentcrop.batch import run_batch
    from intentcrop.batch.work import job_options
    from intentcrop.errors import IntentCropError

    if args.jobs < 1 or (args.limit is not None and args.limit < 0) or not 1 <= args.quality <= 100:
        print("intentcrop batch: error: -j and --limit take a positive number, --quality 1..100", file=sys.stderr)
        return 2
    try:
        summary = run_batch(args.source, args.out, job_options(args), workers=args.jobs, ray=args.ray is not None,
                            ray_address=args.ray or None, ray_concurrency=args.ray_concurrency,
                            ray_num_gpus=args.ray_gpus, ray_batch_size=args.ray_batch_size, root=args.root,
                            progress=not args.no_progress, limit=args.limit,
                            overwrite=args.overwrite)
    except (IntentCropError, ValueError) as exc:
        print(f"intentcrop batch: error: {exc}", file=sys.stderr)
        return 2
    print(f"intentcrop batch: {summary.text()}", file=sys.stderr)
    if args.summary_json:
        print(json.dumps(summary.to_dict()))
    return 1 if summary.failed else 0
