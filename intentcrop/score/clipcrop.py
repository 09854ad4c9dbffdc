"""ClipCrop's scorer (SCORERS "clipcrop"): the crop decoder's quality of each box it proposed.

The proposer "clipcrop" leaves {box: quality} in ctx.cache; a candidate it did not propose (another proposer's,
or a box changed after proposing) scores the lowest quality given, so it is never preferred."""

from __future__ import annotations

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.propose.clipcrop import QUALITY_KEY
from intentcrop.registry import SCORERS


@SCORERS.register("clipcrop")
class ClipCropScorer:
    name = "clipcrop"

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        table = ctx.cache.get(QUALITY_KEY, {})
        floor = min(table.values()) if table else 0.0
        quality = np.array([table.get(tuple(float(v) for v in row), floor) for row in candidates.xyxy])
        return {"decoder_quality": quality, "total": quality}

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        return ["the crop decoder scored it highest"]
