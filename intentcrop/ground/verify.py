"""CLIP verification of a grounder's candidate boxes: does the crop around each box show what was asked for?

OWL-ViT scores every image token against the query and its best token is usually the target, but on the
hard cases (the red circle beside the red square, the small star beside the large one) its second or
third candidate is the right one. CLIP, asked the same question about a crop around each candidate,
makes different mistakes, so the two combine well: each candidate's probability p is multiplied by
CLIP's relative likelihood of it among the query's candidates,

    p' = p * exp(weight * logit_scale * (sim - max sim)),

which ranks the candidates by log p + weight * logit_scale * sim (the product of the two models' odds)
and leaves the candidate both agree on at its own p. A candidate CLIP finds clearly worse falls below
the fusion's relative-score threshold and becomes a look-alike for the isolation scorer to leave out.

Only phrases naming one thing are verified: a crop of one dog says nothing about "three dogs". A query
image is compared with the candidates image to image.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import Box
from intentcrop.ground.config import GroundingConfig


class ClipVerifier:
    """model: a CLIP / SigLIP short name, hub id or folder (None -> the default scoring model)."""

    def __init__(self, model: Any = None, device: str | None = None, dtype: Any = None,
                 weight: float = GroundingConfig.verify_weight, margin: float = GroundingConfig.verify_margin,
                 prompt_template: str | None = None) -> None:
        self.model, self.device, self.dtype = model, device, dtype
        self.weight, self.margin = float(weight), float(margin)
        self.prompt_template = prompt_template or defaults.DEFAULTS.clip_text_template  # made per call: read now

    @property
    def encoder(self) -> Any:
        from intentcrop.models.clip import shared_encoder

        return shared_encoder(self.model, self.device, self.dtype)

    def crop_boxes(self, xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
        """The window CLIP sees around each box: the box grown by `margin` of its size, inside the image
        (CLIP judges an object better with a little of its surroundings, as it was trained)."""
        return np.array([Box.from_xyxy(b).expand(self.margin).clip(width, height).round().to_list()
                         for b in np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)])

    def text_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode_text([self.prompt_template.format(t) for t in texts])

    def image_query(self, query_image: Any) -> np.ndarray:
        return self.encoder.encode_images([query_image])

    def rescore(self, image: Any, xyxy: np.ndarray, probs: np.ndarray, candidates: list[list[int]],
                queries: np.ndarray, verified: Sequence[bool]) -> np.ndarray:
        """probs (P, Q) with each verified query's candidate tokens re-scored (see the module's docstring).

        xyxy: (P, 4) token boxes in pixels; candidates[q]: the token indices competing for query q;
        queries: (Q, D) unit embeddings of the queries (text or image); verified[q]: whether to verify q."""
        probs = np.array(probs, dtype=np.float64, copy=True)
        wanted = sorted({i for q, idx in enumerate(candidates) if verified[q] for i in idx})
        if not wanted or self.weight <= 0:
            return probs
        windows = self.crop_boxes(xyxy[wanted], image.width, image.height)
        unique, inverse = np.unique(windows, axis=0, return_inverse=True)  # phrases share most candidates
        embeddings = self.encoder.encode_crops_exact(image, unique)[np.asarray(inverse).reshape(-1)]
        row = {token: r for r, token in enumerate(wanted)}
        scale = self.weight * self.encoder.logit_scale
        for q, idx in enumerate(candidates):
            if not verified[q] or not idx:
                continue
            sims = embeddings[[row[i] for i in idx]] @ np.asarray(queries[q], dtype=np.float32)
            probs[idx, q] *= np.exp(scale * (sims - sims.max()))
        return probs


__all__ = ["ClipVerifier"]
