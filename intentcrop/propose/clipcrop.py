"""ClipCrop's proposer (PROPOSERS "clipcrop"): the crop decoder's M query boxes, each with its quality.

The decoder reads the image tokens (keys/values) and the tokens its queries matched (the text, its keywords or
both: the decoder config's matched_by; added to the queries) from the grounding stage's own OWL-ViT pass
(ctx.cache, ground.owlvit.RAW_MATCHES_KEY: image tokens do not depend on the queries), or runs the grounder on
them when that pass is absent, lacks them or came from another model; b_u is the pipeline's grounded region (the
union of the kept matches), else the union of the matched tokens' boxes. Each predicted box is then made a crop:
snapped to each asked ratio about its centre at its own area (exact to the pixel), grown to hold the grounded
region with the grid proposer's safety margin for a model's box (the region alone where the margin does not fit
the ratio), moved inside the image. The decoder's quality of each box goes with it into ctx.cache for the scorer
"clipcrop" (the decoder scores what it proposes; a snapped box keeps its query's score).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.models.registry import CROP_DECODER, GROUNDING
from intentcrop.ground.owlvit import RAW_MATCHES_KEY
from intentcrop.propose.geometry import largest_ratio_window, ratio_window_size
from intentcrop.propose.proposer import safety_margin
from intentcrop.registry import PROPOSERS

QUALITY_KEY = "clipcrop_quality"  # ctx.cache: {(x0, y0, x1, y1): decoder quality}
WORLD_DECODER = Path(__file__).resolve().parents[2] / "fixtures" / "world" / "clipcrop"


def snap(box: np.ndarray, ratio: float | None, width: int, height: int, region: Box | None) -> np.ndarray:
    """A pixel box of exactly `ratio` (None: the box's own shape) about `box`'s centre at its area, holding
    `region`, inside the image."""
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if ratio is None:
        w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        if region is not None:
            w, h = max(w, region.width), max(h, region.height)
        w, h = min(w, width), min(h, height)
    else:
        area = max((x1 - x0) * (y1 - y0), 1.0)
        short = math.sqrt(area / ratio) if ratio >= 1 else math.sqrt(area * ratio)
        if region is not None:  # the least window of this ratio that holds the region
            need = max(region.height, region.width / ratio) if ratio >= 1 else max(region.width,
                                                                                    region.height * ratio)
            short = max(short, need)
        max_w, max_h = largest_ratio_window(width, height, ratio)
        short = min(math.ceil(short), max_h if ratio >= 1 else max_w)
        w, h = ratio_window_size(ratio, max(int(short), 1), "h" if ratio >= 1 else "w")
    left, top = cx - w / 2, cy - h / 2
    if region is not None:  # shift (never resize) so the region is inside
        left = min(max(left, region.x2 - w), region.x1)
        top = min(max(top, region.y2 - h), region.y1)
    left, top = min(max(left, 0.0), width - w), min(max(top, 0.0), height - h)
    if ratio is not None:  # integer corners keep the ratio exact
        left, top = float(round(left)), float(round(top))
        left, top = min(max(left, 0.0), width - w), min(max(top, 0.0), height - h)
    return np.array([left, top, left + w, top + h], dtype=np.float64)


def _fits(region: Box | None, ratio: float, width: int, height: int) -> bool:
    """Whether a window of `ratio` inside the image can hold `region`."""
    if region is None:
        return True
    max_w, max_h = largest_ratio_window(width, height, ratio)
    return region.width <= max_w and region.height <= max_h


@PROPOSERS.register("clipcrop")
class ClipCropProposer:
    """grounder: the OWL-ViT whose tokens the decoder reads (the pipeline's grounding model); decoder: a folder
    saved by `intentcrop train clipcrop` (None: the world checkpoint fixtures/world/clipcrop)."""

    model_arguments = {"grounder": GROUNDING, "decoder": CROP_DECODER}

    def __init__(self, grounder: Any = None, decoder: Any = None, device: str | None = None,
                 dtype: Any = None, use_text: bool = True) -> None:
        from intentcrop.models.owlvit import OwlVit

        self.owl = OwlVit(grounder, device, dtype)
        self.decoder_path, self.device, self.dtype = decoder, device, dtype
        self.use_text = use_text
        self._decoder = None

    @property
    def decoder(self) -> Any:
        if self._decoder is None:
            from intentcrop.models.clipcrop import ClipCropDecoder

            spec = self.decoder_path
            folder = WORLD_DECODER if spec is None else Path(getattr(spec, "source", spec))
            self._decoder = ClipCropDecoder.from_pretrained(folder, self.device, self.dtype)
        return self._decoder

    def predict(self, ctx: CropContext) -> tuple[np.ndarray, np.ndarray]:
        """The decoder's boxes (M, 4) in pixels and qualities (M,)."""
        import torch

        from intentcrop.train.clipcrop_world import grounder_inputs

        text = ctx.intent.text or ""
        shared = ctx.cache.get(RAW_MATCHES_KEY) or {}  # the grounder's own pass, when it ran this model
        same_model = "matches" in shared and shared.get("model") == self.owl.model_spec
        inputs = grounder_inputs(self.owl, ctx.image, text, shared["matches"] if same_model else None,
                                 matched_by=self.decoder.config.matched_by)
        region = ctx.grounding.region if ctx.grounding is not None else None
        union = inputs["union"]
        if region is not None:
            w, h = ctx.width, ctx.height
            union = np.array([(region.x1 + region.x2) / 2 / w, (region.y1 + region.y2) / 2 / h,
                              region.width / w, region.height / h], dtype=np.float32)
        module = self.decoder.module
        param = next(module.parameters())
        t = lambda a: torch.as_tensor(a).unsqueeze(0).to(param.device, param.dtype)  # noqa: E731
        use_text = self.use_text and bool(text)
        boxes, quality = self.decoder.predict(t(inputs["tokens"]), t(inputs["positions"]),
                                              t(inputs["matched"]) if use_text else None,
                                              t(union) if use_text else None)
        scale = np.array([ctx.width, ctx.height, ctx.width, ctx.height])
        return boxes[0].float().cpu().numpy() * scale, quality[0].float().cpu().numpy()

    def propose(self, ctx: CropContext) -> Candidates:
        boxes, quality = self.predict(ctx)
        grounding = ctx.grounding
        region = grounding.region.clip(ctx.width, ctx.height) if grounding is not None and \
            grounding.region is not None else None
        # a model's box is held with the same room for its localisation error as the grid proposer leaves
        grown = region.expand(safety_margin(grounding.source, ctx.options)).clip(ctx.width, ctx.height) \
            if region is not None and not grounding.strict else region
        ratios = ctx.intent.resolve_ratios(ctx.width, ctx.height) or [None]
        rows, qs, rs = [], [], []
        for ratio in ratios:
            held = grown if ratio is None or _fits(grown, ratio, ctx.width, ctx.height) else region
            for box, q in zip(boxes, quality):
                rows.append(snap(box, ratio, ctx.width, ctx.height, held))
                qs.append(float(q))
                rs.append(np.nan if ratio is None else ratio)
        table = ctx.cached(QUALITY_KEY, dict)
        ratio_of: dict[tuple[float, ...], float] = {}
        for row, q, r in zip(rows, qs, rs):  # duplicates after snapping keep one box with its best query's score
            key = tuple(float(v) for v in row)
            table[key] = max(q, table.get(key, -1.0))
            ratio_of.setdefault(key, r)
        xyxy = np.array(list(ratio_of), dtype=np.float64).reshape(-1, 4)
        rs = list(ratio_of.values())
        return Candidates(xyxy, source=np.full(len(xyxy), "clipcrop", dtype=object), ratio=np.array(rs))


__all__ = ["ClipCropProposer", "QUALITY_KEY", "snap"]
