"""`CropContext`: one image being cropped, its intent, the call's options, and caches the stages share.

`ctx.options` is the `Defaults` this call merged (DEFAULTS <- pipeline config options <- call options): stages
read their tunables from it when they run.

Stages compute expensive things (downscaled copies, saliency maps, model embeddings) once per
image through `ctx.cached(key, fn)`, so several scorers can use the same map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from PIL import Image

from intentcrop import defaults
from intentcrop.core.box import Box
from intentcrop.core.intent import Intent
from intentcrop.defaults import Defaults


@dataclass
class Grounding:
    """Where the intent is in the image: matched boxes and the region a crop must keep."""

    boxes: list[Box] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    region: Box | None = None  # the union of the kept matches: what the crop must contain
    strict: bool = True  # True for a user's subject (impossible -> error); False for a model's guess
    source: str = ""  # "subject", "text", "query_image", ...
    # Look-alikes: matches the grounder found but did not keep (another circle than "the red circle"). They
    # are what the user most plainly did not ask for, so scorers may prefer crops that leave them out.
    rejected: list[Box] = field(default_factory=list)
    rejected_scores: list[float] = field(default_factory=list)
    # Readings of an ambiguous text: when a text naming one thing matched two things alike (a tie), the region
    # holds both, and each of these keeps one of them (the other becomes a look-alike). The pipeline offers
    # the best crop of each reading among the k results after the first.
    alternatives: list["Grounding"] = field(default_factory=list)
    # How the region was picked among the matches, in words, when a rule beyond "the best match" decided it
    # ("the purple square match furthest toward the bottom right"): what a user reads to see why.
    selection: str = ""
    # How sure the grounder is that the region holds what was asked for, 0..1, calibrated
    # (intentcrop.ground.confidence); None when not measured. A user's subject is 1.
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "confidence": None if self.confidence is None else round(float(self.confidence), 4),
            "region": None if self.region is None else [round(v, 2) for v in self.region.to_list()],
            "matches": [
                {"box": [round(v, 2) for v in b.to_list()], "score": round(float(s), 4), "phrase": p}
                for b, s, p in zip(self.boxes, self.scores, self.phrases)
            ],
            "rejected": [{"box": [round(v, 2) for v in b.to_list()], "score": round(float(s), 4)}
                         for b, s in zip(self.rejected, self.rejected_scores)],
            "alternatives": [[round(v, 2) for v in a.region.to_list()] for a in self.alternatives
                             if a.region is not None],
            "selection": self.selection,
        }


@dataclass
class CropContext:
    # Upright RGB, full resolution. It may be given as a lazy handle (`intentcrop.io.image.open_image`): then
    # `ctx.image` decodes the full image on first use, while `width`, `height` and `small()` never need it.
    image: Image.Image = field(repr=False)
    intent: Intent
    grounding: Grounding | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    options: Defaults | None = None  # None: defaults.DEFAULTS as it is when the context is made

    def __post_init__(self) -> None:
        if self.options is None:
            self.options = defaults.DEFAULTS

    @property
    def k(self) -> int:
        """Crops per ratio: the intent's, else the options'."""
        return self.options.k if self.intent.k is None else int(self.intent.k)

    @property
    def source(self) -> Any:
        """What the context was made from: the PIL image, or the lazy handle (not decoding it)."""
        return self._image

    @property
    def width(self) -> int:
        return self._image.size[0]

    @property
    def height(self) -> int:
        return self._image.size[1]

    @property
    def min_scale(self) -> float:
        """The least crop side as a share of the image side: the user's, else a default that depends on
        whether a region was grounded (then the region, which every crop holds, sets the real minimum)."""
        if self.intent.min_scale is not None:
            return self.intent.min_scale
        grounded = self.grounding is not None and self.grounding.region is not None
        options = self.options
        return min(options.grounded_min_scale if grounded else options.min_scale, self.intent.max_scale)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def small(self, long_side: int | None = None, draft_margin: int | None = None) -> tuple[np.ndarray, float]:
        """A downscaled RGB float32 array (0..1) and the factor from original to small pixels (long side:
        options.analysis_side unless given; `draft_margin`: see `LazyImage.analysis`)."""
        long_side = self.options.analysis_side if long_side is None else long_side

        def compute() -> tuple[np.ndarray, float]:
            scale = min(1.0, long_side / max(self.width, self.height))
            size = (max(1, round(self.width * scale)), max(1, round(self.height * scale)))
            source = self._image
            if isinstance(source, Image.Image):
                img = source if size == source.size else source.resize(size, Image.Resampling.BILINEAR)
            else:  # a lazy handle: a JPEG decodes straight to about this size, nothing full-size is made
                img = source.analysis(size, draft_margin)
            return np.asarray(img, dtype=np.float32) / 255.0, size[0] / self.width

        margin_key = "" if draft_margin is None else f":m{draft_margin}"
        return self.cached(f"small:{long_side}{margin_key}", compute)


def _get_image(self: CropContext) -> Image.Image:
    image = self._image
    return image if isinstance(image, Image.Image) else image.full()


def _set_image(self: CropContext, value: Any) -> None:
    self._image = value


CropContext.image = property(_get_image, _set_image, doc="The upright full-resolution RGB image (decoded on first use).")  # type: ignore[assignment]
