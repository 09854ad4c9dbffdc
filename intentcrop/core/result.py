"""`CropResult`: one chosen crop, JSON-serialisable, with the reasons it was chosen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from intentcrop.core.box import Box


@dataclass
class CropResult:
    box: Box  # original-image pixels, integer edges
    score: float  # combined score: higher is better, comparable within one call
    breakdown: dict[str, float] = field(default_factory=dict)  # per-scorer terms that made `score`
    explanation: str = ""  # a sentence a photographer would understand
    ratio: float | None = None  # the aspect ratio this crop was made for, if one was asked
    output_size: tuple[int, int] | None = None  # exact output size, if one was asked
    rank: int = 0
    image_size: tuple[int, int] | None = None  # (width, height) of the upright source image

    def to_dict(self) -> dict[str, Any]:
        from intentcrop.core.intent import ratio_label

        x1, y1, x2, y2 = self.box.as_int_tuple()
        out: dict[str, Any] = {
            "rank": self.rank,
            "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "width": x2 - x1, "height": y2 - y1},
            "score": round(float(self.score), 6),
            "breakdown": {k: round(float(v), 6) for k, v in self.breakdown.items()},
            "explanation": self.explanation,
        }
        if self.ratio is not None:
            out["ratio"] = ratio_label(self.ratio)
        if self.output_size is not None:
            out["output_size"] = {"width": self.output_size[0], "height": self.output_size[1]}
        return out

    def crop(self, image, upscale: bool = True) -> "PIL.Image.Image":  # noqa: F821
        """Cut this crop out of `image` (anything load_image takes, or a lazy handle from open_image: then its
        full-resolution image is decoded, once), resized to output_size if one was asked. upscale=False: a crop
        smaller than output_size keeps its own size instead of being enlarged (see `scale`)."""
        from intentcrop.io.image import crop_image, load_image

        pil = image if hasattr(image, "crop") and hasattr(image, "size") else load_image(image)
        return crop_image(pil, self.box, self.output_size, upscale=upscale)

    def scale(self, image_size: "tuple[int, int] | None" = None) -> float:
        """How much `crop()` enlarges this crop to reach output_size (1.0 without one; above 1: upscaled).
        image_size: the source's (width, height), to clamp the box as `crop()` does (default: image_size)."""
        from intentcrop.io.image import crop_scale

        size = image_size or self.image_size or (10**9, 10**9)
        return crop_scale(self.box, size, self.output_size)
