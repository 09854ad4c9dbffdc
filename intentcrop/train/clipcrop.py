"""Training ClipCrop's crop decoder as the paper does: Hungarian matching, L1 + GIoU + Smooth-L1 quality, mosaics.

Each prediction set (M boxes, M qualities) is matched one-to-one to the good ground-truth crops (MOS >= 4 of 5)
with `scipy.optimize.linear_sum_assignment` on an L1 + GIoU cost. Deviation (world data): where no crop of an image
reaches MOS 4 (half the world cases), the crops within RELATIVE_GOOD of its best MOS are its good crops, so
those images still teach boxes instead of only pushing every quality to 0. Matched predictions learn the crop's box
(L1 + GIoU) and its score (MOS mapped to 0..1). Label smoothing: an unmatched prediction whose IoU to a scored
crop is >= 0.9 learns that crop's score; the other unmatched predictions learn 0 (DETR's "no crop").
Mosaics (single, 2x2, 3x3 with equal probability) tile several scenes; text and ground truth come from one tile.
Boxes here are x0/y0/x1/y1 in 0..1 of the (mosaic) image.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from intentcrop.models.loading import _require_torch

GOOD_MOS = 4.0  # ground-truth crops the decoder must find: MOS >= 4 of 5 (the paper's threshold)
RELATIVE_GOOD = 0.5  # deviation: an image with no MOS >= 4 crop takes its crops within 0.5 of its best MOS
SMOOTH_IOU = 0.9  # label smoothing: a prediction this close to a scored crop learns its score
L1_WEIGHT, GIOU_WEIGHT, QUALITY_WEIGHT = 5.0, 2.0, 1.0  # DETR's box weights; quality weighted as one box term


def mos_to_unit(mos: Any) -> Any:
    """MOS 1..5 -> 0..1."""
    return (mos - 1.0) / 4.0


def box_iou_giou(a: Any, b: Any) -> tuple[Any, Any]:
    """Pairwise IoU and generalised IoU of boxes a (P, 4) and b (G, 4): two (P, G) tensors."""
    torch = _require_torch()
    area_a = (a[:, 2] - a[:, 0]).clamp_min(0) * (a[:, 3] - a[:, 1]).clamp_min(0)
    area_b = (b[:, 2] - b[:, 0]).clamp_min(0) * (b[:, 3] - b[:, 1]).clamp_min(0)
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp_min(0).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    iou = inter / union.clamp_min(1e-9)
    lt_c = torch.min(a[:, None, :2], b[None, :, :2])
    rb_c = torch.max(a[:, None, 2:], b[None, :, 2:])
    hull = (rb_c - lt_c).clamp_min(0).prod(-1)
    return iou, iou - (hull - union) / hull.clamp_min(1e-9)


def match_cost(pred: Any, gt: Any) -> Any:
    """(P, G) matching cost: weighted L1 distance minus weighted GIoU."""
    torch = _require_torch()
    _, giou = box_iou_giou(pred, gt)
    return L1_WEIGHT * torch.cdist(pred, gt, p=1) - GIOU_WEIGHT * giou


def hungarian_match(cost: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rows (predictions) and columns (ground truth) of the minimum-cost one-to-one assignment."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(np.asarray(cost, dtype=np.float64))
    return rows, cols


def set_loss(pred_boxes: Any, pred_quality: Any, crops: Any, mos: Any,
             relative_good: float | None = RELATIVE_GOOD) -> dict[str, Any]:
    """Loss of one image's predictions (M, 4), (M,) against its scored crops (C, 4) with MOS (C,).

    Crops with MOS >= GOOD_MOS (or, where none is, within `relative_good` of the best MOS; None: the paper's
    absolute threshold only) take part in the matching; all scored crops feed label smoothing."""
    torch = _require_torch()
    f = torch.nn.functional
    threshold = GOOD_MOS
    if relative_good is not None and len(mos):
        threshold = min(GOOD_MOS, float(mos.max()) - relative_good)
    good = mos >= threshold
    gt, gt_q = crops[good], mos_to_unit(mos[good])
    target_q = torch.zeros_like(pred_quality)
    if len(crops):  # label smoothing first, so a matched prediction's own target wins
        iou, _ = box_iou_giou(pred_boxes.detach(), crops)
        best, which = iou.max(1)
        close = best >= SMOOTH_IOU
        target_q[close] = mos_to_unit(mos[which[close]]).to(target_q.dtype)
    if len(gt):
        rows, cols = hungarian_match(match_cost(pred_boxes.detach(), gt).cpu().numpy())
        rows_t, cols_t = torch.as_tensor(rows), torch.as_tensor(cols)
        matched, target = pred_boxes[rows_t], gt[cols_t]
        l1 = f.l1_loss(matched, target, reduction="sum") / len(gt)
        _, giou = box_iou_giou(matched, target)
        giou_loss = (1 - giou.diagonal()).sum() / len(gt)
        target_q[rows_t] = gt_q[cols_t].to(target_q.dtype)
    else:
        l1 = giou_loss = pred_boxes.sum() * 0
    quality = f.smooth_l1_loss(pred_quality, target_q, reduction="mean")
    total = L1_WEIGHT * l1 + GIOU_WEIGHT * giou_loss + QUALITY_WEIGHT * quality
    return {"loss": total, "l1": l1.detach(), "giou": giou_loss.detach(), "quality": quality.detach()}


@dataclass
class Tile:
    """One scene for a mosaic: image (H, W, 3 uint8), scored crops (C, 4) in 0..1 with MOS (C,), grounding boxes
    (K, 4) in 0..1, the text."""

    image: np.ndarray
    crops: np.ndarray
    mos: np.ndarray
    grounding: np.ndarray
    text: str


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def _filter_grounding(boxes: np.ndarray, crops: np.ndarray, mos: np.ndarray) -> np.ndarray:
    """The paper's mosaic filter: grounding boxes far from the target (no overlap with the best crop) or under
    half its area are dropped."""
    if not len(boxes) or not len(crops):
        return boxes
    target = crops[int(np.argmax(mos))]
    t_area = max((target[2] - target[0]) * (target[3] - target[1]), 1e-9)
    keep = []
    for b in boxes:
        ix = min(b[2], target[2]) - max(b[0], target[0])
        iy = min(b[3], target[3]) - max(b[1], target[1])
        area = (b[2] - b[0]) * (b[3] - b[1])
        keep.append(ix > 0 and iy > 0 and area >= 0.5 * t_area)
    return boxes[np.asarray(keep, dtype=bool)]


def mosaic(tiles: Sequence[Tile], rng: random.Random, side: int = 96) -> Tile:
    """A single image, 2x2 or 3x3 mosaic (equal probability) of square-resized tiles; text, crops and grounding
    from one tile (chosen at random), their boxes mapped into the mosaic."""
    grid = rng.choice((1, 2, 3))
    chosen = [tiles[rng.randrange(len(tiles))] for _ in range(grid * grid)]
    cell = side // grid
    canvas = np.zeros((cell * grid, cell * grid, 3), dtype=np.uint8)
    for i, tile in enumerate(chosen):
        r, c = divmod(i, grid)
        canvas[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = _resize(tile.image, cell)
    target = rng.randrange(len(chosen))
    r, c = divmod(target, grid)
    tile = chosen[target]

    def place(boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        return (boxes / grid + np.array([c, r, c, r], dtype=np.float32) / grid).astype(np.float32)

    grounding = place(tile.grounding)
    if grid > 1:
        grounding = _filter_grounding(grounding, place(tile.crops), tile.mos)
    return Tile(canvas, place(tile.crops), np.asarray(tile.mos, dtype=np.float32), grounding, tile.text)


def hflip(tile: Tile) -> Tile:
    """Mirror the image and boxes; "left" and "right" swap in the text."""
    def flip(boxes: np.ndarray) -> np.ndarray:
        b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        return np.stack([1 - b[:, 2], b[:, 1], 1 - b[:, 0], b[:, 3]], axis=1)

    words = {"left": "right", "right": "left"}
    text = " ".join(words.get(w, w) for w in tile.text.split())
    return Tile(tile.image[:, ::-1].copy(), flip(tile.crops), tile.mos, flip(tile.grounding), text)


def train_steps(decoder: Any, batches: Any, steps: int, lr: float = 1e-3, weight_decay: float = 1e-4,
                seed: int = 0, progress: Any = None) -> list[float]:
    """AdamW with cosine decay over `steps`. `batches(step)` gives (tokens, positions, matched, union, crops, mos)
    with crops / mos lists of per-image tensors. `progress(step, loss)` may return True to stop early.
    Returns the loss per step."""
    torch = _require_torch()
    torch.manual_seed(seed)
    module = decoder.module.train()
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    losses = []
    for step in range(steps):
        tokens, positions, matched, union, crops, mos = batches(step)
        boxes, quality = module(tokens, positions, matched, union)
        loss = sum(set_loss(boxes[i], quality[i], crops[i], mos[i])["loss"] for i in range(len(crops))) / len(crops)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 0.1)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if progress is not None and progress(step, losses[-1]):
            break
    module.eval()
    return losses


__all__ = ["GOOD_MOS", "RELATIVE_GOOD", "Tile", "box_iou_giou", "hflip", "hungarian_match", "match_cost", "mos_to_unit", "mosaic",
           "set_loss", "train_steps"]
