"""Image embeddings for example banks: CLIP image embeddings (any CLIP/SigLIP through the models registry), or
a weights-free embedding from the offline features when no CLIP is given.

The weights-free embedding ("features-v1"): the image's CIE Lab thumbnail on an 8x8 grid (layout and colour)
and its spectral-residual saliency on the same grid (where the eye goes, standardised within the image, at half weight), concatenated and
L2-normalised, so cosine similarity compares scenes by where their salient, coloured parts are.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np
from PIL import Image

GRID = 8
LAB_SCALE = 50.0  # Lab's L runs 0..100, a and b about -100..100: one scale keeps their contrasts comparable


class Embedder(Protocol):
    name: str

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray: ...


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class FeatureEmbedder:
    name = "features-v1"

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        from intentcrop.score.features import lab_image, spectral_residual

        rows = []
        for image in images:
            small = np.asarray(image.convert("RGB").resize((64, 64), Image.BILINEAR), dtype=np.uint8)
            lab = lab_image(small.astype(np.float32) / 255.0).astype(np.float32)
            lab_grid = lab.reshape(GRID, 64 // GRID, GRID, 64 // GRID, 3).mean(axis=(1, 3))
            gray = small.mean(axis=2).astype(np.float32) / 255.0
            sal = np.asarray(Image.fromarray(spectral_residual(gray).astype(np.float32)).resize((GRID, GRID)))
            # colour on a fixed scale (absolute colour is what tells scenes apart); saliency standardised per
            # image (only where it lies matters)
            sal = sal.reshape(-1) - sal.mean()
            sal = sal / max(float(sal.std()), 1e-6)
            rows.append(np.concatenate([lab_grid.reshape(-1) / LAB_SCALE, 0.5 * sal]))
        return _unit(np.stack(rows)) if rows else np.zeros((0, GRID * GRID * 4), np.float32)


class ClipEmbedder:
    """CLIP image embeddings (the models registry resolves the name, hub id or folder)."""

    def __init__(self, model: Any, device: str | None = None, dtype: Any = None) -> None:
        from intentcrop.models.clip import shared_encoder

        self.encoder = shared_encoder(model, device=device, dtype=dtype)
        self.name = f"clip:{self.encoder.loaded.spec.source}"

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return _unit(self.encoder.encode_images([im.convert("RGB") for im in images]))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return _unit(self.encoder.encode_text(list(texts)))


def make_embedder(clip_model: Any = None, device: str | None = None, dtype: Any = None
                  ) -> "FeatureEmbedder | ClipEmbedder":
    return FeatureEmbedder() if clip_model is None else ClipEmbedder(clip_model, device=device, dtype=dtype)
