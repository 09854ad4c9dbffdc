"""One box type for every stage: float x1, y1, x2, y2 in original (upright) image pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from intentcrop.errors import InvalidIntentError

# VLM prompts (Cropper) write coordinates on an integer grid 1..1000.
GRID_MIN, GRID_MAX = 1, 1000


@dataclass(frozen=True)
class Box:
    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        values = (self.x1, self.y1, self.x2, self.y2)
        if not all(np.isfinite(v) for v in values):
            raise InvalidIntentError(f"box has a non-finite coordinate: {values}")
        if self.x2 < self.x1 or self.y2 < self.y1:
            raise InvalidIntentError(f"box has x2 < x1 or y2 < y1: {values}")

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_xyxy(cls, xyxy: Sequence[float]) -> "Box":
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        return cls(x1, y1, x2, y2)

    @classmethod
    def from_xywh(cls, xywh: Sequence[float]) -> "Box":
        x, y, w, h = (float(v) for v in xywh)
        return cls(x, y, x + w, y + h)

    @classmethod
    def from_cxcywh(cls, cxcywh: Sequence[float]) -> "Box":
        cx, cy, w, h = (float(v) for v in cxcywh)
        return cls(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

    @classmethod
    def from_normalized(cls, xyxy: Sequence[float], width: float, height: float) -> "Box":
        """From fractions 0..1 of the image width and height."""
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        return cls(x1 * width, y1 * height, x2 * width, y2 * height)

    @classmethod
    def from_grid(cls, xyxy: Sequence[float], width: float, height: float) -> "Box":
        """From the 1..1000 integer grid used in VLM prompts (Cropper): 1 is the left/top edge, 1000 the right/bottom."""
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        span = GRID_MAX - GRID_MIN
        to_frac = lambda v: (min(max(v, GRID_MIN), GRID_MAX) - GRID_MIN) / span  # noqa: E731
        return cls.from_normalized((to_frac(x1), to_frac(y1), to_frac(x2), to_frac(y2)), width, height)

    # -- conversions --------------------------------------------------------------------------
    def to_xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def to_xywh(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.width, self.height)

    def to_cxcywh(self) -> tuple[float, float, float, float]:
        cx, cy = self.center
        return (cx, cy, self.width, self.height)

    def to_normalized(self, width: float, height: float) -> tuple[float, float, float, float]:
        return (self.x1 / width, self.y1 / height, self.x2 / width, self.y2 / height)

    def to_grid(self, width: float, height: float) -> tuple[int, int, int, int]:
        span = GRID_MAX - GRID_MIN
        nx1, ny1, nx2, ny2 = self.to_normalized(width, height)
        to_grid = lambda f: int(round(GRID_MIN + min(max(f, 0.0), 1.0) * span))  # noqa: E731
        return (to_grid(nx1), to_grid(ny1), to_grid(nx2), to_grid(ny2))

    def to_list(self) -> list[float]:
        return [float(self.x1), float(self.y1), float(self.x2), float(self.y2)]

    def to_array(self) -> np.ndarray:
        return np.array(self.to_xyxy(), dtype=np.float64)

    # -- geometry -----------------------------------------------------------------------------
    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def aspect(self) -> float:
        """width / height; inf for a zero-height box."""
        return self.width / self.height if self.height > 0 else float("inf")

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    def intersection(self, other: "Box") -> float:
        w = min(self.x2, other.x2) - max(self.x1, other.x1)
        h = min(self.y2, other.y2) - max(self.y1, other.y1)
        return max(w, 0.0) * max(h, 0.0)

    def iou(self, other: "Box") -> float:
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def contains(self, other: "Box", tolerance: float = 1e-6) -> bool:
        return (
            self.x1 <= other.x1 + tolerance
            and self.y1 <= other.y1 + tolerance
            and self.x2 >= other.x2 - tolerance
            and self.y2 >= other.y2 - tolerance
        )

    def union(self, other: "Box") -> "Box":
        return Box(min(self.x1, other.x1), min(self.y1, other.y1), max(self.x2, other.x2), max(self.y2, other.y2))

    def clip(self, width: float, height: float) -> "Box":
        x1, x2 = sorted((min(max(self.x1, 0.0), width), min(max(self.x2, 0.0), width)))
        y1, y2 = sorted((min(max(self.y1, 0.0), height), min(max(self.y2, 0.0), height)))
        return Box(x1, y1, x2, y2)

    def expand(self, fraction: float) -> "Box":
        """Grow each side by `fraction` of the box's own size (negative shrinks)."""
        dx, dy = self.width * fraction, self.height * fraction
        return Box(self.x1 - dx, self.y1 - dy, self.x2 + dx, self.y2 + dy)

    def scale(self, sx: float, sy: float | None = None) -> "Box":
        """Map into another resolution: multiply x by sx and y by sy."""
        sy = sx if sy is None else sy
        return Box(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy)

    def translate(self, dx: float, dy: float) -> "Box":
        return Box(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)

    def round(self) -> "Box":
        """Integer pixel edges (PIL's crop convention: x2, y2 exclusive)."""
        return Box(float(round(self.x1)), float(round(self.y1)), float(round(self.x2)), float(round(self.y2)))

    def to_pixels(self, ratio: float | None = None, width: float | None = None,
                  height: float | None = None) -> "Box":
        """Integer pixel edges; with a ratio, exact to the pixel as the grid's windows are (the shorter side an
        integer, the other its nearest integer at the ratio), about the box's centre and inside width x height.
        Rounding each edge of a 63.4x47.6 box at 4:3 would give 63x48; a box already exact is only rounded."""
        rounded = self.round()
        if ratio is None:
            return rounded
        landscape = ratio >= 1
        short, long_ = (rounded.height, rounded.width) if landscape else (rounded.width, rounded.height)
        if long_ == round(short * (ratio if landscape else 1 / ratio)):
            return rounded
        width = float("inf") if width is None else float(width)
        height = float("inf") if height is None else float(height)
        short = max(1, round(self.height if landscape else self.width))
        while True:  # the largest short side <= the box's whose window fits the image
            w, h = (round(short * ratio), short) if landscape else (short, round(short / ratio))
            if (w <= width and h <= height) or short == 1:
                break
            short -= 1
        cx, cy = (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2
        left = max(0.0, min(float(round(cx - w / 2)), width - w))
        top = max(0.0, min(float(round(cy - h / 2)), height - h))
        return Box(left, top, left + w, top + h)

    def as_int_tuple(self) -> tuple[int, int, int, int]:
        return (int(round(self.x1)), int(round(self.y1)), int(round(self.x2)), int(round(self.y2)))

    @staticmethod
    def union_all(boxes: Iterable["Box"]) -> "Box":
        boxes = list(boxes)
        if not boxes:
            raise ValueError("union of no boxes")
        out = boxes[0]
        for b in boxes[1:]:
            out = out.union(b)
        return out


# -- vectorised helpers over (N, 4) xyxy arrays ------------------------------------------------


def as_xyxy_array(boxes: "Sequence[Box] | np.ndarray") -> np.ndarray:
    if isinstance(boxes, np.ndarray):
        arr = np.asarray(boxes, dtype=np.float64)
    else:
        arr = np.array([b.to_xyxy() for b in boxes], dtype=np.float64)
    return arr.reshape(-1, 4)


def box_area(xyxy: np.ndarray) -> np.ndarray:
    xyxy = np.asarray(xyxy, dtype=np.float64)
    return np.clip(xyxy[..., 2] - xyxy[..., 0], 0, None) * np.clip(xyxy[..., 3] - xyxy[..., 1], 0, None)


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) between two xyxy arrays."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def containment(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Share of each `inner` box's area that lies inside each `outer` box: matrix (len(inner), len(outer))."""
    inner = np.asarray(inner, dtype=np.float64).reshape(-1, 4)
    outer = np.asarray(outer, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(inner[:, None, :2], outer[None, :, :2])
    rb = np.minimum(inner[:, None, 2:], outer[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area = box_area(inner)[:, None]
    return np.where(area > 0, inter / np.where(area > 0, area, 1), 1.0)
