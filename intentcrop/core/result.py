"""`CropResult`: one chosen crop, JSON-serialisable, with the reasons it was chosen.

The focal point (the one place it is defined): the point a crop is about, for a CDN's or thumbor/Cloudinary-style
gravity and CSS `object-position`. For a grounded intent (text, query image, subject) it is the centre of the
grounded region (`CropOutput.grounding.region`; for one reading of an ambiguous text, that reading's region); for a
free-form intent, the saliency-weighted centre of mass of the chosen crop (the offline saliency map of
`intentcrop.score.features`, on the analysis copy, scaled to original pixels). Either way it is clamped into the
crop, so it always lies inside it. Three forms:

- `focal_point`: (x, y) in original-image pixels (float; x right, y down, from the image's top-left corner);
- `focal_point_relative`: (x / image width, y / image height), 0..1 of the whole image -- the gravity to pass a
  CDN that crops the original, or CSS `object-position: {x_rel*100}% {y_rel*100}%` for the original image shown
  with `object-fit: cover`;
- `focal_point_in_crop`: (x - x1) / crop width, (y - y1) / crop height, 0..1 of this crop -- the
  `object-position` for this crop's own image when a page trims it further.

`box_percent` is the box as [x1, y1, x2, y2] in percent of the image's width and height (2 decimals).

`rank` is the crop's place among the crops of its ratio (1 = first), and results come in that order: by their
own score, best first, except that (1) the k crops of a ratio are mutually different (one overlapping a better
one by more than the diversity_iou option is skipped; only when too few differ do such near-duplicates fill the
last places), and (2) for an ambiguous text the best crop of each reading comes right after the first crop
(`Pipeline.offer_readings`), whatever its score, which was computed in that reading's own pass.
"""

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
    rank: int = 0  # place among this ratio's crops, 1 = first (the order: see the module docstring)
    image_size: tuple[int, int] | None = None  # (width, height) of the upright source image
    focal_point: tuple[float, float] | None = None  # (x, y) original pixels: what the crop is about (module doc)

    @property
    def focal_point_relative(self) -> tuple[float, float] | None:
        """The focal point as (x, y) shares 0..1 of the image's width and height (None without image_size)."""
        if self.focal_point is None or self.image_size is None:
            return None
        return self.focal_point[0] / self.image_size[0], self.focal_point[1] / self.image_size[1]

    @property
    def focal_point_in_crop(self) -> tuple[float, float] | None:
        """The focal point as (x, y) shares 0..1 of this crop's width and height (CSS object-position of the crop)."""
        if self.focal_point is None:
            return None
        b = self.box
        return ((self.focal_point[0] - b.x1) / max(b.width, 1e-9), (self.focal_point[1] - b.y1) / max(b.height, 1e-9))

    @property
    def box_percent(self) -> list[float] | None:
        """[x1, y1, x2, y2] in percent of the image's width and height, 2 decimals (None without image_size)."""
        if self.image_size is None:
            return None
        w, h = self.image_size
        x1, y1, x2, y2 = self.box.as_int_tuple()
        return [round(100 * x1 / w, 2), round(100 * y1 / h, 2), round(100 * x2 / w, 2), round(100 * y2 / h, 2)]

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
        if self.image_size is not None:
            out["box_percent"] = self.box_percent
        if self.focal_point is not None:
            out["focal_point"] = focal_point_dict(self.focal_point, self.image_size)
            fx, fy = self.focal_point_in_crop
            out["focal_point_in_crop"] = {"x_rel": round(fx, 4), "y_rel": round(fy, 4)}
        if self.ratio is not None:
            out["ratio"] = ratio_label(self.ratio)
        if self.output_size is not None:
            out["output_size"] = {"width": self.output_size[0], "height": self.output_size[1]}
        return out

    def crop(self, image, upscale: bool = True) -> "PIL.Image.Image":  # noqa: F821
        """Cut this crop out of `image` (anything load_image takes, or a lazy handle from open_image: then its
        full-resolution image is decoded, once), resized to output_size if one was asked. upscale=False: a crop
        smaller than output_size keeps its own size instead of being enlarged (see `scale`).

        The box is in upright pixels: a PIL image that still carries an EXIF orientation (the one given to
        `crop()`, before load_image turned it) is turned the same way first. An image whose (upright) size is
        not the one this crop was made for (image_size) is refused with ValueError rather than cut wrongly."""
        from PIL import Image, ImageOps

        from intentcrop.io.image import crop_image, load_image

        if isinstance(image, Image.Image):
            try:
                orientation = image.getexif().get(0x0112, 1)
            except Exception:  # an unreadable EXIF block: load_image would not turn it either
                orientation = 1
            pil = ImageOps.exif_transpose(image) if orientation in (2, 3, 4, 5, 6, 7, 8) else image
        elif hasattr(image, "crop") and hasattr(image, "size"):
            pil = image
        else:
            pil = load_image(image)
        if self.image_size is not None and tuple(pil.size) != tuple(self.image_size):
            raise ValueError(f"this crop was made for a {self.image_size[0]}x{self.image_size[1]} image, not "
                             f"{pil.size[0]}x{pil.size[1]}: pass the same picture that was cropped")
        return crop_image(pil, self.box, self.output_size, upscale=upscale)

    def scale(self, image_size: "tuple[int, int] | None" = None) -> float:
        """How much `crop()` enlarges this crop to reach output_size (1.0 without one; above 1: upscaled).
        image_size: the source's (width, height), to clamp the box as `crop()` does (default: image_size)."""
        from intentcrop.io.image import crop_scale

        size = image_size or self.image_size or (10**9, 10**9)
        return crop_scale(self.box, size, self.output_size)


def focal_point_dict(point: tuple[float, float], image_size: tuple[int, int] | None) -> dict[str, float | None]:
    """{"x", "y"} in pixels (2 decimals) and {"x_rel", "y_rel"} 0..1 of the image (4 decimals; None without a size)."""
    x, y = float(point[0]), float(point[1])
    out: dict[str, float | None] = {"x": round(x, 2), "y": round(y, 2), "x_rel": None, "y_rel": None}
    if image_size is not None:
        out["x_rel"], out["y_rel"] = round(x / image_size[0], 4), round(y / image_size[1], 4)
    return out
