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

The same closer look settles which thing a text naming one thing means (`recheck_contenders`): when several
things score close to the best at the first look (at least `min_relative` of it), each is looked at again,
and the closer look's probability (the mean over its windows of the re-detection's probability) replaces the
first look's differences. At the first look a small cross and a small circle of one colour span two or three
patches each and score alike; up close their shapes differ (the world's OWL-ViT, attribute texts with a second
thing in contention, seeds 1 to 3: the closer look picks the target in 10 of 11 ties the first look left open).

This module holds the geometry and the rules, and `CloserLooks`, which runs a detector
(`intentcrop.models.owlvit.OwlVit`) on the windows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from intentcrop.core.box import Box, pairwise_iou
from intentcrop.core.context import Grounding
from intentcrop.ground.config import GroundingConfig
from intentcrop.ground.fusion import Match
from intentcrop.ground.matches import PADDED_SQUARE


@dataclass(frozen=True)
class CloserLook:
    """What a second look at one box, in windows around it, found: `box` the union of the windows' re-detections
    (the original box if none found it), `score` the mean over the windows of the re-detection's probability
    (0 for a window that found nothing on the object)."""

    box: Box
    score: float


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


def pick_redetection(xyxy: np.ndarray, probs: np.ndarray, original: Box,
                     min_iou: float) -> tuple[Box, float] | None:
    """The re-detection in one window and its probability: among the window's token boxes (P, 4 xyxy in image
    pixels, with match probabilities (P,)), the most likely one that overlaps the original box by at least
    `min_iou` (the same object, not a neighbour that also fits the query); None if none does."""
    if len(xyxy) == 0:
        return None
    overlap = pairwise_iou(np.asarray(xyxy, dtype=np.float64), original.to_array()[None, :])[:, 0]
    score = np.where(overlap >= min_iou, np.asarray(probs, dtype=np.float64), -1.0)
    best = int(np.argmax(score))
    return (Box.from_xyxy(xyxy[best]), float(score[best])) if score[best] >= 0 else None


def closer_look(redetections: Sequence[tuple[Box, float] | None], original: Box) -> CloserLook:
    """The refined box, the union of the windows' re-detections (the original if no window found it), and the
    closer look's probability, their mean over all windows (a window that found nothing counts 0)."""
    found = [r for r in redetections if r is not None]
    box = Box.union_all(b for b, _ in found) if found else original
    return CloserLook(box, sum(p for _, p in found) / len(redetections) if redetections else 0.0)


def recheck_contenders(matches: list[Match], look: Callable[[list[Match]], list[CloserLook | None]],
                       min_relative: float, same_thing_iou: float) -> list[Match] | None:
    """`matches` (of a text naming one thing, or a query image) with the contenders re-scored by a closer look;
    None when there is nothing to decide or the closer look cannot decide.

    Contenders score at least `min_relative` of the best. If they are all outlines of the best's thing (IoU >=
    `same_thing_iou`), there is nothing to decide. Otherwise `look` looks at each again (None for a box the
    model's grid already resolves: its first look stands, and the rest are not compared with it). Each
    contender's score becomes the best's score times its closer-look probability over the highest, so the
    fusion's rules (ties, look-alike weights) apply to the closer look on the same scale; the other matches,
    all below the contenders, keep theirs."""
    if not matches:
        return None
    best = max(matches, key=lambda m: m.score)
    contenders = [m for m in matches if m.score >= min_relative * best.score]
    if all(m.box.iou(best.box) >= same_thing_iou for m in contenders):
        return None
    looks = look(contenders)
    if any(found is None for found in looks):
        return None
    top = max(found.score for found in looks)
    if top <= 0:
        return None  # no window found any of them again: no better evidence than the first look
    rescored = {id(m): Match(m.box, best.score * found.score / top, m.phrase) for m, found in zip(contenders, looks)}
    return [rescored.get(id(m), m) for m in matches]


def look_key(box: Box, phrase: str) -> tuple:
    """What identifies one look at a box for a phrase: the box to a thousandth of a pixel, and the phrase."""
    return tuple(round(v, 3) for v in box.to_list()), phrase


class CloserLooks:
    """The closer looks at boxes of one image for one query: `looks([(box, phrase), ...])` re-detects each box in
    windows around it (`config.refine_windows`), all windows of all boxes batched, and gives its `CloserLook`, or
    None for a box the model's grid already resolves. With a query image the phrase is ignored. Each box is looked
    at once: the looks that decided between contenders are reused when the kept boxes are refined."""

    def __init__(self, detector: Any, image: Any, config: GroundingConfig, query_image: Any = None) -> None:
        self.detector, self.image, self.config, self.query_image = detector, image, config, query_image
        self.seen: dict[tuple, CloserLook | None] = {}

    def __call__(self, items: Sequence[tuple[Box, str]]) -> list[CloserLook | None]:
        config, image, seen = self.config, self.image, self.seen
        grid, padded = self.detector.grid, self.detector.frame == PADDED_SQUARE
        todo: dict[tuple, tuple[Box, str, list[Box]]] = {}
        for box, phrase in items:
            k = look_key(box, phrase)
            if k in seen or k in todo:
                continue
            windows = refine_windows(box, config.refine_windows, image.width, image.height)
            if patch_span(box, image.width, image.height, grid, padded) >= config.refine_max_patches or not windows:
                seen[k] = None  # the grid already resolves it (or it is too small to cut out)
            else:
                todo[k] = (box, phrase, windows)
        jobs = [(k, w) for k, (_, _, windows) in todo.items() for w in windows]
        found: dict[tuple, list] = {k: [] for k in todo}
        for start in range(0, len(jobs), config.refine_batch):
            chunk = jobs[start:start + config.refine_batch]
            crops = [image.crop(w.as_int_tuple()) for _, w in chunk]
            if self.query_image is not None:
                detected = self.detector.detect_image_batch(crops, self.query_image)
            else:
                detected = self.detector.detect_text_batch(crops, [[todo[k][1]] for k, _ in chunk])
            for (k, w), matches in zip(chunk, detected):
                xyxy = matches.shifted(w.x1, w.y1).xyxy  # window pixels -> image pixels
                found[k].append(pick_redetection(xyxy, matches.scores[:, 0], todo[k][0], config.refine_min_iou))
        for k, (box, _, _) in todo.items():
            seen[k] = closer_look(found[k], box)
        return [seen[look_key(box, phrase)] for box, phrase in items]


def refine_grounding(grounding: Grounding, refine_box: Callable[[Box, str], Box]) -> Grounding:
    """`grounding` with every kept box (and every alternative reading's) replaced by refine_box(box, phrase) and
    the region the union of the new boxes. Look-alikes keep their boxes: they only need to be left out roughly.
    Each distinct (box, phrase) is refined once (a tie's readings share the boxes of the whole)."""
    done: dict[tuple, Box] = {}

    def refined(box: Box, phrase: str) -> Box:
        key = look_key(box, phrase)
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


__all__ = ["CloserLook", "CloserLooks", "closer_look", "look_key", "patch_span", "pick_redetection",
           "recheck_contenders", "refine_grounding", "refine_windows"]
