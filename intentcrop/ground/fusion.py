"""Matches -> the region a crop must keep: ClipCrop's union of matched boxes, minus outliers.

Per query phrase the best-scoring image tokens give candidate boxes (a few per phrase after NMS, since
"three dogs" is several boxes). The best match overall anchors the region. A match can be kept only if
it scores at least `min_relative_score` of it and is at least `min_relative_area` of its area (tiny
boxes are usually parts or noise), and then only when it is
  * one of the instances the text names: the best match of each phrase ("the woman and the boat" names
    both) and, for a phrase with a number, its best N matches ("three dogs");
  * as likely as the best (`tie_score` of its score): the models cannot tell which is meant, so both stay;
  * another box of a kept thing (IoU at least `same_thing_iou` with a kept box: a looser or tighter
    outline of the same object, which guards against a box that cuts it).
Any other match is a second instance of something asked for once ("the red circle" beside another red
circle): it is left out, and if it lies clear of the region it is reported as a look-alike
(`Grounding.rejected`) for the scorers to leave out too. The region is the union of the kept boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import Box, pairwise_iou
from intentcrop.core.context import Grounding


@dataclass(frozen=True)
class Match:
    box: Box
    score: float
    phrase: str


def top_boxes_per_query(xyxy: np.ndarray, scores: np.ndarray, per_query: int = defaults.GROUND_PER_QUERY,
                        nms_iou: float = 0.5) -> list[list[int]]:
    """For each query (column of scores (P, Q)), up to `per_query` token indices, best first, after greedy NMS."""
    out = []
    for q in range(scores.shape[1]):
        order = np.argsort(-scores[:, q], kind="stable")
        kept: list[int] = []
        for idx in order:
            if len(kept) >= per_query:
                break
            if kept and pairwise_iou(xyxy[[idx]], xyxy[kept]).max() > nms_iou:
                continue
            kept.append(int(idx))
        out.append(kept)
    return out


NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "both": 2, "pair": 2, "couple": 2}


def phrase_count(phrase: str) -> int:
    """How many instances a phrase names: 'three green crosses' -> 3, '2 dogs' -> 2, otherwise 1."""
    for word in phrase.lower().replace(",", " ").split():
        if word in NUMBER_WORDS:
            return NUMBER_WORDS[word]
        if word.isdigit() and 0 < int(word) <= 20:
            return int(word)
    return 1


def fuse_matches(
    matches: list[Match],
    source: str,
    min_score: float = defaults.GROUND_MIN_SCORE,
    min_relative_score: float = defaults.GROUND_MIN_RELATIVE_SCORE,
    min_relative_area: float = defaults.GROUND_MIN_RELATIVE_AREA,
    tie_score: float = defaults.GROUND_TIE_SCORE,
    same_thing_iou: float = defaults.GROUND_SAME_THING_IOU,
) -> Grounding:
    """Keep the best match and those consistent with it; region = their union (None if nothing scores
    `min_score`). The result is never strict: a model's guess may be overruled by the crop constraints."""
    matches = sorted((m for m in matches if m.box.area > 0), key=lambda m: -m.score)
    if not matches or matches[0].score < min_score:
        return Grounding(boxes=[], scores=[], phrases=[], region=None, strict=False, source=source)
    best = matches[0]
    kept = [best]
    left_out: list[Match] = []
    rank_in_phrase = {best.phrase: 1}
    for m in matches[1:]:
        rank = rank_in_phrase.get(m.phrase, 0)
        rank_in_phrase[m.phrase] = rank + 1
        wanted = (rank < phrase_count(m.phrase)  # one of the instances the phrase itself asks for
                  or m.score >= tie_score * best.score  # as likely as the best: cannot tell which is meant
                  or any(m.box.iou(k.box) >= same_thing_iou for k in kept))  # another outline of a kept thing
        if (not wanted or m.score < max(min_score, min_relative_score * best.score)
                or m.box.area < min_relative_area * best.box.area):
            left_out.append(m)
            continue
        if any(m.box.iou(k.box) > 0.9 for k in kept):  # the same box found by another phrase
            continue
        kept.append(m)
    region = Box.union_all(m.box for m in kept)
    return Grounding(
        boxes=[m.box for m in kept], scores=[float(m.score) for m in kept], phrases=[m.phrase for m in kept],
        region=region, strict=False, source=source, **look_alikes(left_out, region, min_score),
    )


def look_alikes(left_out: list[Match], region: Box, min_score: float, max_overlap: float = 0.5) -> dict[str, list]:
    """The left-out matches that are other things, not parts of the region: scoring at least `min_score`,
    mostly outside the region (at most `max_overlap` of their area inside it), one box per thing (NMS)."""
    boxes: list[Box] = []
    scores: list[float] = []
    for m in sorted(left_out, key=lambda m: -m.score):
        if m.score < min_score:
            break
        inside = m.box.intersection(region) / max(m.box.area, 1e-9)
        if inside > max_overlap or any(m.box.iou(b) > 0.5 for b in boxes):
            continue
        boxes.append(m.box)
        scores.append(float(m.score))
    return {"rejected": boxes, "rejected_scores": scores}


__all__ = ["Match", "fuse_matches", "look_alikes", "phrase_count", "top_boxes_per_query"]
