"""A batch from a folder or a manifest of images to an output folder: in this process, in N worker processes, or
on a Ray cluster, with one manifest of results written as it goes, resumable after a kill.

The manifest is `manifest.jsonl` in the output folder (the crop command's ledger, `intentcrop.cli.batch`, under
another name), one JSON line per event, appended and fsynced:

- `{"event": "file", "key", "input", "file", "sha256"}` before an output file takes its name (so a re-run knows
  which existing files it wrote itself and may replace);
- `{"event": "done", "key", "input", "files": {NAME: SHA256}, "image", "crops": [...], "warnings": [...]}` once
  all of an input's files are written; `crops` are the geometry, scores, explanations and focal points
  (`CropOutput.to_dict()`), each with its `file`;
- `{"event": "failed", "key", "input", "error"}`.

On a re-run (the same command, or with other -j / --ray) an input whose `done` line has the same key and whose
files are all there unchanged is skipped; the others (failed, unfinished, never started) are cropped. The key
is made from the input (path, size, mtime), its output name and the options that shape the outputs
(`work.JOB_DEFAULTS`), not from -j, --ray or the progress bar.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable

from intentcrop.batch.work import CropJob, init_worker, job_options, run_in_worker
from intentcrop.errors import IntentCropError

MANIFEST = "manifest.jsonl"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}


def list_inputs(source: "str | Path", root: "str | Path | None" = None) -> list[Path]:
    """The images of a batch: a folder's image files (recursively, sorted), or a manifest file's -- a JSON Lines
    file whose rows name the image under "input", "path" or "filename", or a text file with one path a line.
    A manifest's relative paths are read from `root`, else from the manifest's own folder."""
    source = Path(source)
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not source.is_file():
        raise IntentCropError(f"{source}: no such folder or manifest file")
    base = Path(root) if root is not None else source.parent
    paths: list[Path] = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
                name = next(row[k] for k in ("input", "path", "filename") if k in row)
            except (ValueError, StopIteration, TypeError):
                raise IntentCropError(f"{source}:{number}: a JSON row needs an \"input\", \"path\" or \"filename\""
                                      ) from None
        else:
            name = line
        path = Path(name)
        paths.append(path if path.is_absolute() else base / path)
    return paths


@dataclass
class Summary:
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)
    skipped: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "failed": len(self.failed), "skipped": self.skipped,
                "seconds": round(self.seconds, 2),
                "images_per_second": round(self.done / self.seconds, 3) if self.seconds > 0 else None,
                "failures": [{"input": i, "error": e} for i, e in self.failed]}

    def text(self) -> str:
        rate = f", {self.done / self.seconds:.2f} images/s" if self.seconds > 0 and self.done else ""
        lines = [f"done {self.done}, failed {len(self.failed)}, skipped {self.skipped} (already done) in "
                 f"{self.seconds:.1f} s{rate}"]
        lines += [f"  failed: {i}: {e}" for i, e in self.failed[:50]]
        if len(self.failed) > 50:
            lines.append(f"  ... and {len(self.failed) - 50} more (see the manifest's \"failed\" lines)")
        return "\n".join(lines)


class _Writer:
    """The driver's side: the output folder, its manifest, the progress bar and the summary."""

    def __init__(self, out: Path, options: dict[str, Any], progress: bool, overwrite: bool = False) -> None:
        from intentcrop.cli.batch import Manifest
        from intentcrop.io.atomic import clean_temp_files

        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest(out, name=MANIFEST)
        clean_temp_files(out)  # what a killed run left
        self.options = options
        self.key_args = SimpleNamespace(**options)
        self.summary = Summary()
        self.progress_enabled = progress
        self.overwrite = overwrite
        self.bar = None

    def plan(self, inputs: list[Path]) -> list[tuple[int, Path, str, "str | None"]]:
        """(index, path, output stem, key) of the inputs still to do; the finished ones are counted skipped."""
        from intentcrop.cli.batch import input_key
        from intentcrop.cli.crop_cmd import output_stems

        todo = []
        for index, (path, stem) in enumerate(zip(inputs, output_stems(inputs))):
            key = input_key(path, stem, self.key_args)
            if not self.overwrite and self.manifest.finished(key) is not None:
                self.summary.skipped += 1
            else:
                todo.append((index, path, stem, key))
        return todo

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="img", file=sys.stderr, disable=not self.progress_enabled,
                        dynamic_ncols=True, smoothing=0.1, desc="crop")

    def record(self, path: Path, key: "str | None", result: dict[str, Any]) -> None:
        from intentcrop.cli.crop_cmd import _Batch

        try:
            if "error" in result:
                raise IntentCropError(result["error"])
            if key is None:
                raise IntentCropError("no such file")
            batch = _Batch(self.manifest, key, path)
            for name, data in result["outputs"]:
                batch.write(self.out / name, data, overwrite=self.overwrite)
            self.manifest.record_done(key, path, batch.files, extra=result["record"])
            self.summary.done += 1
        except (IntentCropError, OSError) as exc:
            self.summary.failed.append((str(path), str(exc)))
            self.manifest.record_failed(key, path, str(exc))
        if self.bar is not None:
            self.bar.update(1)

    def close(self, started: float) -> Summary:
        if self.bar is not None:
            self.bar.close()
        self.summary.seconds = time.monotonic() - started
        return self.summary


def _run_local(todo, options: dict[str, Any], workers: int, writer: _Writer) -> None:
    if workers <= 1:
        job = CropJob(options)
        for _, path, stem, key in todo:
            writer.record(path, key, job(path, stem))
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    by_index = {index: (path, key) for index, path, _, key in todo}
    pending: set = set()
    queue = iter(todo)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker, initargs=(options,)) as pool:
        try:
            while True:
                while len(pending) < 2 * workers:  # a few in flight per worker: bounded memory, no idle worker
                    item = next(queue, None)
                    if item is None:
                        break
                    index, path, stem, _ = item
                    pending.add(pool.submit(run_in_worker, index, str(path), stem))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index, result = future.result()
                    path, key = by_index[index]
                    writer.record(path, key, result)
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def run_batch(source: "str | Path | Iterable[str | Path]", out: "str | Path", options: "dict[str, Any] | None" = None,
              *, workers: int = 1, ray: bool = False, ray_address: str | None = None,
              ray_concurrency: int | None = None,
              ray_num_gpus: float = 0.0, ray_batch_size: int = 4, root: "str | Path | None" = None,
              progress: bool = False, limit: int | None = None, overwrite: bool = False) -> Summary:
    """Crop every image of `source` (a folder, a manifest file, or a list of paths) into the folder `out`.

    options: the crop options (`work.JOB_DEFAULTS`: text, ratio, size, k, method, model, format, ...);
    workers: processes on this machine (1: this process); ray: run on Ray instead (see `ray_data.crop_dataset`)
    at ray_address (None: a local instance, or the cluster `RAY_ADDRESS` names), with ray_concurrency actors
    (default: workers) each with ray_num_gpus GPUs; limit: the first N inputs only; overwrite: redo every input and
    replace existing files (else a file this batch did not write is never replaced: that input fails). Returns
    the summary; the results are in `out`/manifest.jsonl."""
    options = job_options(options or {})
    CropJob(options)  # the options are checked here, before a worker starts (a bad ratio, a missing model extra)
    if isinstance(source, (str, Path)):
        inputs = list_inputs(source, root)
    else:
        inputs = [Path(p) for p in source]
    if limit is not None:
        inputs = inputs[:limit]
    writer = _Writer(Path(out), options, progress, overwrite)
    started = time.monotonic()
    todo = writer.plan(inputs)
    writer.start(len(todo))
    try:
        if not todo:
            pass
        elif ray:
            from intentcrop.batch.ray_data import run_on_ray

            run_on_ray(todo, options, writer, address=ray_address, concurrency=ray_concurrency or max(1, workers),
                       num_gpus=ray_num_gpus, batch_size=ray_batch_size)
        else:
            _run_local(todo, options, workers, writer)
    finally:
        summary = writer.close(started)
    return summary
