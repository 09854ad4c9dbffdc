"""The proposer (PROPOSERS "grid"): GAIC grid anchors for free-form intents, a grid of exact-ratio windows
(sizes x positions) for each asked ratio, restricted to windows that hold the grounded region when there is one
(a model-grounded region grown by `safety_margin` first -- by default its grounding source's,
`ctx.options.text_safety_margin` / `query_image_safety_margin` / `grounded_safety_margin` -- or as it is where
the grown one cannot fit an asked ratio). Grid sizes come from `ctx.options` unless given to the constructor.

The crop floor: no candidate has a side shorter than `ctx.options.min_crop_side` px (capped by the image side, or
by the largest window of an asked ratio) -- whatever a model's box or a small `max_scale` says, so no sliver and no
zero-area crop is ever proposed -- nor than `ctx.min_scale` (of the image's side for free-form grid anchors, of the
largest window for an asked ratio; free-form windows around a grounded region are sized by the region, as
before). Where the floor is above `max_scale`, the floor wins (crops at the floor, as a
region larger than max_scale wins too). A grounded region smaller than the floor is grown about its centre (kept
inside the image) to the floor first, so the windows around it are crops about it rather than slivers of it.

Heads (intentcrop.propose.heads): with option head_constraint, each asked ratio also gets windows holding the
detected heads (all together, and the largest alone), so the pipeline's head filter has crops to keep."""

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
from intentcrop.propose.geometry import (at_least, contains_mask, dedupe, floor_size, grid_anchors, grow_to,
                                        ratio_windows, subject_windows)
from intentcrop.registry import PROPOSERS


class Proposer(Protocol):
    def propose(self, ctx: CropContext) -> Candidates: ...


def safety_margin(source: str, options: Defaults | None = None) -> float:
    """How much a model's box from `source` is grown before crops must hold it (room for its localisation
    error): options.text_safety_margin / query_image_safety_margin, else grounded_safety_margin."""
    options = defaults.DEFAULTS if options is None else options
    per_source = {"text": options.text_safety_margin, "query_image": options.query_image_safety_margin}
    return per_source.get(source, options.grounded_safety_margin)


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
        return safety_margin(source, options) if self.safety_margin is None else self.safety_margin

    def _option(self, options: Defaults, name: str):
        """This proposer's own setting `name`, else the call's option of that name."""
        own = getattr(self, name)
        return getattr(options, name) if own is None else own

    def propose(self, ctx: CropContext) -> Candidates:
        width, height, intent = ctx.width, ctx.height, ctx.intent
        min_side = ctx.options.min_crop_side
        region = ctx.grounding.region if ctx.grounding is not None else None
        strict = ctx.grounding.strict if ctx.grounding is not None else True
        margin = None if strict else self.margin_for(ctx.grounding.source, ctx.options)
        if region is not None:
            region = region.clip(width, height)
        ratios = intent.resolve_ratios(width, height)
        parts: list[Candidates] = []
        if ratios:
            for ratio in ratios:
                held, grown = self._held(region, width, height, ctx.options, margin, ratio)
                windows = functools.partial(ratio_windows, width, height, ratio, min_scale=ctx.min_scale,
                                            max_scale=intent.max_scale, scales=self._option(ctx.options, "ratio_scales"),
                                            positions=self._option(ctx.options, "ratio_positions"), min_side=min_side)
                if grown is None:
                    boxes = windows(must_contain=held, strict=strict)
                else:
                    try:
                        boxes = windows(must_contain=grown, strict=True)
                    except InvalidIntentError:  # the margin does not fit this ratio: hold the box itself,
                        boxes = windows(must_contain=held, strict=False)  # or as much of it as fits
                if ctx.options.head_constraint:  # windows around the heads: a ratio whose grid cuts them all
                    boxes = np.concatenate([boxes, *self._around_heads(ctx, held, windows)])
                parts.append(Candidates.from_xyxy(dedupe(boxes, width, height), source="ratio", ratio=ratio))
        else:
            held, grown = self._held(region, width, height, ctx.options, margin, None)
            parts.append(Candidates.from_xyxy(self.free_form(width, height, intent, ctx.min_scale,
                                                             held if grown is None else grown, ctx.options),
                                              source="grid"))
        return Candidates.merge(parts)

    @staticmethod
    def _around_heads(ctx: CropContext, held: Box | None, windows) -> list[np.ndarray]:
        """Exact-ratio windows holding the heads (intentcrop.propose.heads.heads_to_hold) and the held region,
        for each such box that fits the ratio."""
        from intentcrop.propose.heads import heads_to_hold

        out = []
        for box in heads_to_hold(ctx):
            if held is not None:
                box = Box(min(box.x1, held.x1), min(box.y1, held.y1), max(box.x2, held.x2), max(box.y2, held.y2))
            try:
                out.append(windows(must_contain=box, strict=True))
            except InvalidIntentError:  # the heads do not fit this ratio together: the grid's windows stay
                continue
        return out

    @staticmethod
    def _held(region: Box | None, width: int, height: int, options: Defaults, margin: float | None,
              ratio: float | None) -> tuple[Box | None, Box | None]:
        """What the crops must hold: the region grown (about its centre, inside the image) to the floor of this
        ratio and, free-form, to an aspect within options.min_ratio..max_ratio (a 434x1 box becomes 434x43, not
        a strip); and (`margin` not None: a model's box) that grown by the safety margin, room for its
        localisation error, else None."""
        if region is None:
            return None, None
        need_w, need_h = floor_size(width, height, options.min_crop_side, ratio=ratio)
        if ratio is None:
            need_w, need_h = max(need_w, region.height * options.min_ratio), max(need_h, region.width / options.max_ratio)
        region = grow_to(region, width, height, need_w, need_h)
        grown = None if margin is None else region.expand(margin).clip(width, height)
        return region, grown

    def free_form(self, width: int, height: int, intent, min_scale: float, region: Box | None,
                  options: Defaults | None = None) -> np.ndarray:
        """Free-form candidates: GAIC anchors within min_scale..max_scale of each side and at least
        options.min_crop_side px (holding `region` if given), and windows around `region` of at least
        options.min_crop_side px (the region sets how small they may be, not min_scale) and no strip beyond
        options.min_ratio..max_ratio."""
        options = defaults.DEFAULTS if options is None else options
        min_w, min_h = floor_size(width, height, options.min_crop_side, min_scale)
        anchors = grid_anchors(
            width, height, bins=self._option(options, "grid_bins"),
            max_offset_bins=self._option(options, "grid_max_offset_bins"),
            min_area=min(self._option(options, "grid_min_area"), min_scale ** 2),
            max_aspect_change=options.grid_max_aspect_change,
        )
        anchors = np.concatenate([np.array([[0, 0, width, height]], dtype=np.float64), anchors])
        w, h = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
        keep = at_least(anchors, min_w, min_h)
        keep &= (w <= intent.max_scale * width + 0.5) & (h <= intent.max_scale * height + 0.5)
        anchors = anchors[keep]
        if region is not None:  # windows around the region: the region, not min_scale, sets their least size
            # (as before the floor); they are held to the pixel floor only, the region having been grown to it
            side_w, side_h = floor_size(width, height, options.min_crop_side)
            around = subject_windows(width, height, grow_to(region, width, height, side_w, side_h))
            aspect = (around[:, 2] - around[:, 0]) / np.maximum(around[:, 3] - around[:, 1], 1)
            ok = at_least(around, side_w, side_h) & (aspect >= options.min_ratio) & (aspect <= options.max_ratio)
            anchors = np.concatenate([anchors[contains_mask(anchors, region)], around[ok]])
        if len(anchors) == 0:  # max_scale so small that no anchor survives: centre windows of that size (or the floor)
            cw = max(round(width * intent.max_scale), min_w)
            ch = max(round(height * intent.max_scale), min_h)
            x1, y1 = (width - cw) // 2, (height - ch) // 2
            anchors = np.array([[x1, y1, x1 + cw, y1 + ch]], dtype=np.float64)
        return dedupe(anchors, width, height)
