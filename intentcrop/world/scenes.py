"""Deterministic synthetic scenes: coloured shapes on cluttered gradient backgrounds, with exact boxes and masks.

`generate_scene(seed)` always draws the same picture for the same seed. A scene is planned around an
*anchor* object and, often, distractors that share exactly one attribute with it (the red circle beside
the red square and the blue circle), duplicates of it (for counts), objects touching the borders and
partial occlusions, so that a crop which ignores an attribute, swaps x and y or loses an offset fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from intentcrop.core.box import Box
from intentcrop.world.vocabulary import COLOURS, SHAPES, SIZES, phrase

# Scene sizes (width, height): several sizes and aspect ratios between 2:3 and 3:2.
SCENE_SIZES: tuple[tuple[int, int], ...] = (
    (192, 192), (256, 192), (192, 256), (240, 160), (160, 240), (288, 216), (320, 240), (240, 320), (384, 256),
)
MAX_OBJECTS = 8
MIN_VISIBLE = 0.7  # an object keeps at least this share of its own area visible (partial occlusion only)


@dataclass
class WorldObject:
    shape: str
    colour: str
    size: str
    box: Box  # tight box of the visible pixels, image pixels (x2, y2 exclusive)
    mask: np.ndarray = field(repr=False)  # (H, W) bool, the visible pixels

    @property
    def kind(self) -> tuple[str, str]:
        return (self.colour, self.shape)

    def describe(self, with_size: bool = False) -> str:
        return phrase(self.colour, self.shape, self.size if with_size else None)

    def to_dict(self) -> dict[str, Any]:
        return {"shape": self.shape, "colour": self.colour, "size": self.size,
                "box": [round(v, 2) for v in self.box.to_list()]}


@dataclass
class Scene:
    seed: int
    image: Image.Image
    objects: list[WorldObject]
    labels: dict[str, Any] | None = None  # composition / attribute labels of composed scenes (world.composition)

    @property
    def width(self) -> int:
        return self.image.size[0]

    @property
    def height(self) -> int:
        return self.image.size[1]

    def boxes(self, indices: list[int] | None = None) -> np.ndarray:
        objs = self.objects if indices is None else [self.objects[i] for i in indices]
        return np.array([o.box.to_xyxy() for o in objs], dtype=np.float64).reshape(-1, 4)

    def matching(self, colour: str | None = None, shape: str | None = None, size: str | None = None) -> list[int]:
        return [i for i, o in enumerate(self.objects)
                if (colour is None or o.colour == colour) and (shape is None or o.shape == shape)
                and (size is None or o.size == size)]

    def to_dict(self) -> dict[str, Any]:
        out = {"seed": self.seed, "width": self.width, "height": self.height,
               "objects": [o.to_dict() for o in self.objects]}
        if self.labels:
            out["labels"] = self.labels
        return out


# -- drawing ------------------------------------------------------------------------------------


def _star(n: int = 5, inner: float = 0.45) -> list[tuple[float, float]]:
    pts = []
    for k in range(2 * n):
        r = 0.5 if k % 2 == 0 else 0.5 * inner
        a = -math.pi / 2 + k * math.pi / n
        pts.append((math.cos(a) * r, math.sin(a) * r))
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]  # stretched to fill the unit box, as every shape does
    return [((x - min(xs)) / (max(xs) - min(xs)), (y - min(ys)) / (max(ys) - min(ys))) for x, y in pts]


_POLYGONS: dict[str, list[tuple[float, float]]] = {
    "square": [(0, 0), (1, 0), (1, 1), (0, 1)],
    "triangle": [(0.5, 0), (1, 1), (0, 1)],
    "star": _star(),
    "cross": [(0.33, 0), (0.67, 0), (0.67, 0.33), (1, 0.33), (1, 0.67), (0.67, 0.67), (0.67, 1), (0.33, 1),
              (0.33, 0.67), (0, 0.67), (0, 0.33), (0.33, 0.33)],
}


def shape_mask(shape: str, box: tuple[float, float, float, float], width: int, height: int) -> np.ndarray:
    """(H, W) bool mask of `shape` drawn to fill `box` (x1, y1, x2, y2)."""
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    x1, y1, x2, y2 = box
    w, h = x2 - x1 - 1, y2 - y1 - 1
    if shape == "circle":
        draw.ellipse([x1, y1, x2 - 1, y2 - 1], fill=255)
    else:
        draw.polygon([(x1 + px * w, y1 + py * h) for px, py in _POLYGONS[shape]], fill=255)
    return np.asarray(canvas) > 127


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A muted two-colour gradient with noise and low-saturation clutter (lines, dots, blotches)."""
    base = rng.uniform(70, 200, size=(2, 3))
    base = base.mean(axis=1, keepdims=True) * 0.75 + base * 0.25  # desaturate: objects own the strong colours
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (xx / width - 0.5) * math.cos(angle) + (yy / height - 0.5) * math.sin(angle)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
    img = base[0][None, None, :] * (1 - t[..., None]) + base[1][None, None, :] * t[..., None]
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    short = min(width, height)
    for _ in range(int(rng.integers(3, 12))):  # clutter: grey-ish strokes and specks, smaller than any object
        grey = int(rng.uniform(40, 230))
        tint = tuple(int(np.clip(grey + rng.uniform(-20, 20), 0, 255)) for _ in range(3))
        kind = rng.integers(0, 3)
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        if kind == 0:
            length = rng.uniform(0.1, 0.5) * short
            a = rng.uniform(0, math.pi)
            draw.line([x, y, x + length * math.cos(a), y + length * math.sin(a)], fill=tint,
                      width=int(rng.integers(1, 3)))
        elif kind == 1:
            r = rng.uniform(0.01, 0.03) * short
            draw.ellipse([x - r, y - r, x + r, y + r], fill=tint)
        else:
            r = rng.uniform(0.03, 0.07) * short
            draw.rectangle([x - r, y - r * 0.6, x + r, y + r * 0.6], fill=tint)
    pil = pil.filter(ImageFilter.GaussianBlur(radius=0.6))
    arr = np.asarray(pil, dtype=np.float32)
    arr += rng.normal(0, rng.uniform(2, 9), size=arr.shape).astype(np.float32)
    return arr


# -- planning -----------------------------------------------------------------------------------


def _plan_kinds(rng: np.random.Generator, n: int) -> list[tuple[str, str, str]]:
    """(colour, shape, size) for n objects: an anchor, then distractors sharing one attribute, duplicates
    and random others."""
    colours, shapes, sizes = list(COLOURS), list(SHAPES), list(SIZES)
    anchor = (rng.choice(colours), rng.choice(shapes), rng.choice(sizes))
    kinds = [tuple(str(v) for v in anchor)]
    while len(kinds) < n:
        roll = rng.random()
        c, s, z = kinds[0]
        if roll < 0.25:  # same colour, other shape
            kinds.append((c, str(rng.choice([x for x in shapes if x != s])), str(rng.choice(sizes))))
        elif roll < 0.5:  # same shape, other colour
            kinds.append((str(rng.choice([x for x in colours if x != c])), s, str(rng.choice(sizes))))
        elif roll < 0.6:  # same colour and shape, other size
            kinds.append((c, s, "small" if z == "large" else "large"))
        elif roll < 0.7:  # a duplicate (counts: 'two yellow stars')
            kinds.append((c, s, z))
        else:
            kinds.append((str(rng.choice(colours)), str(rng.choice(shapes)), str(rng.choice(sizes))))
    order = rng.permutation(n)  # the anchor is not always drawn first (it may be occluded too)
    return [kinds[i] for i in order]


def generate_scene(seed: int, size: tuple[int, int] | None = None, n_objects: int | None = None) -> Scene:
    """The scene for `seed`: same seed, same pixels, boxes and masks."""
    rng = np.random.default_rng(seed)
    width, height = size if size is not None else SCENE_SIZES[int(rng.integers(len(SCENE_SIZES)))]
    n = int(n_objects) if n_objects is not None else int(rng.integers(1, MAX_OBJECTS + 1))
    kinds = _plan_kinds(rng, n)
    short = min(width, height)
    canvas = _background(rng, width, height)
    occupied = np.zeros((height, width), dtype=np.int16) - 1  # which object owns each pixel (-1: background)
    placed: list[tuple[str, str, str, np.ndarray]] = []
    n_large = 0
    for colour, shape, size_word in kinds:
        if size_word == "large" and n_large >= 3:  # at most three large objects keep a scene readable
            size_word = "small"
        lo, hi = SIZES[size_word]
        for _attempt in range(40):
            side = rng.uniform(lo, hi) * short
            ow, oh = side * rng.uniform(0.9, 1.1), side * rng.uniform(0.9, 1.1)
            if rng.random() < 0.2:  # hug a border: objects near the edges must still be kept whole
                edge = int(rng.integers(4))
                x = rng.uniform(0, 3) if edge == 0 else width - ow - rng.uniform(0, 3) if edge == 1 else \
                    rng.uniform(0, width - ow)
                y = rng.uniform(0, 3) if edge == 2 else height - oh - rng.uniform(0, 3) if edge == 3 else \
                    rng.uniform(0, height - oh)
            else:
                x, y = rng.uniform(0, width - ow), rng.uniform(0, height - oh)
            box = (round(x), round(y), round(x + ow), round(y + oh))
            mask = shape_mask(shape, box, width, height)
            area = mask.sum()
            if area < 16:
                continue
            # New objects are drawn on top: each earlier object must keep MIN_VISIBLE of its pixels.
            ok = True
            for j, (_, _, _, other) in enumerate(placed):
                visible = other & (occupied == j)
                if (visible & ~mask).sum() < MIN_VISIBLE * other.sum():
                    ok = False
                    break
            if ok:
                break
        else:
            continue  # no room: the scene has fewer objects
        n_large += size_word == "large"
        idx = len(placed)
        occupied[mask] = idx
        placed.append((colour, shape, size_word, mask))
        rgb = np.array(COLOURS[colour], dtype=np.float32) + rng.uniform(-18, 18, size=3)
        shade = 1.0 + 0.12 * np.linspace(-1, 1, height, dtype=np.float32) * rng.uniform(-1, 1)  # soft light
        ys = np.nonzero(mask)[0]
        canvas[mask] = rgb[None, :] * shade[ys][:, None]
    canvas += rng.normal(0, 3, size=canvas.shape).astype(np.float32)  # sensor noise over everything
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")
    objects = []
    for j, (colour, shape, size_word, _mask) in enumerate(placed):
        visible = occupied == j
        ys, xs = np.nonzero(visible)
        box = Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        objects.append(WorldObject(shape=shape, colour=colour, size=size_word, box=box, mask=visible))
    return Scene(seed=seed, image=image, objects=objects)
