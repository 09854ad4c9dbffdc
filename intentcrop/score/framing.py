"""How a crop frames the grounded region (SCORERS "framing").

CLIP similarity alone favours the tightest crop around what was asked for; this term balances it by
preferring crops where the grounded region fills between `min_fill` and `max_fill` of the crop (None: the call's
`ctx.options.frame_min_fill` / `frame_max_fill`), so the
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
from intentcrop.defaults import Defaults
from intentcrop.registry import SCORERS


@SCORERS.register("framing")
class FramingScorer:
    name = "framing"

    def __init__(self, min_fill: float | None = None, max_fill: float | None = None) -> None:
        self.min_fill, self.max_fill = min_fill, max_fill
        if min_fill is not None or max_fill is not None:
            self.fill_range(defaults.DEFAULTS)  # a bad explicit range fails here, not at the first crop

    def fill_range(self, options: Defaults) -> tuple[float, float]:
        """(min_fill, max_fill): this scorer's own, else the call's options."""
        min_fill = options.frame_min_fill if self.min_fill is None else self.min_fill
        max_fill = options.frame_max_fill if self.max_fill is None else self.max_fill
        if not 0 < min_fill <= max_fill <= 1:
            raise ValueError(f"need 0 < min_fill <= max_fill <= 1, got min_fill={min_fill}, max_fill={max_fill}")
        return min_fill, max_fill

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
        min_fill, max_fill = self.fill_range(ctx.options)
        total = -np.maximum(0.0, np.maximum(np.log(min_fill) - log_fill, log_fill - np.log(max_fill)))
        return {"area": area, "fill": fill, "total": total}

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray],
                options: Defaults | None = None) -> list[str]:
        fill = winner.get("fill", 0.0)
        if fill <= 0:
            return []
        min_fill, max_fill = self.fill_range(defaults.DEFAULTS if options is None else options)
        if fill > 1.25 * max_fill:
            return ["frames the subject tightly"]
        if fill < min_fill / 1.25:
            return ["leaves generous room around the subject"]
        return ["leaves a balanced margin around the subject"]


__all__ = ["FramingScorer"]
