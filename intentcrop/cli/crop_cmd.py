"""`intentcrop crop`: crop one or many images; one bad file never stops the others."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from intentcrop import defaults
from intentcrop.errors import IntentCropError
from intentcrop.io.atomic import clean_temp_files, sha256_file, write_bytes_atomic
from intentcrop.io.image import (DEFAULT_QUALITY, encode_image, load_image, open_image, output_format,
                                 read_metadata)
from intentcrop.pipeline import PIPELINE_CONFIGS, check_limits

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
        "  intentcrop crop photo.jpg --out - > best.png\n"
        "\n"
        "output names (--out DIR): NAME_crop1.EXT, NAME_crop2.EXT ... best first; with --ratio the ratio\n"
        "is in the name, NAME_16x9_crop1.EXT (even for one ratio), with --size the size,\n"
        "NAME_1080x1350_crop1.EXT. Inputs sharing a base name get their folder's name in front\n"
        "(holiday_photo_crop1.jpg), and a counter when that is shared too (holiday_photo-2_crop1.jpg).\n"
        "EXT is --format, else the input's own. An existing file is never replaced without --overwrite.\n"
        "Files are written atomically. A batch into a folder keeps .intentcrop-manifest.jsonl there: the\n"
        "same command again (after a kill, say) skips finished images (\"skipped: already done\"), completes\n"
        "half-done ones, replacing only files it wrote itself, and exits 0 when all are done.\n"
        "Crops keep the input's colour profile and EXIF (orientation reset: the pixels are written upright).\n"
        "A crop smaller than --size is enlarged to it, with a warning (with --json, also in the record's\n"
        "\"warnings\"); --no-upscale writes it at its own size instead.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to crop")
    add_intent_arguments(p)
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="DIR|FILE|-",
                     help="folder for the crops (names below), a file for the best crop of one image (exactly one "
                     "image, format from its extension: .jpg .png .webp .tif ...), or - for the best crop's "
                     "bytes on stdout (one image)")
    out.add_argument("--format", choices=["jpg", "png", "webp"], help="format of crops written to a folder or stdout "
                     "(default: the input's own for a folder, png for stdout; a file's comes from its extension)")
    out.add_argument("--quality", type=int, default=DEFAULT_QUALITY, metavar="N",
                     help=f"JPEG / WebP quality of written crops, 1..100 (default {DEFAULT_QUALITY})")
    out.add_argument("--no-upscale", action="store_true",
                     help="never enlarge a crop smaller than --size: write it at its own size (same ratio)")
    out.add_argument("--json", action="store_true", help="print one JSON object per image (boxes, scores, reasons)")
    out.add_argument("--debug", metavar="FILE|DIR", help="write an overlay: the chosen crops (ratio, rank, score), faces, "
                     "grounding boxes and each crop's reasons; to FILE (one image), or NAME_debug.png in folder DIR")
    out.add_argument("--debug-all", action="store_true",
                     help="with --debug: draw the other candidates too (thin, blue = worse to yellow = better)")
    out.add_argument("--overwrite", action="store_true", help="allow replacing existing output files")
    add_method_arguments(p)
    add_vlm_arguments(p)
    p.set_defaults(run=run)
    return p


def add_vlm_arguments(p: argparse.ArgumentParser) -> None:
    """The cropper method's vision-language model (crop only: a batch reads them from the environment)."""
    vlm = p.add_argument_group("the cropper method's vision-language model (the key: INTENTCROP_VLM_KEY or "
                               "OPENAI_API_KEY in the environment)")
    vlm.add_argument("--vlm-url", metavar="URL", help="an OpenAI-compatible server, e.g. https://api.openai.com/v1 "
                     "or http://127.0.0.1:8000/v1 (default: INTENTCROP_VLM_URL); implies --method cropper")
    vlm.add_argument("--vlm-model", metavar="NAME", help="the model name the server knows (default: "
                     "INTENTCROP_VLM_MODEL)")
    vlm.add_argument("--vlm-local", metavar="PATH|HUB_ID", help="run this image-text-to-text model in-process "
                     "instead of asking a server; implies --method cropper")
    vlm.add_argument("--vlm-timeout", type=float, metavar="S", help="seconds per VLM request (default 60)")
    vlm.add_argument("--bank", metavar="BANK", help="example bank for in-context examples (`intentcrop index "
                     "build`; default: INTENTCROP_CROPPER_BANK, else zero-shot)")


def add_intent_arguments(p: argparse.ArgumentParser) -> None:
    """What to keep and the shape: the intent options, shared with `intentcrop batch`."""
    intent = p.add_argument_group("what to keep")
    intent.add_argument("--text", help="describe what the crop must show, e.g. 'the woman and the dogs'")
    intent.add_argument("--query-image", metavar="FILE", help="a picture of the thing the crop must show")
    intent.add_argument("--subject", metavar="MASK|x1,y1,x2,y2",
                        help="what must stay in: a mask image (non-zero = subject) or a box in image pixels; a "
                        "box partly outside the image is clipped to it (--subject -5,-5,600,600 or "
                        "--subject=-5,-5,600,600)")
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


def add_method_arguments(p: argparse.ArgumentParser) -> None:
    """The method, options and models, shared with `intentcrop batch`."""
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


def _error(path: Any, message: str) -> None:
    print(f"intentcrop crop: error: {path}: {message}" if path else f"intentcrop crop: error: {message}",
          file=sys.stderr)


def _parse_subject(value: str | None) -> Any:
    if value is None:
        return None
    if _BOX_RE.match(value):
        return tuple(float(v) for v in value.split(","))
    try:
        exists = Path(value).exists()
    except (OSError, ValueError):  # a name too long for a file name, a NUL in it
        exists = False
    if not exists:
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


_FORMAT_NAMES = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


def _is_dir_target(value: str) -> bool:
    """A folder: an existing one, a name ending in a slash, or a name without an extension."""
    return value.endswith(("/", "\\")) or Path(value).is_dir() or not Path(value).suffix


def _plan_outputs(args, inputs: list[Path]) -> tuple[str, Path | None]:
    """Decide what --out means: 'none', 'stdout', 'file' or 'dir'; refuse what cannot work before any image is read."""
    if not 1 <= args.quality <= 100:
        raise IntentCropError(f"--quality {args.quality}: give 1..100 (default {DEFAULT_QUALITY})")
    if args.debug is not None and not _is_dir_target(args.debug):
        output_format(args.debug)  # validates the extension, naming the supported ones
        if len(inputs) > 1:
            raise IntentCropError(f"--debug {args.debug} is a file but {len(inputs)} images were given; "
                                  "give a folder (one NAME_debug.png per image)")
    if args.out is None:
        return "none", None
    if args.out == "-":
        if args.json:
            raise IntentCropError("--out - and --json both want stdout; write crops to a folder or file instead")
        if len(inputs) > 1:
            raise IntentCropError(f"--out - writes one image to stdout but {len(inputs)} images were given; "
                                  "give a folder")
        return "stdout", None
    target = Path(args.out)
    if not _is_dir_target(args.out):
        fmt = output_format(target)  # validates the extension, naming the supported ones
        if len(inputs) > 1:
            raise IntentCropError(f"--out {target} is a file but {len(inputs)} images were given; give a folder")
        if args.format and _FORMAT_NAMES[args.format] != fmt:
            raise IntentCropError(f"--format {args.format} but --out {target} is a {fmt} file name; a file's "
                                  "format comes from its extension")
        return "file", target
    return "dir", target


def output_stems(inputs: "list[Path]") -> list[str]:
    """The base names of the inputs' output files, one per input, never two alike (ignoring case): an input
    whose base name another input shares gets its folder's name in front (holiday/photo.jpg -> holiday_photo),
    and when that is shared too, a counter in input order (photo-1, photo-2)."""
    from collections import Counter

    def clashes(names: list[str]) -> set[str]:
        return {n for n, c in Counter(n.lower() for n in names).items() if c > 1}

    stems = [p.stem for p in inputs]
    shared = clashes(stems)
    if shared:
        stems = [f"{(p.parent.name or p.resolve().parent.name or 'root')}_{s}" if s.lower() in shared else s
                 for p, s in zip(inputs, stems)]
    while shared := clashes(stems):
        seen: Counter = Counter()
        renamed = []
        for s in stems:
            if s.lower() in shared:
                seen[s.lower()] += 1
                s = f"{s}-{seen[s.lower()]}"
            renamed.append(s)
        stems = renamed
    return stems


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
    vlm = {"vlm_url": getattr(args, "vlm_url", None), "vlm_model": getattr(args, "vlm_model", None),
           "vlm_local": getattr(args, "vlm_local", None), "vlm_timeout": getattr(args, "vlm_timeout", None),
           "bank": getattr(args, "bank", None)}
    if any(v is not None for v in vlm.values()):
        if args.method not in (None, "cropper"):
            raise IntentCropError(f"--vlm-url/--vlm-model/--vlm-local/--vlm-timeout/--bank are the cropper "
                                  f"method's, not --method {args.method}'s")
        kwargs["method"] = "cropper"
        kwargs["proposer"] = ("cropper", {k: v for k, v in vlm.items() if v is not None})
    options = parse_options(args.option)
    if options:
        kwargs["options"] = options
    if args.model:
        kwargs["model"] = args.model if len(args.model) > 1 else args.model[0]
    if args.device:
        kwargs["device"] = args.device
    return kwargs


def _check_vlm(args) -> None:
    """--text / --query-image / --method vlm need the `vlm` extra: say how to install it, before any work."""
    flag = "--text" if args.text else "--query-image" if args.query_image else "--method vlm" \
        if args.method == "vlm" else None
    if flag is None:
        return
    from intentcrop.models.loading import missing_vlm_packages

    missing = missing_vlm_packages()
    if missing:
        raise IntentCropError(f"{flag} needs the vision-language models, and {' and '.join(missing)} "
                              f"{'is' if len(missing) == 1 else 'are'} not installed: pip install 'intentcrop[vlm]'")


def run(args) -> int:
    import intentcrop
    from intentcrop.api import choose_method

    inputs = [Path(p) for p in args.images]
    try:
        mode, target = _plan_outputs(args, inputs)
        _check_vlm(args)
        kwargs = _crop_kwargs(args)
        intent = intentcrop.make_intent(**{k: v for k, v in kwargs.items()
                                           if k not in ("model", "device", "method", "options", "proposer")})  # fail fast
        method = kwargs.get("method") or choose_method(intent)
        check_limits(intent, defaults.DEFAULTS.merged(PIPELINE_CONFIGS[method].get("options"))
                     .merged(kwargs.get("options")))  # the text's length and k, as the pipeline will check them
    except (IntentCropError, ValueError) as exc:
        _error(None, str(exc))
        return 2
    input_paths = {p.resolve() for p in inputs if p.exists()}
    manifest = None
    # A batch into a folder (--out DIR, else --debug DIR alone) keeps a manifest there: resumable after a kill
    # (see intentcrop.cli.batch).
    batch_dir = target if mode == "dir" else Path(args.debug) if (
        mode == "none" and args.debug is not None and _is_dir_target(args.debug)) else None
    if batch_dir is not None:
        from intentcrop.cli.batch import Manifest

        try:
            manifest = Manifest(batch_dir)
        except IntentCropError as exc:
            _error(None, str(exc))
            return 2
        clean_temp_files(batch_dir)  # what a killed run left
    failures = 0
    for path, stem in zip(inputs, output_stems(inputs)):
        try:
            key = None
            if manifest is not None:
                from intentcrop.cli.batch import input_key

                key = input_key(path, stem, args)
                if not args.overwrite and manifest.finished(key) is not None:  # --overwrite: redo it
                    print(f"intentcrop crop: {path}: skipped: already done", file=sys.stderr, flush=True)
                    continue
            batch = _Batch(manifest, key, path)
            # Opened lazily: the crop is chosen on a small copy (a JPEG is decoded straight to it) and the
            # full-resolution image is decoded only to cut the crops (--out) or draw the overlay (--debug).
            image = open_image(path)
            output = intentcrop.crop(image, return_output=True, **kwargs)
            for warning in output.warnings:  # e.g. the text was not found: the crops are the free-form ones
                print(f"intentcrop crop: warning: {path}: {warning}", file=sys.stderr, flush=True)
            notes: list[str] = []
            written = _write_outputs(args, mode, target, path, stem, image, output, input_paths, notes, batch)
            if args.debug:
                _write_debug(args, stem, image, output, input_paths, batch)
            batch.done()
            for note in notes:
                print(f"intentcrop crop: warning: {note}", file=sys.stderr)
            if args.json:
                record = {"input": str(path), **output.to_dict()}
                for crop, (file, size) in zip(record["crops"], written):
                    crop["file"] = str(file)
                    crop["written_size"] = {"width": size[0], "height": size[1]}
                record["warnings"] = record["warnings"] + notes  # the call's, then the written files'
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


def _out_name(stem: str, result, ext: str) -> str:
    """NAME_crop1.EXT; NAME_16x9_crop1.EXT when a ratio was asked; NAME_1080x1350_crop1.EXT when a size was."""
    if result.output_size is not None:
        tag = f"_{result.output_size[0]}x{result.output_size[1]}"
    elif result.ratio is not None:
        tag = f"_{result.to_dict()['ratio'].replace(':', 'x')}"
    else:
        tag = ""
    return f"{stem}{tag}_crop{result.rank}{ext}"


class _Batch:
    """One input's writes: through the folder's manifest when there is one (--out DIR), so that a re-run after a
    kill recognises the files this input wrote (and only those) and replaces them without --overwrite."""

    def __init__(self, manifest, key: "str | None", path: Path) -> None:
        self.manifest = manifest if key is not None else None
        self.key = key
        self.path = path
        self.files: dict[Path, str] = {}

    def ours(self, file: Path) -> bool:
        return self.manifest is not None and self.manifest.ours(self.key, file)

    def write(self, file: Path, data: bytes, overwrite: bool) -> None:
        """Write `data` to `file` atomically; an existing file is replaced only with overwrite or when it is ours
        (and left as it is when it already holds exactly `data`)."""
        sha = hashlib.sha256(data).hexdigest()
        replace = overwrite
        if not overwrite and os.path.lexists(file) and self.ours(file):
            if sha256_file(file) == sha:  # written by the killed run, complete and the same: keep it
                self.files[file] = sha
                return
            replace = True
        commit = None
        if self.manifest is not None:
            commit = lambda digest: self.manifest.record_file(self.key, self.path, file, digest)  # noqa: E731
        try:
            self.files[file] = write_bytes_atomic(file, data, overwrite=replace, before_commit=commit)
        except FileExistsError:
            raise IntentCropError(f"output {file} already exists (use --overwrite to replace it)") from None

    def done(self) -> None:
        if self.manifest is not None:
            self.manifest.record_done(self.key, self.path, self.files)


def _check_target(file: Path, args, input_paths: set[Path], batch: "_Batch | None" = None) -> None:
    if file.resolve() in input_paths and not args.overwrite:
        raise IntentCropError(f"output {file} is one of the inputs; refusing to overwrite it (use --overwrite)")
    if os.path.lexists(file) and not args.overwrite and not (batch is not None and batch.ours(file)):
        raise IntentCropError(f"output {file} already exists (use --overwrite to replace it)")


def _cut(args, result, image, name: str, notes: list[str]):
    """The crop's pixels as they will be written; an enlargement is noted (or, with --no-upscale, avoided)."""
    factor = result.scale(image.size)
    crop = result.crop(image, upscale=not args.no_upscale)
    if factor > 1 and not args.no_upscale:
        x1, y1, x2, y2 = result.box.clip(*image.size).as_int_tuple()
        notes.append(f"{name}: crop #{result.rank} enlarged {factor:.2f}x, from {x2 - x1}x{y2 - y1} source pixels "
                     f"to {crop.size[0]}x{crop.size[1]} (--no-upscale keeps its own size)")
    return crop


def _write_outputs(args, mode, target, path: Path, stem: str, image, output, input_paths,
                   notes: list[str], batch: "_Batch | None" = None) -> list[tuple[Path, tuple[int, int]]]:
    """Write the crops --out asks for; returns (file, written size) per written crop, best first."""
    results = output.results
    if mode == "none" or not results:
        return []
    metadata = read_metadata(path)
    if mode == "stdout":
        fmt = _FORMAT_NAMES.get(args.format, "PNG")
        crop = _cut(args, results[0], image, "<stdout>", notes)
        data = encode_image(crop, fmt, quality=args.quality, metadata=metadata)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return []
    if mode == "file":
        results = results[:1]  # a file holds exactly one image: the best crop
        files = [target]
    else:
        ext = f".{args.format}" if args.format else (path.suffix.lower() or ".png")
        try:
            output_format(Path("x" + ext))
        except IntentCropError:
            ext = ".png"
        files = []
        for r in results:
            file = target / _out_name(stem, r, ext)
            n = 1
            while file in files:  # two ratios with one label (e.g. 'original' and the image's own): never alike
                n += 1
                file = target / _out_name(f"{stem}-{n}", r, ext)
            files.append(file)
    batch = batch or _Batch(None, None, path)
    for file in files:
        _check_target(file, args, input_paths, batch)
    written = []
    for result, file in zip(results, files):
        crop = _cut(args, result, image, str(file), notes)
        data = encode_image(crop, output_format(file), quality=args.quality, metadata=metadata)
        batch.write(file, data, overwrite=args.overwrite)
        written.append((file, crop.size))
    return written


def _write_debug(args, stem: str, image, output, input_paths, batch: "_Batch | None" = None) -> None:
    from intentcrop.debug import draw_debug

    target = Path(args.debug)
    if _is_dir_target(args.debug):
        target = target / f"{stem}_debug.png"
    batch = batch or _Batch(None, None, Path(args.debug))
    _check_target(target, args, input_paths, batch)
    overlay = draw_debug(load_image(image), output, all_candidates=args.debug_all)
    batch.write(target, encode_image(overlay, output_format(target), quality=args.quality), overwrite=args.overwrite)


def _print_summary(path: Path, output, written: list[Path]) -> None:
    w, h = output.image_size
    print(f"{path} ({w}x{h}):")
    if output.grounding is not None and output.grounding.selection:
        print(f"  grounding: {output.grounding.selection}")
    if output.verdict is not None:
        print(f"  verdict: {output.verdict} ({output.verdict_reason})")
    for i, r in enumerate(output.results):
        d = r.to_dict()
        b = d["box"]
        ratio = f" [{d['ratio']}]" if "ratio" in d else ""
        file = f" -> {written[i][0]}" if i < len(written) else ""
        print(f"  #{r.rank}{ratio} x1={b['x1']} y1={b['y1']} x2={b['x2']} y2={b['y2']} "
              f"({b['width']}x{b['height']}) score={r.score:.3f}{file}")
        if r.explanation:
            print(f"     {r.explanation}")
