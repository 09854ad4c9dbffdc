"""Cropper's two scorers besides aesthetics (the paper scores each proposal by aesthetics, content preservation
and area; aesthetics here is the offline "quality" scorer):

* "content": how much of the whole image's content the crop keeps -- the cosine similarity of the crop's
  embedding to the whole image's (CLIP image embeddings when a CLIP is given, else the weights-free features
  embedding of intentcrop.retrieve.embed). With a text intent and a CLIP (our extension), the crop's CLIP
  similarity to the text is added, so that content means "what was asked for".
* "area": the crop's share of the image area.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.models.registry import SCORING
from intentcrop.registry import SCORERS


@SCORERS.register("content")
class ContentScorer:
    name = "content"
    model_arguments = {"model": SCORING}

    def __init__(self, model: Any = None, text_weight: float = 1.0, device: str | None = None,
                 dtype: Any = None) -> None:
        self.model = model
        self.text_weight = float(text_weight)
        self.device, self.dtype = device, dtype  # the routing gives every model-backed stage the user's device

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        from intentcrop.retrieve.embed import make_embedder

        embedder = make_embedder(self.model, device=self.device, dtype=self.dtype)
        image = ctx.image
        boxes = [tuple(int(round(v)) for v in b.clip(ctx.width, ctx.height).to_xyxy()) for b in candidates]
        crops = [image.crop((x1, y1, max(x2, x1 + 1), max(y2, y1 + 1))) for x1, y1, x2, y2 in boxes]
        whole = ctx.cached(f"content.whole.{embedder.name}", lambda: embedder.embed_images([image])[0])
        emb = embedder.embed_images(crops) if crops else np.zeros((0, len(whole)))
        similarity = emb @ whole
        terms = {"similarity": similarity, "total": similarity.astype(np.float64)}
        if ctx.intent.text and self.model is not None and self.text_weight:
            text = embedder.embed_texts([ctx.options.clip_text_template.format(ctx.intent.text)])[0]
            terms["text"] = emb @ text
            terms["total"] = terms["total"] + self.text_weight * terms["text"]
        return terms

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        if "text" in winner and winner["text"] >= np.max(all_terms["text"]) - 1e-9:
            return ["the crop that looks most like what was asked for"]
        return ["keeps what the whole picture shows"] if winner["total"] >= np.median(all_terms["total"]) else []


@SCORERS.register("area")
class AreaScorer:
    name = "area"

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        share = candidates.area / float(ctx.width * ctx.height)
        return {"total": share}

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        return []
