"""Local refinement: nudge the best candidates' edges and keep what the scorers like better.

The proposal grid is coarse (GAIC bins are 1/12 of a side); a few rounds of moves that halve
in size each round find the optimum between grid points. Moves keep every constraint the
proposer honoured: inside the image, the asked ratio exact to the pixel, the grounded region
inside, and the intent's min/max scale. No model proposes here: the moves are geometric, judged by whatever
scorers the pipeline has. (Cropper's iterative refinement, where a VLM proposes each round's crops from the
scored ones, is the searcher "cropper_refine" in intentcrop.search.cropper.)
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.propose.geometry import contains_mask, dedupe, ratio_window_size
from intentcrop.registry import SEARCHERS


@SEARCHERS.register("local")
class LocalSearch:
    def __init__(self, top: int | None = None, rounds: int | None = None, first_step: float | None = None) -> None:
        # None: the call's ctx.options.local_top / local_rounds / local_first_step
        self.top = top  # refine this many of the best candidates per ratio group
        self.rounds = rounds
        self.first_step = first_step  # first move, as a share of the image side; halves each round

    def search(self, ctx: CropContext, candidates: Candidates, score: Callable[[Candidates], Candidates]) -> Candidates:
        options = ctx.options
        top = options.local_top if self.top is None else self.top
        rounds = options.local_rounds if self.rounds is None else self.rounds
        step = options.local_first_step if self.first_step is None else self.first_step
        pool = candidates
        for _ in range(rounds):
            seeds = self._seeds(pool, top)
            moved = Candidates.merge([self._moves(ctx, seeds[i : i + 1], step) for i in range(len(seeds))])
            if len(moved) == 0:
                break
            moved = score(moved)
            pool = Candidates.merge([pool, moved])
            step /= 2
        return pool

    @staticmethod
    def _seeds(pool: Candidates, top: int) -> Candidates:
        keys = np.where(np.isnan(pool.ratio), -1.0, pool.ratio)
        picks = []
        for key in np.unique(keys):
            members = np.flatnonzero(keys == key)
            picks += list(members[np.argsort(-pool.scores[members])[:top]])
        return pool[np.array(picks, dtype=int)]

    def _moves(self, ctx: CropContext, seed: Candidates, step: float) -> Candidates:
        width, height = ctx.width, ctx.height
        x1, y1, x2, y2 = seed.xyxy[0]
        ratio = float(seed.ratio[0])
        dx, dy = max(1.0, round(step * width)), max(1.0, round(step * height))
        if math.isnan(ratio):
            boxes = []
            for edge, d in ((0, dx), (1, dy), (2, dx), (3, dy)):
                for sign in (-1, 1):
                    b = np.array([x1, y1, x2, y2])
                    b[edge] += sign * d
                    boxes.append(b)
            for sx, sy in ((dx, 0), (-dx, 0), (0, dy), (0, -dy)):  # shifts keep the size
                boxes.append(np.array([x1 + sx, y1 + sy, x2 + sx, y2 + sy]))
            boxes = np.array(boxes)
            intent = ctx.intent
            w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
            ok = (w >= ctx.min_scale * width - 0.5) & (h >= ctx.min_scale * height - 0.5)
            ok &= (w <= intent.max_scale * width + 0.5) & (h <= intent.max_scale * height + 0.5)
            boxes = boxes[ok]
        else:
            boxes = self._ratio_moves(x1, y1, x2, y2, ratio, dx, dy)
        boxes = boxes[(boxes[:, 0] >= 0) & (boxes[:, 1] >= 0) & (boxes[:, 2] <= width) & (boxes[:, 3] <= height)]
        region = ctx.grounding.region if ctx.grounding is not None else None
        if region is not None and len(boxes):
            boxes = boxes[contains_mask(boxes, region.clip(width, height))]
        out = Candidates.from_xyxy(dedupe(boxes, width, height, tolerance=0.001), source="local",
                                   ratio=None if math.isnan(ratio) else ratio)
        return out

    @staticmethod
    def _ratio_moves(x1, y1, x2, y2, ratio, dx, dy) -> np.ndarray:
        """Shifts, and growth/shrink about the centre that keeps the ratio exact on the integer grid."""
        w, h = x2 - x1, y2 - y1
        boxes = [[x1 + sx, y1 + sy, x2 + sx, y2 + sy] for sx, sy in ((dx, 0), (-dx, 0), (0, dy), (0, -dy))]
        base, short = ("h", h) if ratio >= 1 else ("w", w)
        d_short = max(1, round((dy if base == "h" else dx)))
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        for s in (short - d_short, short + d_short):
            if s < 1:
                continue
            nw, nh = ratio_window_size(ratio, int(s), base)
            for ax, ay in ((0.5, 0.5), (0, 0), (1, 1), (0, 1), (1, 0)):  # about the centre and the corners
                ox = round(cx - nw / 2) if ax == 0.5 else (x1 if ax == 0 else x2 - nw)
                oy = round(cy - nh / 2) if ay == 0.5 else (y1 if ay == 0 else y2 - nh)
                boxes.append([ox, oy, ox + nw, oy + nh])
        return np.array(boxes, dtype=np.float64)
