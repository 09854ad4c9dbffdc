"""Say when no crop is needed: for a free-form intent, is the photo already well composed?

The whole image is scored by the same scorer(s) as the candidates and compared with the best crop. The
verdict is "keep" when the best crop is itself about the whole image (IoU >= KEEP_IOU with it) or the whole
image scores within `Defaults.keep_margin` of the best crop, else "crop". Only free-form intents get a verdict
(no ratio, size, subject, text or query image, and the whole image allowed): anything else asks for a crop.
The margin was chosen on FCDB train against "the human crop has IoU >= 0.9 with the image".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from intentcrop.core.box import pairwise_iou
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent

KEEP_IOU = 0.9  # a best crop this close to the whole image is the whole image, give or take a trim
SCORE_TOLERANCE = 1e-3  # the consensus box can outscore the whole image by rounding alone: that is a tie


@dataclass(frozen=True)
class Verdict:
    verdict: str  # "keep" or "crop"
    reason: str
    whole_score: float
    best_score: float
    best_iou: float  # the best crop's IoU with the whole image


def is_free_form(intent: Intent) -> bool:
    """No ratio, size, subject, text or query image, and the whole image is an allowed crop."""
    return (not intent.ratios and intent.size is None and intent.subject is None and intent.text is None
            and intent.query_image is None and intent.max_scale >= 1.0)


def whole_image_score(ctx: CropContext, candidates: Candidates,
                      score: Callable[[Candidates], np.ndarray]) -> float:
    """The whole image's score as the candidates were scored: a candidate's own score when the whole image is
    one of them (not a consensus box, whose score is its rank), else `score` of the one-row Candidates."""
    whole = np.array([0.0, 0.0, float(ctx.width), float(ctx.height)])
    if candidates.scores is not None and len(candidates):
        same = np.flatnonzero(np.all(np.abs(candidates.xyxy - whole) < 0.5, axis=1)
                              & (np.asarray(candidates.source) != "consensus"))
        if len(same):
            return float(candidates.scores[same[0]])
    return float(np.asarray(score(Candidates.from_xyxy(whole[None], source="whole")))[0])


def decide(ctx: CropContext, candidates: Candidates, best_box, best_score: float,
           score: Callable[[Candidates], np.ndarray], margin: float | None = None) -> Verdict | None:
    """The verdict for this call's best crop (None unless the intent is free-form). `score` rates candidates
    as the pipeline does (returns their scores); margin None: `ctx.options.keep_margin`."""
    if not is_free_form(ctx.intent):
        return None
    margin = ctx.options.keep_margin if margin is None else float(margin)
    whole = np.array([0.0, 0.0, float(ctx.width), float(ctx.height)])
    if hasattr(best_box, "x1"):
        best_box = (best_box.x1, best_box.y1, best_box.x2, best_box.y2)
    best_iou = float(pairwise_iou(np.asarray(best_box, dtype=np.float64), whole)[0, 0])
    whole_score = whole_image_score(ctx, candidates, score)
    gap = float(best_score) - whole_score
    if best_iou >= KEEP_IOU:
        return Verdict("keep", f"the best crop is nearly the whole image (IoU {best_iou:.2f} with it): "
                       "no crop needed", whole_score, float(best_score), best_iou)
    if gap <= margin + SCORE_TOLERANCE:
        how = "as well as the best crop" if gap < 0.005 else f"within {margin:g} of the best crop ({gap:.2f} lower)"
        return Verdict("keep", f"the whole image scores {how}: already well composed", whole_score,
                       float(best_score), best_iou)
    return Verdict("crop", f"the best crop scores {gap:.2f} above the whole image (more than {margin:g})",
                   whole_score, float(best_score), best_iou)


__all__ = ["KEEP_IOU", "SCORE_TOLERANCE", "Verdict", "decide", "is_free_form", "whole_image_score"]
