"""Box-agreement metrics of the free-form cropping benchmarks (FCDB, FLMS, ...).

All functions take xyxy boxes in image pixels, as (N, 4) arrays or sequences of `Box`, and are
vectorised over images. One predicted crop per image is compared either with one human crop
(FCDB) or with several annotators' crops (FLMS: mean and best over annotators).

Source: Chen et al., "Quantitative Analysis of Automatic Image Cropping Algorithms: A Dataset and
Comparative Study", WACV 2017 (FCDB), and its evaluation code; boundary displacement from Yan et al.,
"Learning the Change for Automatic Image Cropping", CVPR 2013.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from intentcrop.core.box import Box

DEFAULT_ALPHA = 0.75  # FCDB's alpha-recall threshold: IoU >= 0.75 counts as a hit.

BoxesLike = "np.ndarray | Sequence[Box] | Sequence[Sequence[float]]"


def as_boxes(boxes: BoxesLike, name: str = "boxes") -> np.ndarray:
    """(N, 4) float64 xyxy from an array, a list of `Box` or a list of 4-sequences."""
    if isinstance(boxes, Box):
        boxes = [boxes]
    if not isinstance(boxes, np.ndarray):
        boxes = [b.to_xyxy() if isinstance(b, Box) else b for b in boxes]
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 4)
    if arr.shape[-1] != 4:
        raise ValueError(f"{name}: expected xyxy boxes with 4 coordinates, got shape {arr.shape}")
    return arr


def iou(pred: BoxesLike, gt: BoxesLike) -> np.ndarray:
    """Paired intersection over union, one value per image.

    IoU = |P ∩ G| / (|P| + |G| - |P ∩ G|), with areas of continuous boxes (w * h, no +1),
    0 when the union is empty. `pred` and `gt` are (N, 4), or (..., 4) arrays that broadcast.
    """
    p, g = as_boxes(pred, "pred"), as_boxes(gt, "gt")
    lt = np.maximum(p[..., :2], g[..., :2])
    rb = np.minimum(p[..., 2:], g[..., 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)  # noqa: E731
    union = area(p) + area(g) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def boundary_displacement(pred: BoxesLike, gt: BoxesLike, width, height) -> np.ndarray:
    """Boundary displacement error (Disp / BDE), one value per image; lower is better.

    Disp = ( (|x1 - x1'| + |x2 - x2'|) / W + (|y1 - y1'| + |y2 - y2'|) / H ) / 4,
    i.e. the mean distance of the four edges, each normalised by the image side it runs along.
    `width` and `height` are the image sizes: scalars or (N,) arrays.
    """
    p, g = as_boxes(pred, "pred"), as_boxes(gt, "gt")
    d = np.abs(p - g)
    shape = d.shape[:-1]
    w = np.broadcast_to(np.asarray(width, dtype=np.float64), shape[:1]).reshape(shape[:1] + (1,) * (len(shape) - 1))
    h = np.broadcast_to(np.asarray(height, dtype=np.float64), shape[:1]).reshape(shape[:1] + (1,) * (len(shape) - 1))
    if np.any(w <= 0) or np.any(h <= 0):
        raise ValueError("image width and height must be positive")
    return ((d[..., 0] + d[..., 2]) / w + (d[..., 1] + d[..., 3]) / h) / 4.0


def alpha_recall(ious: "Sequence[float] | np.ndarray", alpha: float = DEFAULT_ALPHA) -> float:
    """Share of images whose IoU is at least `alpha` (FCDB: alpha = 0.75). NaN for no images."""
    ious = np.asarray(ious, dtype=np.float64).ravel()
    return float(np.mean(ious >= alpha)) if ious.size else float("nan")


def _pad_annotators(gts: "Sequence[BoxesLike] | np.ndarray") -> np.ndarray:
    """(N, A, 4) with NaN rows where an image has fewer than A annotators."""
    if isinstance(gts, np.ndarray) and gts.ndim == 3:
        return gts.astype(np.float64)
    per_image = [as_boxes(g, "annotator boxes").reshape(-1, 4) for g in gts]
    if any(len(g) == 0 for g in per_image):
        raise ValueError("every image needs at least one annotator box")
    most = max((len(g) for g in per_image), default=0)
    out = np.full((len(per_image), most, 4), np.nan)
    for i, g in enumerate(per_image):
        out[i, : len(g)] = g
    return out


def iou_over_annotators(pred: BoxesLike, gts: "Sequence[BoxesLike] | np.ndarray") -> dict[str, np.ndarray]:
    """IoU of each image's one prediction with each of its annotators' crops, reduced per image.

    Returns {"mean": (N,), "max": (N,)}: mean IoU over annotators and the best (max) IoU,
    as FLMS reports both. `gts` is (N, A, 4) or a list of (A_i, 4) (images may differ in A).
    """
    p = as_boxes(pred, "pred")
    g = _pad_annotators(gts)
    missing = np.isnan(g[..., 0])
    values = iou(p[:, None, :], np.nan_to_num(g))
    values = np.where(missing, np.nan, values)
    return {"mean": np.nanmean(values, axis=1), "max": np.nanmax(values, axis=1)}


def displacement_over_annotators(
    pred: BoxesLike, gts: "Sequence[BoxesLike] | np.ndarray", width, height
) -> dict[str, np.ndarray]:
    """Disp of each image's prediction with each annotator's crop, reduced per image.

    Returns {"mean": (N,), "min": (N,)}: mean over annotators and the best (smallest) Disp.
    """
    p = as_boxes(pred, "pred")
    g = _pad_annotators(gts)
    missing = np.isnan(g[..., 0])
    values = boundary_displacement(p[:, None, :], np.nan_to_num(g), width, height)
    values = np.where(missing, np.nan, values)
    return {"mean": np.nanmean(values, axis=1), "min": np.nanmin(values, axis=1)}


def box_agreement(pred: BoxesLike, gt: BoxesLike, width, height, alpha: float = DEFAULT_ALPHA) -> dict[str, float]:
    """The FCDB summary of one method: mean IoU, mean Disp and alpha-recall over images."""
    ious = iou(pred, gt)
    disps = boundary_displacement(pred, gt, width, height)
    return {
        "iou": float(np.mean(ious)) if ious.size else float("nan"),
        "disp": float(np.mean(disps)) if disps.size else float("nan"),
        "recall": alpha_recall(ious, alpha),
        "n": int(ious.size),
    }
