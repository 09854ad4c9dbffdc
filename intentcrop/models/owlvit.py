"""OWL-ViT / OWLv2 wrapper (role: grounding): text- or image-guided detection -> `Matches` in pixels.

Text: every query is matched against every image token; each token predicts a box. A query image uses
OWL-ViT's image-guided detection (the query's most distinctive box embedding is the query). Several images
(the windows of a closer look) go through one forward pass with the `_batch` calls. The box frame (stretched
for OWL-ViT, padded square for OWLv2) is read from the model's own processor (`ground.matches.box_frame`).
torch and transformers load on the first call.
"""

from __future__ import annotations

from typing import Any, Sequence

from intentcrop.errors import IntentCropError
from intentcrop.ground.matches import PADDED_SQUARE, QUERY_IMAGE, Matches, box_frame
from intentcrop.models.registry import GROUNDING
from intentcrop.models.loading import _require_torch, tokenizer_lock


class OwlVit:
    """model: short name ("owlvit-b32", "owlv2-b16"), hub id or folder; None -> the default grounding model."""

    role = GROUNDING

    def __init__(self, model: Any = None, device: str | None = None, dtype: Any = None) -> None:
        self.model_spec, self.device, self.dtype = model, device, dtype
        self._loaded = None

    @property
    def loaded(self) -> Any:
        if self._loaded is None:
            from intentcrop.models.loading import load_grounding_model

            self._loaded = load_grounding_model(self.model_spec, device=self.device, dtype=self.dtype)
        return self._loaded

    @property
    def frame(self) -> str:
        return box_frame(self.loaded.processor.image_processor)

    @property
    def grid(self) -> int:
        """Patches per side of the model's square input."""
        config = self.loaded.model.config.vision_config
        return config.image_size // config.patch_size

    def _pixel_values(self, images: Sequence[Any]) -> Any:
        loaded = self.loaded
        pixel_values = loaded.processor.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        return pixel_values.to(loaded.device, loaded.dtype)

    def _matches(self, outputs: Any, images: Sequence[Any], queries: Sequence[Sequence[str]]) -> list[Matches]:
        adapt = Matches.from_owlv2 if self.frame == PADDED_SQUARE else Matches.from_owlvit
        return [adapt(outputs, image.size, q, index=i) for i, (image, q) in enumerate(zip(images, queries))]

    def detect_text(self, image: Any, queries: Sequence[str]) -> Matches:
        """Every token's box and its match probability for each query."""
        return self.detect_text_batch([image], [queries])[0]

    def detect_text_batch(self, images: Sequence[Any], queries: Sequence[Sequence[str]]) -> list[Matches]:
        """Several images in one forward pass, image i matched against its own queries[i] (every list as long)."""
        torch = _require_torch()  # a clear "install the vlm extra" error, not an ImportError

        if len(queries) != len(images) or len({len(q) for q in queries}) > 1:
            raise ValueError("detect_text_batch needs one list of queries per image, all of one length")
        loaded = self.loaded
        max_len = loaded.model.config.text_config.max_position_embeddings
        with tokenizer_lock(loaded.processor.tokenizer):  # a fast tokenizer sets its padding per call
            tokens = loaded.processor.tokenizer([q for per_image in queries for q in per_image],
                                                padding="max_length", truncation=True, max_length=max_len,
                                                return_tensors="pt")
        with torch.inference_mode():
            out = loaded.model(input_ids=tokens["input_ids"].to(loaded.device),
                               attention_mask=tokens["attention_mask"].to(loaded.device),
                               pixel_values=self._pixel_values(images))
        return self._matches(out, images, queries)

    def detect_image(self, image: Any, query_image: Any) -> Matches:
        """Image-guided detection: every token's box and its match probability for the query image."""
        return self.detect_image_batch([image], query_image)[0]

    def detect_image_batch(self, images: Sequence[Any], query_image: Any) -> list[Matches]:
        """Image-guided detection of one query in several images, in one forward pass."""
        torch = _require_torch()  # a clear "install the vlm extra" error, not an ImportError

        query = self._pixel_values([query_image])
        with torch.inference_mode():
            out = self.loaded.model.image_guided_detection(pixel_values=self._pixel_values(images),
                                                           query_pixel_values=query.expand(len(images), -1, -1, -1))
        if out.logits is None:
            raise IntentCropError("the query image gave OWL-ViT no object to look for")
        return self._matches(out, images, [[QUERY_IMAGE]] * len(images))


__all__ = ["OwlVit"]
