"""One image's work in a batch, the same in a worker process and in a Ray actor: crop it, encode its crops.
Nothing is written here: the driver writes the files and the manifest (one writer, and a Ray cluster needs
no shared output folder)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from intentcrop.errors import IntentCropError
from intentcrop.io.image import DEFAULT_QUALITY

# The options that shape the outputs (a batch's key is made from these alone, so that -j, --ray and the progress
# bar do not change it), with their defaults. The intent options are `intentcrop crop`'s.
JOB_DEFAULTS: dict[str, Any] = {
    "text": None, "query_image": None, "subject": None, "ratio": None, "size": None, "k": None,
    "min_scale": None, "max_scale": 1.0, "method": None, "option": [], "model": None, "device": None,
    "format": None, "quality": DEFAULT_QUALITY, "no_upscale": False,
}


def job_options(values: "dict[str, Any] | Any") -> dict[str, Any]:
    """JOB_DEFAULTS filled from a mapping or an argparse namespace (other fields ignored)."""
    source = values if isinstance(values, dict) else vars(values)
    unknown = set(source) - set(JOB_DEFAULTS) if isinstance(values, dict) else set()
    if unknown:
        raise IntentCropError(f"unknown batch option(s): {', '.join(sorted(unknown))}; known: "
                              f"{', '.join(sorted(JOB_DEFAULTS))}")
    out = {name: source.get(name, default) for name, default in JOB_DEFAULTS.items()}
    for name in ("ratio", "option", "model"):  # repeatable options: a single value is a one-item list
        if isinstance(out[name], str):
            out[name] = [out[name]]
    return out


class CropJob:
    """Crops one image at a time under fixed options; the pipeline (and its models) is loaded on the first
    image and shared by the later ones (backends are made once per process)."""

    def __init__(self, options: dict[str, Any]) -> None:
        from intentcrop.cli.crop_cmd import _check_vlm, _crop_kwargs

        self.options = job_options(options)
        self.args = SimpleNamespace(**self.options)
        _check_vlm(self.args)
        self.kwargs = _crop_kwargs(self.args)
        self._check()

    def _check(self) -> None:
        """The intent and limits as `intentcrop crop` checks them, before any image (a bad ratio fails here)."""
        import intentcrop
        from intentcrop import defaults
        from intentcrop.api import choose_method
        from intentcrop.pipeline import PIPELINE_CONFIGS, check_limits

        intent = intentcrop.make_intent(**{k: v for k, v in self.kwargs.items()
                                           if k not in ("model", "device", "method", "options")})
        method = self.kwargs.get("method") or choose_method(intent)
        check_limits(intent, defaults.DEFAULTS.merged(PIPELINE_CONFIGS[method].get("options"))
                     .merged(self.kwargs.get("options")))

    def __call__(self, path: "str | Path", stem: str) -> dict[str, Any]:
        """{"outputs": [(file name, bytes)], "record": crops/warnings/image, "notes": [...]} or {"error": ...}."""
        try:
            return self._crop(Path(path), stem)
        except (IntentCropError, OSError, ValueError) as exc:
            message = str(exc).replace(f"{path}: ", "", 1)
            return {"error": message or type(exc).__name__}

    def _crop(self, path: Path, stem: str) -> dict[str, Any]:
        import intentcrop
        from intentcrop.cli.crop_cmd import _cut, _out_name
        from intentcrop.io.image import encode_image, open_image, output_format, read_metadata

        image = open_image(path)
        output = intentcrop.crop(image, return_output=True, **self.kwargs)
        fmt = self.options["format"]
        ext = f".{fmt}" if fmt else (path.suffix.lower() or ".png")
        try:
            output_format(Path("x" + ext))
        except IntentCropError:
            ext = ".png"
        metadata = read_metadata(path)
        notes: list[str] = []
        outputs: list[tuple[str, bytes]] = []
        record = output.to_dict()
        for result, crop_dict in zip(output.results, record["crops"]):
            name = _out_name(stem, result, ext)
            n = 1
            while any(name == existing for existing, _ in outputs):  # two ratios with one label: never alike
                n += 1
                name = _out_name(f"{stem}-{n}", result, ext)
            crop = _cut(self.args, result, image, name, notes)
            outputs.append((name, encode_image(crop, output_format(Path(name)), quality=self.options["quality"],
                                               metadata=metadata)))
            crop_dict["file"] = name
            crop_dict["written_size"] = {"width": crop.size[0], "height": crop.size[1]}
        record["warnings"] = record["warnings"] + notes
        return {"outputs": outputs, "record": {k: record[k] for k in ("image", "crops", "warnings", "focal_point",
                                                                      "grounding") if k in record}}


_WORKER_JOB: "CropJob | None" = None


def init_worker(options: dict[str, Any], threads: int = 1) -> None:
    """A worker process's start: one thread for the numeric libraries (the processes are the parallelism),
    then the job."""
    global _WORKER_JOB
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    import cv2

    cv2.setNumThreads(threads)
    _WORKER_JOB = CropJob(options)


def run_in_worker(index: int, path: str, stem: str) -> tuple[int, dict[str, Any]]:
    assert _WORKER_JOB is not None, "init_worker was not called"
    return index, _WORKER_JOB(path, stem)
