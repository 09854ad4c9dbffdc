"""`intentcrop crop`: crop one or many images; one bad file never stops the others."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from intentcrop import defaults
from intentcrop.errors import IntentCropError
from intentcrop.io.image import encode_image, load_image, open_image, output_format, save_image
from intentcrop.pipeline import PIPELINE_CONFIGS

_BOX_RE = re.compile(r"^\s*-?\d+(\.\d+)?\s*(,\s*-?\d+(\.\d+)?\s*){3}$")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "crop",
        help="crop images",
        description="Crop images. Prints the chosen boxes (or JSON with --json); writes the cropped pictures "
        "with --out. Inputs are never overwritten, nor existing outputs unless --overwrite is given.",
        epilog="examples:\n"
        "  intentcrop crop photo.jpg --ratio 16:9 --ratio 1:1 -k 2 --out crops/\n"
        "  intentcrop crop photo.jpg --size 1080x1350 --out portrait.jpg\n"
        "  intentcrop crop photo.jpg --text 'the dog on the left' --json\n"
        "  intentcrop crop photo.jpg --subject 120,40,380,400 --debug why.png\n"
        "  intentcrop crop photo.jpg --method default --option grid_bins=10 --option grounding.tie_score=0.9\n"
        "  intentcrop crop photo.jpg --out - > best.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to crop")
    intent = p.add_argument_group("what to keep")
    intent.add_argument("--text", help="describe what the crop must show, e.g. 'the woman and the dogs'")
    intent.add_argument("--query-image", metavar="FILE", help="a picture of the thing the crop must show")
    intent.add_argument("--subject", metavar="MASK|x1,y1,x2,y2",
                        help="what must stay in: a mask image (non-zero = subject) or a box in image pixels")
    shape = p.add_argument_group("shape")
    shape.add_argument("--ratio", action="append", metavar="W:H",
                       help="aspect ratio, e.g. 16:9, 4/5, 1.5, square, original; repeat for several (k crops each)")
    shape.add_argument("--size", metavar="WxH", help="exact output size, e.g. 1080x1350 (fixes the ratio)")
    options = defaults.DEFAULTS
    shape.add_argument("-k", type=int, default=None, help=f"crops per ratio (default: option k, {options.k})")
    shape.add_argument("--min-scale", type=float, default=None,
                       help=f"smallest crop side as a share of the image side (default {options.min_scale}, or "
                       f"{options.grounded_min_scale} with --text/--query-image/--subject: the region sets the size)")
    shape.add_argument("--max-scale", type=float, default=1.0, help="largest crop side share (default 1)")
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="DIR|FILE|-",
                     help="folder for the crops (NAME_crop1.EXT ...), a file for one image's best crop "
                     "(format from its extension), or - for the best crop's bytes on stdout")
    out.add_argument("--format", choices=["jpg", "png", "webp"], help="format of crops written to a folder or stdout "
                     "(default: the input's own for a folder, png for stdout)")
    out.add_argument("--json", action="store_true", help="print one JSON object per image (boxes, scores, reasons)")
    out.add_argument("--debug", metavar="FILE|DIR", help="write an overlay showing candidates, winners and scores")
    out.add_argument("--overwrite", action="store_true", help="allow replacing existing output files")
    how = p.add_argument_group("method and options")
    how.add_argument("--method", choices=sorted(PIPELINE_CONFIGS), metavar="NAME",
                     help=f"the named pipeline to crop with: {', '.join(sorted(PIPELINE_CONFIGS))} (default: vlm "
                     "with --text/--query-image, subject with --subject, else default)")
    how.add_argument("--option", action="append", metavar="KEY=VALUE", default=[],
                     help="override a tunable (a field of intentcrop.defaults.Defaults), repeatable; VALUE is read "
                     "as JSON where it parses, else as text: --option grid_bins=10 --option grounding.tie_score=0.9")
    models = p.add_argument_group("models")
    models.add_argument("--model", action="append", metavar="PATH|HUB_ID",
                        help="a model to use instead of the default: a crop-quality model file (.npz), or a "
                        "vision-language model folder or hub id; repeat for several")
    models.add_argument("--device", help="cpu, cuda, cuda:1 or mps for vision-language models (default: best available)")
    p.set_defaults(run=run)
    return p


def _error(path: Any, message: str) -> None:
    print(f"intentcrop crop: error: {path}: {message}" if path else f"intentcrop crop: error: {message}",
          file=sys.stderr)


def _parse_subject(value: str | None) -> Any:
    if value is None:
        return None
    if _BOX_RE.match(value):
        return tuple(float(v) for v in value.split(","))
    if not Path(value).exists():
        raise IntentCropError(f"--subject {value!r}: neither a box 'x1,y1,x2,y2' nor an existing mask file")
    return load_image(value, mode="L")


def parse_options(items: "list[str] | None") -> dict[str, Any]:
    """`--option KEY=VALUE` strings -> an options mapping (dotted keys kept, for Defaults.merged); checked
    against the defaults, so an unknown name or a wrong type fails before any image is read."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise IntentCropError(f"--option {item!r}: write KEY=VALUE, e.g. --option grid_bins=10")
        try:
            value = json.loads(text)
        except ValueError:
            value = text  # a bare word: a string option (clip_pooling=roi_align)
        out[key] = value
    try:
        defaults.DEFAULTS.merged(out)
    except IntentCropError as exc:
        raise IntentCropError(f"--option: {exc}") from None
    return out


def _plan_outputs(args, inputs: list[Path]) -> tuple[str, Path | None]:
    """Decide what --out means: 'none', 'stdout', 'file' or 'dir'."""
    if args.out is None:
        return "none", None
    if args.out == "-":
        if args.json:
            raise IntentCropError("--out - and --json both want stdout; write crops to a folder or file instead")
        return "stdout", None
    target = Path(args.out)
    if target.suffix and not target.is_dir():
        output_format(target)  # validates the extension, naming the supported ones
        if len(inputs) > 1:
            raise IntentCropError(f"--out {target} is a file but {len(inputs)} images were given; give a folder")
        return "file", target
    return "dir", target


def _crop_kwargs(args) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(
        text=args.text,
        query_image=load_image(args.query_image) if args.query_image else None,
        subject=_parse_subject(args.subject),
        ratio=args.ratio,
        size=args.size,
        k=args.k,
        min_scale=args.min_scale,
        max_scale=args.max_scale,
    )
    if args.method:
        kwargs["method"] = args.method
    options = parse_options(args.option)
    if options:
        kwargs["options"] = options
    if args.model:
        kwargs["model"] = args.model if len(args.model) > 1 else args.model[0]
    if args.device:
        kwargs["device"] = args.device
    return kwargs


def run(args) -> int:
    import intentcrop

    inputs = [Path(p) for p in args.images]
    try:
        mode, target = _plan_outputs(args, inputs)
        kwargs = _crop_kwargs(args)
        intentcrop.make_intent(**{k: v for k, v in kwargs.items()
                                  if k not in ("model", "device", "method", "options")})  # fail fast
    except (IntentCropError, ValueError) as exc:
        _error(None, str(exc))
        return 2
    input_paths = {p.resolve() for p in inputs if p.exists()}
    failures = 0
    for path in inputs:
        try:
            # Opened lazily: the crop is chosen on a small copy (a JPEG is decoded straight to it) and the
            # full-resolution image is decoded only to cut the crops (--out) or draw the overlay (--debug).
            image = open_image(path)
            output = intentcrop.crop(image, return_output=True, **kwargs)
            for warning in output.warnings:  # e.g. the text was not found: the crops are the free-form ones
                print(f"intentcrop crop: warning: {path}: {warning}", file=sys.stderr, flush=True)
            written = _write_outputs(args, mode, target, path, image, output, input_paths)
            if args.debug:
                _write_debug(args, path, image, output, len(inputs), input_paths)
            if args.json:
                record = {"input": str(path), **output.to_dict()}
                if written:
                    for crop, file in zip(record["crops"], written):
                        crop["file"] = str(file)
                print(json.dumps(record), flush=True)
            elif mode != "stdout":
                _print_summary(path, output, written)
        except (IntentCropError, OSError, ValueError) as exc:
            failures += 1
            message = str(exc)
            if str(path) in message:
                message = message.replace(f"{path}: ", "", 1)
            _error(path, message)
    return 1 if failures else 0


def _out_name(stem: str, result, many_ratios: bool, ext: str) -> str:
    ratio = f"_{result.to_dict().get('ratio', '').replace(':', 'x')}" if many_ratios and result.ratio else ""
    return f"{stem}{ratio}_crop{result.rank}{ext}"


def _check_target(file: Path, args, input_paths: set[Path]) -> None:
    if file.resolve() in input_paths and not args.overwrite:
        raise IntentCropError(f"output {file} is one of the inputs; refusing to overwrite it (use --overwrite)")
    if file.exists() and not args.overwrite:
        raise IntentCropError(f"output {file} already exists (use --overwrite to replace it)")


def _write_outputs(args, mode, target, path: Path, image, output, input_paths) -> list[Path]:
    results = output.results
    if mode == "none":
        return []
    if mode == "stdout":
        fmt = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", None: "PNG"}[args.format]
        sys.stdout.buffer.write(encode_image(results[0].crop(image), fmt))
        sys.stdout.buffer.flush()
        return []
    if mode == "file":
        files = [target] if len(results) == 1 else [
            target.with_name(f"{target.stem}_{i + 1}{target.suffix}") for i in range(len(results))]
    else:
        ext = f".{args.format}" if args.format else (path.suffix.lower() or ".png")
        try:
            output_format(Path("x" + ext))
        except IntentCropError:
            ext = ".png"
        many = len({r.ratio for r in results}) > 1
        files = [target / _out_name(path.stem, r, many, ext) for r in results]
    for file in files:
        _check_target(file, args, input_paths)
    for result, file in zip(results, files):
        save_image(result.crop(image), file, overwrite=args.overwrite)
    return files


def _write_debug(args, path: Path, image, output, n_inputs: int, input_paths) -> None:
    from intentcrop.debug import draw_debug

    target = Path(args.debug)
    if n_inputs > 1 or target.is_dir() or not target.suffix:
        target = target / f"{path.stem}_debug.png"
    _check_target(target, args, input_paths)
    save_image(draw_debug(load_image(image), output), target, overwrite=args.overwrite)


def _print_summary(path: Path, output, written: list[Path]) -> None:
    w, h = output.image_size
    print(f"{path} ({w}x{h}):")
    if output.grounding is not None and output.grounding.selection:
        print(f"  grounding: {output.grounding.selection}")
    for i, r in enumerate(output.results):
        d = r.to_dict()
        b = d["box"]
        ratio = f" [{d['ratio']}]" if "ratio" in d else ""
        file = f" -> {written[i]}" if i < len(written) else ""
        print(f"  #{r.rank}{ratio} x1={b['x1']} y1={b['y1']} x2={b['x2']} y2={b['y2']} "
              f"({b['width']}x{b['height']}) score={r.score:.3f}{file}")
        if r.explanation:
            print(f"     {r.explanation}")
