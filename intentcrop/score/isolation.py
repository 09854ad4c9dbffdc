"""What else a crop holds besides the grounded region (SCORERS "isolation").

A user who asks for "the red circle" or draws a box around one dog wants that thing to be the picture,
not that thing plus the red square beside it. Framing alone (`framing`) sets how much room the region
gets but not where that room goes; this term sends it towards empty background. Two kinds of "else":

* 'foreign': eye-catching content (saliency squared, from `features.image_maps`) inside the crop but
  outside the region grown by `region_pad`, as a share of the region's own -- generic, needs no model;
* 'lookalikes': the matches the grounder found and rejected (`Grounding.rejected`, e.g. the other
  circles), each counted by the share of its box inside the crop and its score relative to the best match.

'total' = -(foreign + lookalike_weight * lookalikes); without a grounded region every term is 0.
"""

from __future__ import annotations

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import as_xyxy_array, containment
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.registry import SCORERS
from intentcrop.score.features import box_sums, image_maps, map_pixels

_EPS = 1e-9


@SCORERS.register("isolation")
class IsolationScorer:
    name = "isolation"

    def __init__(self, region_pad: float = defaults.ISOLATION_REGION_PAD,
                 lookalike_weight: float = defaults.ISOLATION_LOOKALIKE_WEIGHT) -> None:
        if region_pad < 0:
            raise ValueError(f"region_pad must be >= 0, got {region_pad}")
        self.region_pad = region_pad
        self.lookalike_weight = lookalike_weight

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        n = len(candidates)
        grounding = ctx.grounding
        region = grounding.region if grounding is not None else None
        if region is None:
            zeros = np.zeros(n)
            return {"foreign": zeros, "lookalikes": zeros.copy(), "total": zeros.copy()}
        foreign = self.foreign_content(ctx, candidates.xyxy, region.expand(self.region_pad).clip(ctx.width, ctx.height))
        lookalikes = np.zeros(n)
        if grounding.rejected:
            best = max(grounding.scores) if grounding.scores else 1.0
            weights = np.clip(np.asarray(grounding.rejected_scores, dtype=np.float64) / max(best, _EPS), 0.0, 1.0)
            inside = containment(as_xyxy_array(grounding.rejected), candidates.xyxy)  # (R, N)
            lookalikes = weights @ inside
        return {"foreign": foreign, "lookalikes": lookalikes,
                "total": -(foreign + self.lookalike_weight * lookalikes)}

    @staticmethod
    def foreign_content(ctx: CropContext, xyxy: np.ndarray, region) -> np.ndarray:
        """(N,) salient mass inside each crop but outside `region`, over the salient mass of the region."""
        maps = image_maps(ctx)
        cx1, cy1, cx2, cy2 = map_pixels(maps, xyxy)
        rx1, ry1, rx2, ry2 = map_pixels(maps, region.to_array())
        in_crop = box_sums(maps.peak, cx1, cy1, cx2, cy2)
        both = box_sums(maps.peak, np.maximum(cx1, rx1), np.maximum(cy1, ry1), np.minimum(cx2, rx2),
                        np.minimum(cy2, ry2))
        own = float(box_sums(maps.peak, rx1, ry1, rx2, ry2)[0])
        return np.clip(in_crop - both, 0.0, None) / (own + _EPS)

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        reasons = []
        looks = all_terms.get("lookalikes")
        if looks is not None and looks.max() > 0 and winner.get("lookalikes", 0.0) <= looks.min() + 1e-9:
            reasons.append("leaves out the look-alikes of what was asked for")
        foreign = all_terms.get("foreign")
        if foreign is not None and foreign.max() > 0 and winner.get("foreign", 0.0) <= np.quantile(foreign, 0.25):
            reasons.append("keeps other eye-catching things out of the frame")
        return reasons


__all__ = ["IsolationScorer"]
