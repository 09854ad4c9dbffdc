"""Composed scenes: controllable composition and aesthetic elements, with exact CADB/AADB-like labels.

`compose_scene(seed)` draws one emphasized subject (a world object) on a background whose structure is the
scene's composition class, and sets each aesthetic element from a drawn parameter, so the labels are what was
rendered, not a judgement of it. The rules (the world's ground truth for composition; fixtures/world/README.md):

* composition (CADB-like, one class per scene, `COMPOSITIONS`):
  - center: the subject's centre within 6 % of the image's size from the image centre;
  - thirds: the subject's centre within 6 % of one of the four rule-of-thirds intersections;
  - horizontal: two or three horizontal bands (horizon lines) across the whole width;
  - vertical: four to seven vertical stripes over the whole height;
  - curved: one thick sine curve across the width;
  - symmetric: the picture is mirrored about its vertical midline (subject centred on it).
  In the line classes the subject is small and placed away from both centre and thirds points.
* attributes (AADB-like scores in [0, 1], `ATTRIBUTES`):
  - color_harmony: 1 when the background hue is the subject's (analogous), 0 when it is its complement (clash);
  - lighting: strength of a vertical light gradient times the subject/background contrast;
  - depth_of_field: 1 for a background blurred with radius 3, 0 for a sharp one (blur radius / 3);
  - object_emphasis: 1 for a subject alone, falling as same-sized other objects join it (1 / (1 + others));
  - clutter: share of the maximum number of clutter strokes drawn (0..1).
Captions (`caption`) use these words: "a photo of a red circle in the center with a blurred background".
"""

from __future__ import annotations

import colorsys
import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from intentcrop.core.box import Box
from intentcrop.world.scenes import SCENE_SIZES, Scene, WorldObject, shape_mask
from intentcrop.world.vocabulary import COLOURS, SHAPES

COMPOSITIONS: tuple[str, ...] = ("center", "thirds", "horizontal", "vertical", "curved", "symmetric")
ATTRIBUTES: tuple[str, ...] = ("color_harmony", "lighting", "depth_of_field", "object_emphasis", "clutter")
# How a caption names each class and each attribute's two ends (a score >= 0.5 takes the first).
# Short enough that "a <colour> <shape> <composition> and <attribute>" fits the world's 16 text tokens.
COMPOSITION_PHRASES: dict[str, str] = {
    "center": "with the subject in the center", "thirds": "composed with the rule of thirds",
    "horizontal": "with horizontal lines", "vertical": "with vertical lines", "curved": "with a curved line",
    "symmetric": "with a symmetric composition"}
ATTRIBUTE_PHRASES: dict[str, tuple[str, str]] = {
    "color_harmony": ("harmonious colors", "clashing colors"),
    "lighting": ("dramatic lighting", "flat lighting"),
    "depth_of_field": ("a blurred background", "a sharp background"),
    "object_emphasis": ("one emphasized object", "many objects"),
    "clutter": ("a cluttered background", "a clean background"),
}
COMPOSITION_WORDS: tuple[str, ...] = (
    "center", "centre", "thirds", "rule", "horizontal", "vertical", "curved", "symmetric", "lines", "line",
    "composition", "composed", "subject", "main", "harmonious", "clashing", "colors", "colours", "dramatic",
    "flat", "lighting", "blurred", "sharp", "background", "emphasized", "many", "cluttered", "clean", "level",
    "strong", "leading", "curve", "beautiful", "poor", "harmony", "light", "shallow", "depth", "field", "blurry",
    "emphasizes", "clear", "cut", "off", "at", "edge", "no", "structure", "tilted", "unbalanced", "dull", "muddy",
    "that", "interesting", "content", "boring", "empty", "space", "distracting", "placed", "aesthetic")
_PLACE_TOLERANCE = 0.06
_MAX_CLUTTER = 24


def _hue_rgb(hue: float, sat: float, val: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(hue % 1.0, sat, val), dtype=np.float32) * 255


def _subject_centre(rng: np.random.Generator, composition: str, width: int, height: int) -> tuple[float, float]:
    if composition in ("center", "symmetric"):
        return width / 2 + rng.uniform(-0.03, 0.03) * width, height / 2 + rng.uniform(-0.03, 0.03) * height
    if composition == "thirds":
        fx, fy = rng.choice([1 / 3, 2 / 3]), rng.choice([1 / 3, 2 / 3])
        return (fx + rng.uniform(-0.03, 0.03)) * width, (fy + rng.uniform(-0.03, 0.03)) * height
    # line classes: away from the centre and the thirds points (near a corner, inside the frame)
    fx, fy = rng.choice([0.15, 0.85]), rng.choice([0.15, 0.85])
    return fx * width, fy * height


def _structure(draw: ImageDraw.ImageDraw, rng: np.random.Generator, composition: str, width: int, height: int,
               tone: np.ndarray) -> None:
    """The composition's lines, in a darker or lighter version of the background tone."""
    shade = tuple(int(v) for v in np.clip(tone * rng.choice([0.55, 1.45]), 0, 255))
    if composition == "horizontal":
        for k in range(int(rng.integers(2, 4))):
            y = height * (0.25 + 0.5 * rng.random())
            draw.rectangle([0, y, width, y + max(3, height * 0.04)], fill=shade)
    elif composition == "vertical":
        n = int(rng.integers(4, 8))
        for k in range(n):
            x = width * (k + 0.5) / n + rng.uniform(-2, 2)
            draw.rectangle([x, 0, x + max(3, width * 0.03), height], fill=shade)
    elif composition == "curved":
        phase, amp = rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.3) * height
        pts = [(x, height / 2 + amp * math.sin(phase + 2 * math.pi * x / width)) for x in range(0, width + 4, 4)]
        draw.line(pts, fill=shade, width=max(4, int(min(width, height) * 0.05)))


def compose_scene(seed: int, composition: str | None = None, size: tuple[int, int] | None = None) -> Scene:
    """The composed scene for `seed` (module docstring); `composition` forces the class."""
    rng = np.random.default_rng(seed)
    width, height = size if size is not None else SCENE_SIZES[int(rng.integers(len(SCENE_SIZES)))]
    composition = composition if composition is not None else str(rng.choice(COMPOSITIONS))
    if composition not in COMPOSITIONS:
        raise ValueError(f"unknown composition {composition!r}; known: {', '.join(COMPOSITIONS)}")
    colour, shape = str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES))
    subject_rgb = np.array(COLOURS[colour], dtype=np.float32)
    subject_hue = colorsys.rgb_to_hsv(*(subject_rgb / 255))[0]
    harmony = float(rng.random() < 0.5)
    bg_hue = subject_hue + (rng.uniform(-0.04, 0.04) if harmony else 0.5)
    tone = _hue_rgb(bg_hue, 0.45, rng.uniform(0.55, 0.8))
    gradient = float(rng.uniform(0, 1))
    blur = float(rng.choice([0.0, 3.0]))
    n_clutter = int(rng.integers(0, _MAX_CLUTTER + 1))

    yy = np.linspace(-1, 1, height, dtype=np.float32)[:, None, None]
    canvas = Image.fromarray(np.clip(np.broadcast_to(tone, (height, width, 3)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    _structure(draw, rng, composition, width, height, tone)
    short = min(width, height)
    for _ in range(n_clutter):
        x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.02, 0.05) * short
        grey = int(rng.uniform(40, 230))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(grey, grey, grey))
    if blur:
        canvas = canvas.filter(ImageFilter.GaussianBlur(radius=blur))
    arr = np.asarray(canvas, dtype=np.float32)

    # subject and, when its emphasis is shared, same-sized others (no overlap, so every box is exact)
    side = (0.3 if composition in ("center", "thirds", "symmetric") else 0.18) * short
    cx, cy = _subject_centre(rng, composition, width, height)
    boxes = [(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)]
    kinds = [(colour, shape)]
    n_others = 0 if composition == "symmetric" else int(rng.integers(0, 4))
    for _ in range(n_others):
        for _attempt in range(30):
            ox, oy = rng.uniform(0, width - side), rng.uniform(0, height - side)
            b = (ox, oy, ox + side, oy + side)
            if all(b[2] + 2 < o[0] or o[2] + 2 < b[0] or b[3] + 2 < o[1] or o[3] + 2 < b[1] for o in boxes):
                boxes.append(b)
                kinds.append((str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES))))
                break
    occupied = np.zeros((height, width), dtype=np.int16) - 1
    for j, (b, (c, s)) in enumerate(zip(boxes, kinds)):
        ib = tuple(int(round(max(0, min(v, lim)))) for v, lim in zip(b, (width, height, width, height)))
        mask = shape_mask(s, ib, width, height) & (occupied < 0)
        occupied[mask] = j
        arr[mask] = np.array(COLOURS[c], dtype=np.float32)
    if composition == "symmetric":  # mirror the left half (the subject straddles the midline)
        half = width // 2
        arr[:, width - half:] = arr[:, :half][:, ::-1]
        occupied[:, width - half:] = occupied[:, :half][:, ::-1]
    light = 1.0 + 0.45 * gradient * yy  # top darker or lighter than the bottom by up to 45 %
    arr = arr * light
    arr += rng.normal(0, 3, size=arr.shape).astype(np.float32)
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")

    objects = []
    for j, (c, s) in enumerate(kinds):
        visible = occupied == j
        if not visible.any():
            continue
        ys, xs = np.nonzero(visible)
        objects.append(WorldObject(shape=s, colour=c, size="large" if side >= 0.27 * short else "small",
                                   box=Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)),
                                   mask=visible))
    contrast = float(np.abs(subject_rgb - tone).mean() / 255)
    labels = {
        "composition": composition,
        "attributes": {
            "color_harmony": harmony,
            "lighting": round(float(np.clip(gradient * (0.5 + contrast), 0, 1)), 3),
            "depth_of_field": round(blur / 3.0, 3),
            "object_emphasis": round(1.0 / (1 + len(objects) - 1), 3),
            "clutter": round(n_clutter / _MAX_CLUTTER, 3),
        },
        "subject": 0,
    }
    return Scene(seed=seed, image=image, objects=objects, labels=labels)


def composition_label(scene: Scene) -> str:
    """The composition class the scene's layout shows, measured from its pixels' owners (for checks): the
    subject's placement for center/thirds, else the class it was drawn with."""
    assert scene.labels is not None
    box = scene.objects[scene.labels["subject"]].box
    cx, cy = (box.x1 + box.x2) / 2 / scene.width, (box.y1 + box.y2) / 2 / scene.height
    if abs(cx - 0.5) <= _PLACE_TOLERANCE and abs(cy - 0.5) <= _PLACE_TOLERANCE:
        return "symmetric" if scene.labels["composition"] == "symmetric" else "center"
    if any(abs(cx - fx) <= _PLACE_TOLERANCE and abs(cy - fy) <= _PLACE_TOLERANCE
           for fx in (1 / 3, 2 / 3) for fy in (1 / 3, 2 / 3)):
        return "thirds"
    return scene.labels["composition"]


def attribute_phrase(scene: Scene, name: str) -> str:
    """The attribute's phrase for this scene: its high end when the score is above 0.5, else its low end."""
    high, low = ATTRIBUTE_PHRASES[name]
    return high if scene.labels["attributes"][name] > 0.5 else low


# A caption's detail level: composition only, one attribute only, or subject + composition + attribute.
CAPTION_LEVELS = (("composition",), ("attribute",), ("subject", "composition", "attribute"))


def caption(scene: Scene, rng: np.random.Generator | None = None,
            level: tuple[str, ...] | None = None) -> tuple[str, tuple]:
    """(caption, key): 'a red circle with the subject in the center and a blurred background', 'a photo with
    horizontal lines', 'a photo with clashing colors'. The key (subject kind, composition, attribute phrase;
    None where not named) says which composed scenes the caption fits (`caption_fits`)."""
    assert scene.labels is not None
    rng = rng or np.random.default_rng(scene.seed)
    level = level or CAPTION_LEVELS[int(rng.integers(len(CAPTION_LEVELS)))]
    subject = scene.objects[scene.labels["subject"]]
    comp = scene.labels["composition"] if "composition" in level else None
    attr = attribute_phrase(scene, str(rng.choice(ATTRIBUTES))) if "attribute" in level else None
    kind = (subject.colour, subject.shape) if "subject" in level else None
    parts = [f"a {kind[0]} {kind[1]}" if kind else "a photo"]
    if comp:
        parts.append(COMPOSITION_PHRASES[comp])
    if attr:
        parts.append(("and " if comp else "with ") + attr)
    return " ".join(parts), (kind, comp, attr)


def caption_fits(scene: Scene, key: tuple) -> bool:
    kind, comp, attr = key
    subject = scene.objects[scene.labels["subject"]]
    return ((kind is None or kind == (subject.colour, subject.shape))
            and (comp is None or comp == scene.labels["composition"])
            and (attr is None or attr in {attribute_phrase(scene, n) for n in ATTRIBUTES}))


__all__ = ["ATTRIBUTES", "ATTRIBUTE_PHRASES", "CAPTION_LEVELS", "COMPOSITIONS", "COMPOSITION_PHRASES",
           "COMPOSITION_WORDS", "attribute_phrase", "caption", "caption_fits", "compose_scene", "composition_label"]
