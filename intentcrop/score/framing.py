"""How a crop frames the grounded region (SCORERS "framing"): the 'area' term of the vlm pipeline.

CLIP similarity alone favours the tightest crop around what was asked for; this term balances it by
preferring crops where the grounded region fills about `target_fill` of the crop, so the margin around
the subject is chosen by scoring rather than a fixed pad. Without a grounded region it prefers larger
crops (the share of the image kept).

Terms: 'area' (crop area / image area), 'fill' (region area / crop area, NaN-free: 0 without a region)
and 'total' (-|log(fill / target_fill)| with a region, else area).
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

    def __init__(self, target_fill: float = defaults.FRAME_TARGET_FILL) -> None:
        if not 0 < target_fill <= 1:
            raise ValueError(f"target_fill must be in (0, 1], got {target_fill}")
        self.target_fill = target_fill

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
        total = -np.abs(np.log(np.clip(fill, 1e-6, None) / self.target_fill))
        return {"area": area, "fill": fill, "total": total}

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        fill = winner.get("fill", 0.0)
        if fill <= 0:
            return []
        if fill > 1.6 * self.target_fill:
            return ["frames the subject tightly"]
        if fill < self.target_fill / 1.6:
            return ["leaves generous room around the subject"]
        return ["leaves a balanced margin around the subject"]


__all__ = ["FramingScorer"]
