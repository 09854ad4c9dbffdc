"""How a crop frames the grounded region (SCORERS "framing"): the 'area' term of the vlm pipeline.

CLIP similarity alone favours the tightest crop around what was asked for; this term balances it by
preferring crops where the grounded region fills between `min_fill` and `max_fill` of the crop, so the
margin around the subject is chosen by scoring rather than a fixed pad. Inside that range every margin is
as good, so the other scorers (isolation above all) decide how much room to leave and on which side.
Without a grounded region it prefers larger crops (the share of the image kept).

Terms: 'area' (crop area / image area), 'fill' (region area / crop area, NaN-free: 0 without a region)
and 'total' (with a region: minus how far fill lies outside [min_fill, max_fill] in log units, else area).
"""

from __future__ import annotations

import numpy as np

from intentcrop import defaults
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.registry import SCORERS


@SCORERS.register("framing")
class FramingScorer:
    name = "framing"

    def __init__(self, min_fill: float = defaults.FRAME_MIN_FILL, max_fill: float = defaults.FRAME_MAX_FILL) -> None:
        if not 0 < min_fill <= max_fill <= 1:
            raise ValueError(f"need 0 < min_fill <= max_fill <= 1, got min_fill={min_fill}, max_fill={max_fill}")
        self.min_fill, self.max_fill = min_fill, max_fill

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        crop_area = np.clip(candidates.area, 1e-9, None)
        area = crop_area / float(ctx.width * ctx.height)
        region = ctx.grounding.region if ctx.grounding is not None else None
        if region is None:
            return {"area": area, "fill": np.zeros(len(candidates)), "total": area}
        region = region.clip(ctx.width, ctx.height)
        # only the part of the region inside the crop counts: a crop that cuts the subject fills less of it
        inter = np.clip(np.minimum(candidates.xyxy[:, 2:], region.to_array()[2:])
                        - np.maximum(candidates.xyxy[:, :2], region.to_array()[:2]), 0, None).prod(axis=1)
        fill = inter / crop_area
        log_fill = np.log(np.clip(fill, 1e-6, None))
        total = -np.maximum(0.0, np.maximum(np.log(self.min_fill) - log_fill, log_fill - np.log(self.max_fill)))
        return {"area": area, "fill": fill, "total": total}

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        fill = winner.get("fill", 0.0)
        if fill <= 0:
            return []
        if fill > 1.25 * self.max_fill:
            return ["frames the subject tightly"]
        if fill < self.min_fill / 1.25:
            return ["leaves generous room around the subject"]
        return ["leaves a balanced margin around the subject"]


__all__ = ["FramingScorer"]
