"""The text-to-crop similarity scorer (SCORERS "clip_text") and the crop embeddings the CLIP scorers share.

The CLIP model itself (exact and pooled crop embeddings) is `intentcrop.models.clip.ClipEncoder`. The
embeddings of a call's candidates are cached on the CropContext, so clip_text, clip_prompts and
clip_aesthetic share one encoding of the same candidates.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from intentcrop import defaults
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.models.clip import ClipEncoder, shared_encoder
from intentcrop.models.registry import SCORING
from intentcrop.registry import SCORERS


def _boxes_key(xyxy: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(xyxy, dtype=np.float64).tobytes()).hexdigest()[:16]


def crop_embeddings(ctx: CropContext, candidates: Candidates, encoder: ClipEncoder, mode: str = "auto") -> np.ndarray:
    """(N, D) unit-norm embeddings of every candidate crop, cached on ctx per (model, mode, boxes); the call's
    clip_* options choose the mode, batch size and pooling."""
    options = ctx.options
    chosen = encoder.resolve_mode(mode, len(candidates), options.clip_exact_max_candidates)
    key = f"clip_crops:{encoder.key}:{chosen}:{options.clip_pooling}:{_boxes_key(candidates.xyxy)}"
    if chosen == "exact":
        return ctx.cached(key, lambda: encoder.encode_crops_exact(ctx.image, candidates.xyxy, options.clip_batch_size))
    state = ctx.cached(f"clip_image_state:{encoder.key}", lambda: encoder.image_state(ctx.image))
    return ctx.cached(key, lambda: encoder.pool_crops(state, candidates.xyxy, ctx.width, ctx.height,
                                                      options.clip_pooling, options.clip_roi_samples))


@SCORERS.register("clip_text")
class ClipTextScorer:
    """Content: cosine similarity between each crop and the intent's text (or its query image).

    Terms: 'similarity' (cosine, -1..1) and 'total' (= similarity). With neither text nor query image
    every candidate scores 0, so this scorer is neutral for free-form intents.
    """

    name = "clip_text"
    model_arguments = {"model": SCORING}

    def __init__(self, model: Any = None, device: str | None = None, dtype: Any = None, mode: str = "auto",
                 prompt_template: str | None = None) -> None:
        self.model, self.device, self.dtype, self.mode = model, device, dtype, mode
        self.prompt_template = prompt_template  # None: the clip_text_template option

    @property
    def encoder(self) -> ClipEncoder:
        return shared_encoder(self.model, self.device, self.dtype)

    def query_embedding(self, ctx: CropContext) -> np.ndarray | None:
        intent = ctx.intent
        encoder = self.encoder
        if intent.text:
            template = self.prompt_template or ctx.options.clip_text_template
            return encoder.encode_text([template.format(intent.text)])[0]
        if intent.query_image is not None:
            from intentcrop.io.image import load_image

            query = ctx.cached("query_image", lambda: load_image(intent.query_image))
            return ctx.cached(f"clip_query:{encoder.key}", lambda: encoder.encode_images([query])[0])
        return None

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        query = self.query_embedding(ctx)
        if query is None or len(candidates) == 0:
            zeros = np.zeros(len(candidates))
            return {"similarity": zeros, "total": zeros}
        sims = crop_embeddings(ctx, candidates, self.encoder, self.mode) @ query
        return {"similarity": sims.astype(np.float64), "total": sims.astype(np.float64)}

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        sims = all_terms.get("similarity")
        if sims is None or len(sims) < 2 or float(np.ptp(sims)) < 1e-9 or "similarity" not in winner:
            return []
        rank = float((sims < winner["similarity"]).mean())
        if rank >= 0.75:
            return ["shows what you asked for most clearly"]
        if rank <= 0.25:
            return ["keeps the whole scene around what you asked for"]
        return []


__all__ = ["ClipTextScorer", "crop_embeddings"]
