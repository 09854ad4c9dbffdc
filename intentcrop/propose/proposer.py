"""The default proposer: grid anchors for free-form intents, exact-ratio windows for each asked ratio,
restricted to windows that hold the grounded region when there is one (a model-grounded region grown by
`safety_margin` first -- by default its grounding source's, `defaults.GROUNDED_SAFETY_MARGINS` -- or as it is
where the grown one cannot fit an asked ratio)."""

from __future__ import annotations

import functools
from typing import Protocol

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.errors import InvalidIntentError
from intentcrop.propose.geometry import contains_mask, dedupe, grid_anchors, ratio_windows, subject_windows
from intentcrop.registry import PROPOSERS


class Proposer(Protocol):
    def propose(self, ctx: CropContext) -> Candidates: ...


@PROPOSERS.register("default")
class DefaultProposer:
    def __init__(
        self,
        grid_bins: int = defaults.GRID_BINS,
        grid_max_offset_bins: int = defaults.GRID_MAX_OFFSET_BINS,
        grid_min_area: float = defaults.GRID_MIN_AREA,
        ratio_scales: int = defaults.RATIO_SCALES,
        ratio_positions: int = defaults.RATIO_POSITIONS,
        safety_margin: float | None = None,
    ) -> None:
        self.safety_margin = safety_margin
        self.grid_bins = grid_bins
        self.grid_max_offset_bins = grid_max_offset_bins
        self.grid_min_area = grid_min_area
        self.ratio_scales = ratio_scales
        self.ratio_positions = ratio_positions

    def margin_for(self, source: str) -> float:
        """The safety margin for a model's box from `source`: the one given, else the source's default."""
        if self.safety_margin is not None:
            return self.safety_margin
        return defaults.GROUNDED_SAFETY_MARGINS.get(source, defaults.GROUNDED_SAFETY_MARGIN)

    def propose(self, ctx: CropContext) -> Candidates:
        width, height, intent = ctx.width, ctx.height, ctx.intent
        region = ctx.grounding.region if ctx.grounding is not None else None
        strict = ctx.grounding.strict if ctx.grounding is not None else True
        grown = None  # a model's box grown by the safety margin: room for its localisation error
        if region is not None:
            region = region.clip(width, height)
            if not strict:
                grown = region.expand(self.margin_for(ctx.grounding.source)).clip(width, height)
        ratios = intent.resolve_ratios(width, height)
        parts: list[Candidates] = []
        if ratios:
            for ratio in ratios:
                windows = functools.partial(ratio_windows, width, height, ratio, min_scale=ctx.min_scale,
                                            max_scale=intent.max_scale, scales=self.ratio_scales,
                                            positions=self.ratio_positions)
                if grown is None:
                    boxes = windows(must_contain=region, strict=strict)
                else:
                    try:
                        boxes = windows(must_contain=grown, strict=True)
                    except InvalidIntentError:  # the margin does not fit this ratio: hold the box itself,
                        boxes = windows(must_contain=region, strict=False)  # or as much of it as fits
                parts.append(Candidates.from_xyxy(dedupe(boxes, width, height), source="ratio", ratio=ratio))
        else:
            parts.append(Candidates.from_xyxy(self.free_form(width, height, intent, ctx.min_scale, region if grown is None else grown), source="grid"))
        return Candidates.merge(parts)

    def free_form(self, width: int, height: int, intent, min_scale: float, region: Box | None) -> np.ndarray:
        anchors = grid_anchors(
            width, height, bins=self.grid_bins, max_offset_bins=self.grid_max_offset_bins,
            min_area=min(self.grid_min_area, min_scale ** 2),
        )
        anchors = np.concatenate([np.array([[0, 0, width, height]], dtype=np.float64), anchors])
        w, h = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
        keep = (w >= min_scale * width - 0.5) & (h >= min_scale * height - 0.5)
        keep &= (w <= intent.max_scale * width + 0.5) & (h <= intent.max_scale * height + 0.5)
        anchors = anchors[keep]
        if region is not None:
            around = subject_windows(width, height, region)
            anchors = np.concatenate([anchors[contains_mask(anchors, region)], around])
        if len(anchors) == 0:  # max_scale so small that no anchor survives: centre windows of that size
            cw, ch = round(width * intent.max_scale), round(height * intent.max_scale)
            x1, y1 = (width - cw) // 2, (height - ch) // 2
            anchors = np.array([[x1, y1, x1 + cw, y1 + ch]], dtype=np.float64)
        return dedupe(anchors, width, height)
