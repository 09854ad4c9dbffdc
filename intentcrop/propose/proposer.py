"""The proposer (PROPOSERS "grid"): GAIC grid anchors for free-form intents, a grid of exact-ratio windows
(sizes x positions) for each asked ratio, restricted to windows that hold the grounded region when there is one
(a model-grounded region grown by `safety_margin` first -- by default its grounding source's,
`ctx.options.text_safety_margin` / `query_image_safety_margin` / `grounded_safety_margin` -- or as it is where
the grown one cannot fit an asked ratio). Grid sizes come from `ctx.options` unless given to the constructor."""

from __future__ import annotations

import functools
from typing import Protocol

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.defaults import Defaults
from intentcrop.errors import InvalidIntentError
from intentcrop.propose.geometry import contains_mask, dedupe, grid_anchors, ratio_windows, subject_windows
from intentcrop.registry import PROPOSERS


class Proposer(Protocol):
    def propose(self, ctx: CropContext) -> Candidates: ...


@PROPOSERS.register("grid")
class GridProposer:
    def __init__(
        self,
        grid_bins: int | None = None,
        grid_max_offset_bins: int | None = None,
        grid_min_area: float | None = None,
        ratio_scales: int | None = None,
        ratio_positions: int | None = None,
        safety_margin: float | None = None,
    ) -> None:
        """Each argument left None is read from the call's `ctx.options` (same names)."""
        self.safety_margin = safety_margin
        self.grid_bins = grid_bins
        self.grid_max_offset_bins = grid_max_offset_bins
        self.grid_min_area = grid_min_area
        self.ratio_scales = ratio_scales
        self.ratio_positions = ratio_positions

    def margin_for(self, source: str, options: Defaults | None = None) -> float:
        """The safety margin for a model's box from `source`: the one given, else the source's option."""
        if self.safety_margin is not None:
            return self.safety_margin
        options = defaults.DEFAULTS if options is None else options
        per_source = {"text": options.text_safety_margin, "query_image": options.query_image_safety_margin}
        return per_source.get(source, options.grounded_safety_margin)

    def _option(self, options: Defaults, name: str):
        """This proposer's own setting `name`, else the call's option of that name."""
        own = getattr(self, name)
        return getattr(options, name) if own is None else own

    def propose(self, ctx: CropContext) -> Candidates:
        width, height, intent = ctx.width, ctx.height, ctx.intent
        region = ctx.grounding.region if ctx.grounding is not None else None
        strict = ctx.grounding.strict if ctx.grounding is not None else True
        grown = None  # a model's box grown by the safety margin: room for its localisation error
        if region is not None:
            region = region.clip(width, height)
            if not strict:
                grown = region.expand(self.margin_for(ctx.grounding.source, ctx.options)).clip(width, height)
        ratios = intent.resolve_ratios(width, height)
        parts: list[Candidates] = []
        if ratios:
            for ratio in ratios:
                windows = functools.partial(ratio_windows, width, height, ratio, min_scale=ctx.min_scale,
                                            max_scale=intent.max_scale, scales=self._option(ctx.options, "ratio_scales"),
                                            positions=self._option(ctx.options, "ratio_positions"))
                if grown is None:
                    boxes = windows(must_contain=region, strict=strict)
                else:
                    try:
                        boxes = windows(must_contain=grown, strict=True)
                    except InvalidIntentError:  # the margin does not fit this ratio: hold the box itself,
                        boxes = windows(must_contain=region, strict=False)  # or as much of it as fits
                parts.append(Candidates.from_xyxy(dedupe(boxes, width, height), source="ratio", ratio=ratio))
        else:
            parts.append(Candidates.from_xyxy(self.free_form(width, height, intent, ctx.min_scale, region if grown is None else grown, ctx.options), source="grid"))
        return Candidates.merge(parts)

    def free_form(self, width: int, height: int, intent, min_scale: float, region: Box | None,
                  options: Defaults | None = None) -> np.ndarray:
        options = defaults.DEFAULTS if options is None else options
        anchors = grid_anchors(
            width, height, bins=self._option(options, "grid_bins"),
            max_offset_bins=self._option(options, "grid_max_offset_bins"),
            min_area=min(self._option(options, "grid_min_area"), min_scale ** 2),
            max_aspect_change=options.grid_max_aspect_change,
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
