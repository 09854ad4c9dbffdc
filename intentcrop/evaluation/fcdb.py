"""Free-form (FCDB-style) evaluation: run croppers over a dataset, compare with the human crops.

Reports mean IoU, mean boundary displacement (Disp), alpha-recall and speed (images per second of
cropper time: image reading inside the cropper counts, metric computation does not). Optionally writes
one JSON line per image and method.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from intentcrop.core.box import Box
from intentcrop.datasets.fcdb import FCDBDataset
from intentcrop.errors import IntentCropError
from intentcrop.evaluation.croppers import Cropper
from intentcrop.metrics.overlap import DEFAULT_ALPHA, alpha_recall, boundary_displacement, iou


class EvaluationError(IntentCropError):
    """An evaluation cannot run or a cropper failed on an image (the message names which)."""


# (ratio_aware, candidates) -> the protocol's name in tables and JSON
PROTOCOLS = {(False, False): "free-form", (True, False): "ratio-aware", (False, True): "candidate windows"}


@dataclass
class FCDBReport:
    method: str
    split: str
    ratio_aware: bool
    n: int
    iou: float
    disp: float
    recall: float
    alpha: float
    seconds: float  # total cropper time
    per_image: list[dict[str, Any]] = field(default_factory=list, repr=False)
    candidates: bool = False  # the method ranked the dataset's candidate windows (FCDB's own protocol)

    @property
    def protocol(self) -> str:
        return PROTOCOLS[(self.ratio_aware, self.candidates)]

    @property
    def images_per_s(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else float("inf")

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / self.n if self.n else float("nan")

    def to_dict(self, per_image: bool = False) -> dict[str, Any]:
        out = {
            "method": self.method, "split": self.split, "protocol": self.protocol, "ratio_aware": self.ratio_aware,
            "n": self.n,
            "iou": round(self.iou, 4), "disp": round(self.disp, 4), f"recall@{self.alpha:g}": round(self.recall, 4),
            "images_per_s": round(self.images_per_s, 3), "seconds_per_image": round(self.seconds_per_image, 4),
        }
        if per_image:
            out["per_image"] = self.per_image
        return out


class PredictionWriter:
    """Appends per-image rows to a jsonl file; refuses to replace an existing file unless overwrite=True."""

    def __init__(self, path: "str | Path", overwrite: bool = False) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise EvaluationError(f"predictions path {self.path} is a folder; give a .jsonl file")
        if self.path.exists() and not overwrite:
            raise EvaluationError(f"predictions file {self.path} already exists (pass overwrite=True / --overwrite)")
        if not self.path.parent.exists():
            raise EvaluationError(f"folder {self.path.parent} for the predictions file does not exist")
        self._fh = open(self.path, "w" if overwrite else "x", encoding="utf-8")

    def write(self, row: Mapping[str, Any]) -> None:
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "PredictionWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def describe_error(exc: Exception) -> str:
    """Our own errors speak for themselves; others get their type, since e.g. a KeyError's text is just a key."""
    if isinstance(exc, IntentCropError):
        return str(exc)
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return f"{type(exc).__name__}: {message}"


def _as_box(value: Any, method: str, filename: str) -> Box:
    if isinstance(value, Box):
        return value
    try:
        return Box.from_xyxy(value)
    except Exception as exc:  # noqa: BLE001
        raise EvaluationError(f"{method} on {filename}: returned {value!r}, not a box ({exc})") from None


def evaluate_fcdb(
    cropper: "Cropper | Callable[..., Box]",
    dataset: FCDBDataset,
    *,
    method: str | None = None,
    ratio_aware: bool = False,
    candidates: bool = False,
    alpha: float = DEFAULT_ALPHA,
    writer: PredictionWriter | None = None,
    on_image: Callable[[int, int], None] | None = None,
) -> FCDBReport:
    """Crop every image of `dataset` with `cropper` and compare with the human crops.

    ratio_aware: pass the human crop's aspect ratio to the cropper (the ratio-aware protocol);
    otherwise it is called with the image path only (free-form).
    candidates: FCDB's own protocol: `cropper` is a ranker (`make_ranker`), called with the image path and the
    row's candidate windows (`FCDBSample.candidate_windows`, the human crop left out), returning the best.
    writer: receives one row per image {"method", "filename", "pred_xyxy", "gt_xyxy", "iou", "disp", "seconds"}.
    on_image(done, total): progress callback.
    """
    name = method or getattr(cropper, "name", None) or getattr(cropper, "__name__", "cropper")
    if ratio_aware and candidates:
        raise EvaluationError("the candidate-window protocol ranks the dataset's windows as they are; "
                              "it has no ratio-aware variant")
    preds, gts, widths, heights, seconds = [], [], [], [], []
    for index, sample in enumerate(dataset):
        start = time.perf_counter()
        try:
            if candidates:
                raw = cropper(sample.image_path, sample.candidate_windows)
            else:
                raw = cropper(sample.image_path, sample.crop_ratio) if ratio_aware else cropper(sample.image_path)
        except Exception as exc:  # noqa: BLE001 - any failure stops the run, naming the method and image
            raise EvaluationError(f"{name} failed on {sample.filename}: {describe_error(exc)}") from exc
        seconds.append(time.perf_counter() - start)
        preds.append(_as_box(raw, name, sample.filename).to_xyxy())
        gts.append(sample.crop.to_xyxy())
        widths.append(sample.width)
        heights.append(sample.height)
        if on_image is not None:
            on_image(index + 1, len(dataset))
    pred, gt = np.asarray(preds).reshape(-1, 4), np.asarray(gts).reshape(-1, 4)
    ious = iou(pred, gt)
    disps = boundary_displacement(pred, gt, np.asarray(widths), np.asarray(heights)) if len(pred) else np.zeros(0)
    per_image = [
        {"method": name, "filename": s.filename, "pred_xyxy": [round(float(v), 2) for v in p],
         "gt_xyxy": [round(float(v), 2) for v in g], "iou": round(float(i), 5), "disp": round(float(d), 5),
         "seconds": round(t, 5)}
        for s, p, g, i, d, t in zip(dataset, pred, gt, ious, disps, seconds)
    ]
    if writer is not None:
        for row in per_image:
            writer.write(row)
    return FCDBReport(
        method=name, split=dataset.split, ratio_aware=ratio_aware, n=len(pred),
        iou=float(ious.mean()) if len(pred) else float("nan"),
        disp=float(disps.mean()) if len(pred) else float("nan"),
        recall=alpha_recall(ious, alpha), alpha=alpha, seconds=float(sum(seconds)), per_image=per_image,
        candidates=candidates,
    )


def evaluate_fcdb_methods(
    croppers: "Mapping[str, Cropper] | Iterable[tuple[str, Cropper]]",
    dataset: FCDBDataset,
    *,
    ratio_aware: bool = False,
    candidates: bool = False,
    alpha: float = DEFAULT_ALPHA,
    predictions: "str | Path | None" = None,
    overwrite: bool = False,
) -> list[FCDBReport]:
    """Several methods on the same images in one run; all their per-image rows go to one `predictions` file."""
    items = list(croppers.items()) if isinstance(croppers, Mapping) else list(croppers)
    writer = PredictionWriter(predictions, overwrite) if predictions is not None else None
    try:
        return [evaluate_fcdb(c, dataset, method=name, ratio_aware=ratio_aware, candidates=candidates, alpha=alpha,
                              writer=writer)
                for name, c in items]
    finally:
        if writer is not None:
            writer.close()
