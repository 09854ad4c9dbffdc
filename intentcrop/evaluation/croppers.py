"""Croppers under evaluation: callables `cropper(image_path, ratio=None) -> Box`.

`ratio` is given only in the ratio-aware protocol (the human crop's width / height); a cropper must then
return a crop of that aspect. Baselines: `center` (90 % of each side, centred), `whole` (the whole image),
`smartcrop` (the smartcrop.py 0.5 package); `intentcrop` is this project's default method (pipeline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol, Sequence

from PIL import Image

from intentcrop.core.box import Box
from intentcrop.errors import IntentCropError


class Cropper(Protocol):
    name: str

    def __call__(self, image_path: Path, ratio: float | None = None) -> Box: ...


def upright_size(image_path: "str | Path") -> tuple[int, int]:
    """(width, height) after EXIF rotation, read from the header only (as intentcrop sees the image)."""
    with Image.open(image_path) as img:
        width, height = img.size
        orientation = img.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def centred_box(width: float, height: float, box_width: float, box_height: float) -> Box:
    x1, y1 = (width - box_width) / 2, (height - box_height) / 2
    return Box(x1, y1, x1 + box_width, y1 + box_height)


def largest_fit(width: float, height: float, ratio: float) -> tuple[float, float]:
    """Width and height of the largest box of aspect `ratio` (w / h) inside a width x height image."""
    if ratio <= 0:
        raise IntentCropError(f"aspect ratio must be positive, got {ratio}")
    if width / height > ratio:
        return height * ratio, height
    return width, width / ratio


class CenterCropper:
    """A centred crop keeping `fraction` of each side (FCDB dev: 0.662 IoU at 0.9). With a ratio: the largest
    centred box of that ratio, shrunk to `fraction` of its sides."""

    name = "center"

    def __init__(self, fraction: float = 0.9) -> None:
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction

    def __call__(self, image_path: Path, ratio: float | None = None) -> Box:
        width, height = upright_size(image_path)
        w, h = (width, height) if ratio is None else largest_fit(width, height, ratio)
        return centred_box(width, height, w * self.fraction, h * self.fraction)


class WholeImageCropper:
    """The whole image (FCDB dev: 0.630 IoU). With a ratio: the largest centred box of that ratio."""

    name = "whole"

    def __call__(self, image_path: Path, ratio: float | None = None) -> Box:
        width, height = upright_size(image_path)
        if ratio is None:
            return Box(0.0, 0.0, float(width), float(height))
        return centred_box(width, height, *largest_fit(width, height, ratio))


# Aspect ratios smartcrop searches in the free-form protocol (plus the image's own); it needs one per call.
SMARTCROP_RATIOS: tuple[tuple[int, int], ...] = ((1, 1), (4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (9, 16))
SMARTCROP_MIN_SCALE = 0.6  # smartcrop's own default (0.9) only allows near-whole crops; humans cut more.
SMARTCROP_TARGET_SIDE = 100  # target size's long side: smartcrop prescales the image to about this / min_scale,
#                              as its own CLI does (100 px wide), which keeps it near its published speed.


class SmartcropCropper:
    """smartcrop.py 0.5 (a port of smartcrop.js: skin, edge and saturation features with a rule-of-thirds
    importance map). Free-form: the best-scoring crop over SMARTCROP_RATIOS and the image's own ratio;
    its score is a per-pixel average, so crops of different ratios compare."""

    name = "smartcrop"

    def __init__(self, ratios: Sequence[tuple[int, int]] = SMARTCROP_RATIOS, min_scale: float = SMARTCROP_MIN_SCALE,
                 target_side: int | None = SMARTCROP_TARGET_SIDE) -> None:
        try:
            from smartcrop import SmartCrop
        except ImportError as exc:
            raise IntentCropError("the smartcrop baseline needs the 'smartcrop' package "
                                  "(pip install smartcrop)") from exc
        self._smartcrop = SmartCrop()
        self.ratios = [w / h for w, h in ratios]
        self.min_scale = min_scale
        self.target_side = target_side

    def _target(self, ratio: float, width: int, height: int) -> tuple[int, int]:
        if self.target_side is None:  # full resolution: ask for the largest crop, so smartcrop does not prescale
            from intentcrop.propose.geometry import largest_ratio_window

            return largest_ratio_window(width, height, ratio)
        if ratio >= 1:
            return self.target_side, max(1, round(self.target_side / ratio))
        return max(1, round(self.target_side * ratio)), self.target_side

    def __call__(self, image_path: Path, ratio: float | None = None) -> Box:
        from intentcrop.io.image import load_image

        image = load_image(image_path)
        width, height = image.size
        ratios = [ratio] if ratio is not None else self.ratios + [width / height]
        best = None
        for r in ratios:
            tw, th = self._target(r, width, height)
            top = self._smartcrop.crop(image, width=tw, height=th, min_scale=self.min_scale)["top_crop"]
            if best is None or top["score"] > best["score"]:
                best = top
        box = Box(float(best["x"]), float(best["y"]), float(best["x"] + best["width"]),
                  float(best["y"] + best["height"]))
        return box.clip(width, height)


class IntentCropCropper:
    """This project's default method: `intentcrop.crop(path, k=1, ratio=ratio)`'s best crop."""

    name = "intentcrop"

    def __init__(self, method: str = "default") -> None:
        self.method = method

    def __call__(self, image_path: Path, ratio: float | None = None) -> Box:
        import intentcrop  # late: the package imports this module's package only on demand

        results = intentcrop.crop(image_path, k=1, ratio=ratio, method=self.method)
        if not results:
            raise IntentCropError(f"{image_path}: intentcrop returned no crop")
        return results[0].box


class PipelineRanker:
    """A method's scorers ranking given windows (`Pipeline.score_boxes`, free-form): the protocol of FCDB's own
    evaluation, which VFN, VEN and CLIPCropping report, where a method picks the best of the dataset's
    candidate windows instead of proposing its own crop. The searcher (box voting, an optimiser) does not run."""

    def __init__(self, method: str = "default") -> None:
        from intentcrop.pipeline import create_pipeline

        self.method = method
        self.pipeline = create_pipeline(method)

    def __call__(self, image_path: Path, windows_xyxy) -> Box:
        import numpy as np

        windows = np.asarray(windows_xyxy, dtype=np.float64).reshape(-1, 4)
        if len(windows) == 0:
            raise IntentCropError(f"{image_path}: no candidate windows to rank")
        scores = self.pipeline.score_boxes(image_path, windows)
        return Box.from_xyxy(windows[int(np.argmax(scores))])


class FullResolutionSmartcropCropper(SmartcropCropper):
    """smartcrop analysing the full-resolution image (no prescale): slower, the setting of the issue's
    reference numbers (0.589 IoU, 0.35 s per image on FCDB dev)."""

    name = "smartcrop-full"

    def __init__(self) -> None:
        super().__init__(target_side=None)


CROPPERS: dict[str, Callable[[], Cropper]] = {
    "intentcrop": IntentCropCropper,
    # the cropper method (a VLM in context): its server from INTENTCROP_VLM_URL / INTENTCROP_VLM_MODEL (key:
    # OPENAI_API_KEY), its example bank from INTENTCROP_CROPPER_BANK
    "cropper": lambda: IntentCropCropper("cropper"),
    "cagic": lambda: IntentCropCropper("cagic"),  # the crop optimised directly (intentcrop.search.cagic)
    # the CLIPCropping head over grid candidates (its world checkpoint unless the method's scorer is given another)
    "clipcropping": lambda: IntentCropCropper("clipcropping"),
    "center": CenterCropper,
    "whole": WholeImageCropper,
    "smartcrop": SmartcropCropper,
    "smartcrop-full": FullResolutionSmartcropCropper,
}


# methods that can rank given windows (the candidate-window protocol): the pipeline each one scores with
RANKERS: dict[str, str] = {"intentcrop": "default", "cropper": "cropper", "cagic": "cagic",
                           "clipcropping": "clipcropping"}


def make_ranker(name: str) -> PipelineRanker:
    if name not in RANKERS:
        raise KeyError(f"{name} cannot rank candidate windows (it has no scores); methods that can: "
                       f"{', '.join(RANKERS)}")
    return PipelineRanker(RANKERS[name])


def make_cropper(name: str) -> Cropper:
    if name not in CROPPERS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(CROPPERS)}")
    return CROPPERS[name]()
