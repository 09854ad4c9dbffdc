"""Zoom-in refinement of small grounded boxes: look again at each kept box, closer.

A detector's box can be no finer than its grid: OWL-ViT predicts one box per image patch, and an object
spanning two or three patches of the model's input gets a box whose edges are off by a good share of its
size (the world's OWL-ViT: mean IoU 0.76 with the true box). Cut out a window around the box (grown by
each of `windows`), run the same model on it at full input size, and the object spans many more patches:
the re-detected box is sharper (IoU 0.84). The window's best match for the same query that overlaps the
original box (IoU >= `min_iou`) is the re-detection; the refined box is the union of the re-detections,
since each window's estimate errs its own way and the crop must hold the whole object (a box grown by 10 %
then holds the object as often as the original grown by 15 %). Big boxes are left alone: they span enough
patches already, and each window costs a forward pass.

This module holds the geometry; `owlvit.OwlVitGrounder.refine` runs the model.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from intentcrop.core.box import Box, pairwise_iou
from intentcrop.core.context import Grounding


def patch_span(box: Box, width: int, height: int, grid: int, padded_square: bool) -> float:
    """How many patches of the model's grid (grid x grid over its square input) the box's longer side spans.
    OWL-ViT stretches the image to the square; OWLv2 pads it to max(width, height) first."""
    if padded_square:
        side = float(max(width, height))
        return max(box.width, box.height) / side * grid
    return max(box.width / width, box.height / height) * grid


def refine_windows(box: Box, margins: Sequence[float], width: int, height: int) -> list[Box]:
    """The windows to look again in: the box grown by each margin, inside the image, in whole pixels; windows
    under 2 px a side are skipped (nothing to re-detect)."""
    windows = []
    for margin in margins:
        window = box.expand(margin).clip(width, height).round()
        if window.width >= 2 and window.height >= 2:
            windows.append(window)
    return windows


def pick_redetection(xyxy: np.ndarray, probs: np.ndarray, original: Box, min_iou: float) -> Box | None:
    """The re-detection in one window: among its token boxes (P, 4 xyxy in image pixels, with match
    probabilities (P,)), the most likely one that overlaps the original box by at least `min_iou`
    (the same object, not a neighbour that also fits the query); None if none does."""
    if len(xyxy) == 0:
        return None
    overlap = pairwise_iou(np.asarray(xyxy, dtype=np.float64), original.to_array()[None, :])[:, 0]
    score = np.where(overlap >= min_iou, np.asarray(probs, dtype=np.float64), -1.0)
    best = int(np.argmax(score))
    return Box.from_xyxy(xyxy[best]) if score[best] >= 0 else None


def union_of(redetections: Sequence[Box | None], original: Box) -> Box:
    """The refined box: the union of the windows' re-detections (the original if no window found it)."""
    found = [b for b in redetections if b is not None]
    return Box.union_all(found) if found else original


def refine_grounding(grounding: Grounding, refine_box: Callable[[Box, str], Box]) -> Grounding:
    """`grounding` with every kept box (and every alternative reading's) replaced by refine_box(box, phrase) and
    the region the union of the new boxes. Look-alikes keep their boxes: they only need to be left out roughly.
    Each distinct (box, phrase) is refined once (a tie's readings share the boxes of the whole)."""
    done: dict[tuple, Box] = {}

    def refined(box: Box, phrase: str) -> Box:
        key = (tuple(round(v, 3) for v in box.to_list()), phrase)
        if key not in done:
            done[key] = refine_box(box, phrase)
        return done[key]

    def rebuild(g: Grounding) -> Grounding:
        if not g.boxes:
            return g
        boxes = [refined(b, p) for b, p in zip(g.boxes, g.phrases)]
        return dataclasses.replace(g, boxes=boxes, region=Box.union_all(boxes),
                                   alternatives=[rebuild(a) for a in g.alternatives])

    return rebuild(grounding)


__all__ = ["patch_span", "pick_redetection", "refine_grounding", "refine_windows", "union_of"]
