"""Candidate boxes: GAIC grid anchors, exact-ratio windows, subject-containing windows, de-duplication.

All functions return (N, 4) float64 xyxy arrays with integer-valued edges inside the image.
"""

from __future__ import annotations

import math

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import Box
from intentcrop.core.intent import ratio_label
from intentcrop.errors import InvalidIntentError


def grid_anchors(
    width: int,
    height: int,
    bins: int | None = None,
    max_offset_bins: int | None = None,
    min_area: float | None = None,
    max_aspect_change: float | None = None,
) -> np.ndarray:
    """GAIC-style anchors (Zeng et al. 2019): each side split into `bins`; the left/top edge sits in one of the
    first `max_offset_bins`+1 bin lines and the right/bottom edge in one of the last; anchors keep at least
    `min_area` of the image and an aspect within 1/max_aspect_change..max_aspect_change of the image's.
    An argument left None is read from `defaults.DEFAULTS` (grid_*) when called."""
    options = defaults.DEFAULTS
    bins = options.grid_bins if bins is None else bins
    max_offset_bins = options.grid_max_offset_bins if max_offset_bins is None else max_offset_bins
    min_area = options.grid_min_area if min_area is None else min_area
    max_aspect_change = options.grid_max_aspect_change if max_aspect_change is None else max_aspect_change
    offsets = np.arange(max_offset_bins + 1)
    xs1 = np.round(offsets * width / bins)
    xs2 = np.round(width - offsets * width / bins)
    ys1 = np.round(offsets * height / bins)
    ys2 = np.round(height - offsets * height / bins)
    x1, y1, x2, y2 = (a.ravel() for a in np.meshgrid(xs1, ys1, xs2, ys2, indexing="ij"))
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float64)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    image_aspect = width / height
    aspect_change = (w / np.maximum(h, 1)) / image_aspect
    keep = (w >= 1) & (h >= 1) & (w * h >= min_area * width * height)
    keep &= (aspect_change <= max_aspect_change) & (aspect_change >= 1 / max_aspect_change)
    return boxes[keep]


def ratio_window_size(ratio: float, height_or_width: int, base: str) -> tuple[int, int]:
    """Integer (w, h) with w/h = ratio to the pixel: the shorter side is the integer base and the other
    is rounded, so |w - h*ratio| <= 0.5 and |h - w/ratio| <= 0.5."""
    if base == "h":
        h = int(height_or_width)
        return int(round(h * ratio)), h
    w = int(height_or_width)
    return w, int(round(w / ratio))


def largest_ratio_window(width: int, height: int, ratio: float) -> tuple[int, int]:
    """The largest integer (w, h) of exactly `ratio` that fits inside width x height."""
    if ratio >= 1:  # base on the shorter side (h)
        h = min(height, int(math.floor(width / ratio + 0.5)))
        while h > 0 and int(round(h * ratio)) > width:
            h -= 1
        w, h = ratio_window_size(ratio, h, "h")
    else:
        w = min(width, int(math.floor(height * ratio + 0.5)))
        while w > 0 and int(round(w / ratio)) > height:
            w -= 1
        w, h = ratio_window_size(ratio, w, "w")
    if w < 1 or h < 1:
        raise InvalidIntentError(
            f"aspect ratio {ratio_label(ratio)} is impossible inside a {width}x{height} image "
            "(the crop would be less than one pixel wide or high)"
        )
    return w, h


def _sizes_for_ratio(ratio: float, lo_short: int, hi_short: int, scales: int) -> list[tuple[int, int]]:
    """Window sizes of `ratio` whose shorter side runs from lo_short to hi_short in `scales` steps."""
    base = "h" if ratio >= 1 else "w"
    shorts = np.unique(np.round(np.linspace(lo_short, hi_short, max(scales, 1))).astype(int))
    return [ratio_window_size(ratio, int(s), base) for s in shorts if s >= 1]


def _positions(lo: float, hi: float, count: int) -> np.ndarray:
    if hi <= lo:
        return np.array([round(lo)], dtype=np.float64)
    return np.unique(np.round(np.linspace(lo, hi, count)))


def ratio_windows(
    width: int,
    height: int,
    ratio: float,
    min_scale: float | None = None,
    max_scale: float = 1.0,
    scales: int | None = None,
    positions: int | None = None,
    must_contain: Box | None = None,
    strict: bool = True,
    min_side: int = 1,
) -> np.ndarray:
    """Windows of exactly `ratio` at several sizes (min_scale..max_scale of the largest that fits, and never a
    shorter side than `min_side` px, the crop floor, unless the largest window is itself shorter: the floor wins
    over a max_scale below it) and positions. With `must_contain`, only windows holding that box; if none can (the box is too wide or
    tall for the ratio inside this image) raise InvalidIntentError when strict, else return the largest
    windows that cover as much of the box as possible, centred on it. min_scale, scales and positions left
    None are read from `defaults.DEFAULTS` (min_scale, ratio_scales, ratio_positions) when called."""
    options = defaults.DEFAULTS
    min_scale = options.min_scale if min_scale is None else min_scale
    scales = options.ratio_scales if scales is None else scales
    positions = options.ratio_positions if positions is None else positions
    max_w, max_h = largest_ratio_window(width, height, ratio)
    short_max = max_h if ratio >= 1 else max_w
    short_lo = max(1, int(math.ceil(short_max * min_scale)), min(int(min_side), short_max))
    short_hi = max(short_lo, int(math.floor(short_max * max_scale)))
    if must_contain is not None:
        sub = must_contain.clip(width, height)
        need_w, need_h = math.ceil(sub.x2 - 1e-9) - math.floor(sub.x1 + 1e-9), math.ceil(sub.y2 - 1e-9) - math.floor(sub.y1 + 1e-9)
        need_short = max(need_h, need_w / ratio) if ratio >= 1 else max(need_w, need_h * ratio)
        need_short = int(math.ceil(need_short - 1e-9))
        if need_short > short_max:
            if strict:
                raise InvalidIntentError(
                    f"aspect ratio {ratio_label(ratio)} is impossible: a crop containing the subject "
                    f"{[round(v) for v in sub.to_list()]} at that ratio would need a "
                    f"{'height' if ratio >= 1 else 'width'} of {need_short} px, but the "
                    f"{width}x{height} image allows at most {short_max} px"
                )
            return _centred_on(width, height, max_w, max_h, sub)
        short_lo = max(short_lo, need_short)
        short_hi = max(short_hi, short_lo)
    out = []
    for w, h in _sizes_for_ratio(ratio, short_lo, short_hi, scales):
        if w > width or h > height:
            continue
        x_lo, x_hi, y_lo, y_hi = 0.0, float(width - w), 0.0, float(height - h)
        if must_contain is not None:
            x_lo, x_hi = max(x_lo, math.ceil(sub.x2 - 1e-9) - w), min(x_hi, math.floor(sub.x1 + 1e-9))
            y_lo, y_hi = max(y_lo, math.ceil(sub.y2 - 1e-9) - h), min(y_hi, math.floor(sub.y1 + 1e-9))
            if x_hi < x_lo or y_hi < y_lo:
                continue
        xs = _positions(x_lo, x_hi, positions)
        ys = _positions(y_lo, y_hi, positions)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        gx, gy = gx.ravel(), gy.ravel()
        out.append(np.stack([gx, gy, gx + w, gy + h], axis=1))
    if not out:
        if strict and must_contain is not None:
            raise InvalidIntentError(f"no {ratio_label(ratio)} crop inside the {width}x{height} image contains the subject")
        return _centred_on(width, height, max_w, max_h, must_contain or Box(0, 0, width, height))
    return np.concatenate(out).astype(np.float64)


def floor_size(width: int, height: int, min_side: int, min_scale: float = 0.0,
               ratio: float | None = None) -> tuple[int, int]:
    """The crop floor: the least (w, h) in pixels a crop may have. Free-form (`ratio` None): each side at least
    `min_side` px and `min_scale` of the image's side, but never more than the side. For an asked ratio: the
    window of that ratio whose shorter side is `min_side` px (or the largest window's, if that is shorter);
    min_scale is applied by `ratio_windows` itself, relative to the largest window."""
    min_side = max(1, int(min_side))
    if ratio is None:
        return (min(width, max(min_side, int(math.ceil(min_scale * width - 0.5)))),
                min(height, max(min_side, int(math.ceil(min_scale * height - 0.5)))))
    max_w, max_h = largest_ratio_window(width, height, ratio)
    base = "h" if ratio >= 1 else "w"
    return ratio_window_size(ratio, min(min_side, max_h if base == "h" else max_w), base)


def grow_to(region: Box, width: int, height: int, min_w: float, min_h: float) -> Box:
    """`region` grown about its centre to at least min_w x min_h (each side only where it is smaller), shifted
    to stay inside the width x height image: a sliver of a model's box becomes a region a crop can be about."""
    x1, y1, x2, y2 = region.to_xyxy()

    def grow(lo: float, hi: float, need: float, side: int) -> tuple[float, float]:
        need = min(float(need), float(side))
        if hi - lo >= need:
            return lo, hi
        centre = (lo + hi) / 2
        lo = min(max(centre - need / 2, 0.0), side - need)
        return lo, lo + need

    x1, x2 = grow(x1, x2, min_w, width)
    y1, y2 = grow(y1, y2, min_h, height)
    return Box(x1, y1, x2, y2)


def at_least(boxes: np.ndarray, min_w: float, min_h: float) -> np.ndarray:
    """Which boxes are at least min_w x min_h (half a pixel of rounding allowed)."""
    return ((boxes[:, 2] - boxes[:, 0]) >= min_w - 0.5) & ((boxes[:, 3] - boxes[:, 1]) >= min_h - 0.5)


def _centred_on(width: int, height: int, w: int, h: int, target: Box) -> np.ndarray:
    cx, cy = target.center
    x1 = float(min(max(round(cx - w / 2), 0), width - w))
    y1 = float(min(max(round(cy - h / 2), 0), height - h))
    return np.array([[x1, y1, x1 + w, y1 + h]], dtype=np.float64)


def subject_windows(
    width: int,
    height: int,
    subject: Box,
    margins: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5),
) -> np.ndarray:
    """Free-form windows that contain `subject`: each side pushed out by a margin (share of the subject's
    size, per side independently drawn from `margins`), clamped to the image."""
    sub = subject.clip(width, height)
    m = np.asarray(margins, dtype=np.float64)
    left = np.floor(np.clip(sub.x1 - m * sub.width, 0, width))
    right = np.ceil(np.clip(sub.x2 + m * sub.width, 0, width))
    top = np.floor(np.clip(sub.y1 - m * sub.height, 0, height))
    bottom = np.ceil(np.clip(sub.y2 + m * sub.height, 0, height))
    # Symmetric growth plus one-sided variations keep the count near len(margins)^2 rather than ^4.
    boxes = []
    for i in range(len(m)):
        for j in range(len(m)):
            boxes.append([left[i], top[j], right[i], bottom[j]])
            boxes.append([left[i], top[j], right[j], bottom[i]])
            boxes.append([left[j], top[i], right[i], bottom[j]])
    arr = np.array(boxes, dtype=np.float64)
    keep = (arr[:, 2] - arr[:, 0] >= 1) & (arr[:, 3] - arr[:, 1] >= 1)
    return arr[keep]


def contains_mask(boxes: np.ndarray, region: Box) -> np.ndarray:
    """Which boxes fully contain `region` (to the pixel: edges rounded outward)."""
    return (
        (boxes[:, 0] <= math.floor(region.x1 + 1e-9))
        & (boxes[:, 1] <= math.floor(region.y1 + 1e-9))
        & (boxes[:, 2] >= math.ceil(region.x2 - 1e-9))
        & (boxes[:, 3] >= math.ceil(region.y2 - 1e-9))
    )


def dedupe(boxes: np.ndarray, width: int, height: int, tolerance: float = 0.004) -> np.ndarray:
    """Drop near-duplicates: boxes whose four edges agree within `tolerance` of the image side keep only
    their first occurrence (order is preserved, and surviving boxes are not moved)."""
    if len(boxes) == 0:
        return boxes.reshape(0, 4)
    step = np.array([width, height, width, height], dtype=np.float64) * tolerance
    keys = np.round(boxes / np.maximum(step, 1.0)).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    return boxes[np.sort(first)]
