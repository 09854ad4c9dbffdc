"""Read crops out of a VLM's free-text answer, tolerantly.

What a VLM writes varies: "(0.71, 120, 80, 880, 940)", "[120,80,880,940]", "x1=120 y1=80 x2=880 y2=940",
"{s: 0.7; 0.12 0.08 0.88 0.94}", several tuples in prose, a code block. `parse_crops` finds every run of four
(x1, y1, x2, y2) or five (s, x1, y1, x2, y2) numbers, wherever it is; decides per answer which scale the
coordinates are on (all within 0..1: fractions; any above 1000: pixels; else the 1..1000 grid the prompt asks
for); puts swapped corners in order; clips to the image; drops boxes with no area; merges duplicates (IoU at or
above `DUPLICATE_IOU`, keeping the higher score); and raises `VLMAnswerError` (an IntentCropError) naming the
answer when nothing usable is in it -- never any other exception.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from intentcrop.core.box import Box
from intentcrop.errors import StageFailedError

MAX_ANSWER_CHARS = 20_000  # a longer answer is cut: a crop tuple is ~30 characters, a model's ramble unbounded
MAX_CROPS = 64  # more tuples than this in one answer are not proposals but noise
DUPLICATE_IOU = 0.95
MIN_SIDE_PX = 1.0  # a clipped box thinner than this has no area to crop

# a number: optional sign, digits with an optional fraction, or a bare fraction; no exponents (a VLM does not
# write 1e3 for a coordinate, and "1e400" would be infinite); a digit right after a letter is a label's
# ("x1="), not a number
_NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-+]?(?:\d{1,12}(?:\.\d{0,12})?|\.\d{1,12})(?![\d])")
# what may stand between two numbers of one tuple: separators, and an optional short label such as "y1=" or "s:"
_GAP = re.compile(r"^[\s,;/|]*(?:[A-Za-z_]{1,8}\d?\s*[:=]\s*)?[\s,;/|]*$")
_OPEN = "([{<"
_CLOSE = ")]}>"


class VLMAnswerError(StageFailedError):
    """A VLM's answer holds no crop this parser can read."""


@dataclass(frozen=True)
class ParsedCrop:
    box: Box  # pixels, inside the image, x1 < x2 and y1 < y2
    score: float | None  # the tuple's s, when it had one


def _number_runs(text: str) -> list[tuple[list[float], bool]]:
    """Runs of numbers joined only by separators/labels; each with whether a bracket closed it."""
    runs: list[tuple[list[float], bool]] = []
    current: list[float] = []
    last_end = 0
    for match in _NUMBER.finditer(text):
        gap = text[last_end:match.start()]
        if current and not _GAP.match(gap):
            runs.append((current, any(c in _CLOSE for c in gap)))
            current = []
        try:
            value = float(match.group())
        except ValueError:  # "+" or "." alone cannot match the pattern; kept safe anyway
            continue
        if not math.isfinite(value):
            continue
        current.append(value)
        last_end = match.end()
    if current:
        runs.append((current, any(c in _CLOSE for c in text[last_end:last_end + 3])))
    return runs


def _tuples(text: str) -> list[tuple[float | None, float, float, float, float]]:
    out: list[tuple[float | None, float, float, float, float]] = []
    for run, _closed in _number_runs(text):
        n = len(run)
        if n == 4:
            out.append((None, *run))
        elif n == 5:
            out.append((run[0], *run[1:]))
        elif n > 5 and n % 5 == 0:  # tuples written one after another without brackets
            out += [(run[i], *run[i + 1:i + 5]) for i in range(0, n, 5)]
        elif n > 5 and n % 4 == 0:
            out += [(None, *run[i:i + 4]) for i in range(0, n, 4)]
        if len(out) >= MAX_CROPS:
            break
    return out[:MAX_CROPS]


def coordinate_scale(values: list[float]) -> str:
    """'fraction' (all within 0..1 and at least one not a whole number, or all 0/1), 'pixels' (any above 1000),
    else 'grid' (the 1..1000 scale the prompt asks for)."""
    if not values:
        return "grid"
    top = max(abs(v) for v in values)
    if top <= 1.0:
        return "fraction"
    if top > 1000.0:
        return "pixels"
    return "grid"


def _to_box(coords: tuple[float, float, float, float], scale: str, width: int, height: int) -> Box:
    x1, y1, x2, y2 = coords
    x1, x2 = sorted((x1, x2))
    y1, y2 = sorted((y1, y2))
    if scale == "fraction":
        box = Box.from_normalized((x1, y1, x2, y2), width, height)
    elif scale == "pixels":
        box = Box(x1, y1, x2, y2)
    else:
        box = Box.from_grid((x1, y1, x2, y2), width, height)
    return box.clip(width, height)


def parse_crops(answer: object, width: int, height: int) -> list[ParsedCrop]:
    """Every crop in `answer` (see the module docstring), in the order written, duplicates merged."""
    if not isinstance(answer, str):
        raise VLMAnswerError(f"the VLM's answer is not text ({type(answer).__name__})")
    if width < 1 or height < 1:
        raise VLMAnswerError(f"cannot place crops in a {width}x{height} image")
    text = answer[:MAX_ANSWER_CHARS]
    tuples = _tuples(text)
    if not tuples:
        raise VLMAnswerError(f"no crop (x1, y1, x2, y2) or (s, x1, y1, x2, y2) in the VLM's answer: "
                             f"{_snippet(answer)}")
    scale = coordinate_scale([v for t in tuples for v in t[1:]])
    crops: list[ParsedCrop] = []
    for s, *coords in tuples:
        box = _to_box(tuple(coords), scale, width, height)
        if box.width < MIN_SIDE_PX or box.height < MIN_SIDE_PX:
            continue
        for i, kept in enumerate(crops):
            if kept.box.iou(box) >= DUPLICATE_IOU:
                if s is not None and (kept.score is None or s > kept.score):
                    crops[i] = ParsedCrop(kept.box, s)
                break
        else:
            crops.append(ParsedCrop(box, s))
    if not crops:
        raise VLMAnswerError(f"every crop in the VLM's answer has no area inside the {width}x{height} image: "
                             f"{_snippet(answer)}")
    return crops


def _snippet(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[:limit] + "...")
