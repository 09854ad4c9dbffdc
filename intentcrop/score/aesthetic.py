"""Aesthetic rating from a head on CLIP image embeddings (SCORERS "clip_aesthetic").

Heads are PyTorch state dicts of linear layers applied to an L2-normalised CLIP image embedding:
* the LAION aesthetic predictor v1: one Linear (`weight` [1, D], `bias` [1]);
* the improved aesthetic predictor (C. Schuhmann): Linear layers `layers.0`, `layers.2`, `layers.4`,
  `layers.6`, `layers.7` with only Dropout between them (no activation in the original), so the head is
  the chain of its linear layers, in index order.
Both give a rating of roughly 1..10. The head's input size must equal the CLIP model's embedding size
(B/32 and B/16: 512, L/14: 768); a mismatch is an error that names both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.errors import ModelNotAvailableError
from intentcrop.models.clip import shared_encoder
from intentcrop.models.registry import SCORING
from intentcrop.registry import SCORERS
from intentcrop.score.clip import crop_embeddings


class AestheticHead:
    """A chain of linear layers on unit-norm embeddings, evaluated in numpy."""

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], source: str = "") -> None:
        if not layers:
            raise ModelNotAvailableError(f"{source}: aesthetic head has no linear layers")
        for (w_prev, _), (w_next, _) in zip(layers, layers[1:]):
            if w_prev.shape[0] != w_next.shape[1]:
                raise ModelNotAvailableError(f"{source}: aesthetic head layers do not chain ({w_prev.shape} -> {w_next.shape})")
        if layers[-1][0].shape[0] != 1:
            raise ModelNotAvailableError(f"{source}: aesthetic head must end in one output, not {layers[-1][0].shape[0]}")
        self.layers = layers
        self.source = source

    @property
    def input_dim(self) -> int:
        return int(self.layers[0][0].shape[1])

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        x = np.asarray(embeddings, dtype=np.float64).reshape(-1, self.input_dim) if np.size(embeddings) else \
            np.zeros((0, self.input_dim))
        if np.asarray(embeddings).shape[-1] != self.input_dim:
            raise ModelNotAvailableError(
                f"{self.source}: aesthetic head takes {self.input_dim}-d CLIP embeddings, got "
                f"{np.asarray(embeddings).shape[-1]}-d (pair B/32 or B/16 heads with 512-d models, L/14 with 768-d)"
            )
        x = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
        for weight, bias in self.layers:
            x = x @ weight.T + bias
        return x[:, 0]


def load_aesthetic_head(path: "str | os.PathLike") -> AestheticHead:
    """Read a LAION linear head or the improved MLP head from its .pth state dict."""
    path = Path(path)
    if not path.is_file():
        raise ModelNotAvailableError(
            f"aesthetic head {str(path)!r} not found: give the path of a .pth file such as "
            "sa_0_4_vit_b_32_linear.pth (LAION aesthetic predictor v1)"
        )
    try:
        import torch
    except ImportError:
        raise ModelNotAvailableError("reading an aesthetic head (.pth) needs torch: pip install 'intentcrop[vlm]'") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a head"
        raise ModelNotAvailableError(f"{path}: cannot read it as a PyTorch state dict ({exc})") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    arrays = {k: v.detach().float().cpu().numpy() for k, v in state.items() if hasattr(v, "detach")}
    prefixes = sorted({k.rsplit(".", 1)[0] if "." in k else "" for k in arrays if k.endswith("weight")},
                      key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)])
    layers = []
    for prefix in prefixes:
        dot = f"{prefix}." if prefix else ""
        weight, bias = arrays.get(f"{dot}weight"), arrays.get(f"{dot}bias")
        if weight is None or weight.ndim != 2:
            continue
        layers.append((weight.astype(np.float64), (bias if bias is not None else np.zeros(weight.shape[0])).astype(np.float64)))
    return AestheticHead(layers, source=str(path))


_HEADS: dict[str, AestheticHead] = {}


def shared_head(path: "str | os.PathLike") -> AestheticHead:
    key = str(Path(path).resolve())
    head = _HEADS.get(key)
    if head is None:  # two threads may both load it; setdefault hands both the first one kept
        head = _HEADS.setdefault(key, load_aesthetic_head(path))
    return head


@SCORERS.register("clip_aesthetic")
class ClipAestheticScorer:
    """Aesthetic rating of each crop: `head` (a .pth path, required) on the crop's CLIP embedding.

    Terms: 'rating' (the head's output, ~1..10) and 'total' (= rating)."""

    name = "clip_aesthetic"
    model_arguments = {"model": SCORING}

    def __init__(self, head: "str | os.PathLike | None" = None, model: Any = None, device: str | None = None,
                 dtype: Any = None, mode: str = "auto") -> None:
        if head is None:
            raise ModelNotAvailableError(
                "clip_aesthetic needs head=PATH to an aesthetic head, e.g. "
                "models/laion-aesthetic-v1/sa_0_4_vit_b_32_linear.pth for CLIP ViT-B/32"
            )
        self.head = shared_head(head)
        self.model, self.device, self.dtype, self.mode = model, device, dtype, mode

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        encoder = shared_encoder(self.model, self.device, self.dtype)
        rating = self.head(crop_embeddings(ctx, candidates, encoder, self.mode))
        return {"rating": rating, "total": rating}

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        values = all_terms.get("rating")
        if values is None or len(values) < 2 or "rating" not in winner or values.std() < 1e-9:
            return []
        return ["is the most pleasing to look at"] if winner["rating"] >= np.quantile(values, 0.9) else []
