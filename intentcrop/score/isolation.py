"""What else a crop holds besides the grounded region (SCORERS "isolation").

A user who asks for "the red circle" or draws a box around one dog wants that thing to be the picture,
not that thing plus the red square beside it. Framing alone (`framing`) sets how much room the region
gets but not where that room goes; this term sends it towards empty background. Two kinds of "else":

* 'foreign': eye-catching content (saliency squared, from `features.image_maps`) inside the crop but
  outside the region grown by `region_pad`, as a share of the region's own -- generic, needs no model;
* 'lookalikes': the matches the grounder found and rejected (`Grounding.rejected`, e.g. the other
  circles), each counted by the share of its box inside the crop and its score relative to the best match;
* 'cuts': how hard the crop's borders slice through eye-catching content -- the most salient band across a
  side that is not the image border, against the image's mean. A border through the target means its model
  box came up short (the crop should reach past it); one through a neighbour leaves half an object at the
  edge, which reads as a mistake. Either way a border through background is better.

'total' = -(foreign + lookalike_weight * lookalikes + cut_weight * cuts); without a grounded region every
term is 0.
"""

from __future__ import annotations

import numpy as np

from intentcrop.core.box import as_xyxy_array, containment
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.registry import SCORERS
from intentcrop.score.features import border_bands, box_sums, image_maps, map_pixels, ones_table

_EPS = 1e-9


@SCORERS.register("isolation")
class IsolationScorer:
    name = "isolation"

    def __init__(self, region_pad: float | None = None, lookalike_weight: float | None = None,
                 cut_weight: float | None = None) -> None:
        """Each argument left None is the call's option isolation_<name> (ctx.options)."""
        if region_pad is not None and region_pad < 0:
            raise ValueError(f"region_pad must be >= 0, got {region_pad}")
        if cut_weight is not None and cut_weight < 0:
            raise ValueError(f"cut_weight must be >= 0, got {cut_weight}")
        self.cut_weight = cut_weight
        self.region_pad = region_pad
        self.lookalike_weight = lookalike_weight

    def _option(self, ctx: CropContext, name: str) -> float:
        own = getattr(self, name)
        return getattr(ctx.options, f"isolation_{name}") if own is None else own

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        n = len(candidates)
        grounding = ctx.grounding
        region = grounding.region if grounding is not None else None
        if region is None:
            zeros = np.zeros(n)
            return {"foreign": zeros, "lookalikes": zeros.copy(), "cuts": zeros.copy(), "total": zeros.copy()}
        cut_weight, lookalike_weight = self._option(ctx, "cut_weight"), self._option(ctx, "lookalike_weight")
        region_pad = self._option(ctx, "region_pad")
        foreign = self.foreign_content(ctx, candidates.xyxy, region.expand(region_pad).clip(ctx.width, ctx.height))
        lookalikes = np.zeros(n)
        if grounding.rejected:
            best = max(grounding.scores) if grounding.scores else 1.0
            weights = np.clip(np.asarray(grounding.rejected_scores, dtype=np.float64) / max(best, _EPS), 0.0, 1.0)
            inside = containment(as_xyxy_array(grounding.rejected), candidates.xyxy)  # (R, N)
            lookalikes = weights @ inside
        # off (exact subject boxes): not measured, so the explanation never credits a term that did not count
        cuts = self.border_cuts(ctx, candidates.xyxy) if cut_weight > 0 else np.zeros(n)
        return {"foreign": foreign, "lookalikes": lookalikes, "cuts": cuts,
                "total": -(foreign + lookalike_weight * lookalikes + cut_weight * cuts)}

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

    @staticmethod
    def border_cuts(ctx: CropContext, xyxy: np.ndarray) -> np.ndarray:
        """(N,) the most salient side band of each crop (mean of saliency squared over the image's mean); 0 for a
        crop whose sides all lie on the image border."""
        maps = image_maps(ctx)
        h, w = maps.shape
        image_mean = float(maps.peak[-1, -1]) / (h * w) + _EPS
        sides, at_image_edge = border_bands(maps, *map_pixels(maps, xyxy))
        ones = ones_table(h, w)
        worst = np.zeros(len(xyxy))
        for band, on_edge in zip(sides, at_image_edge):
            mean = box_sums(maps.peak, *band) / np.maximum(box_sums(ones, *band), 1.0)
            worst = np.maximum(worst, np.where(on_edge, 0.0, mean / image_mean))
        return worst

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        reasons = []
        looks = all_terms.get("lookalikes")
        if looks is not None and looks.max() > 0 and winner.get("lookalikes", 0.0) <= looks.min() + 1e-9:
            reasons.append("leaves out the look-alikes of what was asked for")
        foreign = all_terms.get("foreign")
        if foreign is not None and foreign.max() > 0 and winner.get("foreign", 0.0) <= np.quantile(foreign, 0.25):
            reasons.append("keeps other eye-catching things out of the frame")
        cuts = all_terms.get("cuts")
        if cuts is not None and cuts.max() > 0 and winner.get("cuts", 0.0) <= np.quantile(cuts, 0.25):
            reasons.append("its borders run through background, not through things")
        return reasons


__all__ = ["IsolationScorer"]
