"""What the user means: text, query image, subject, aspect ratio or exact size, and how many crops."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import Box
from intentcrop.errors import InvalidIntentError

_RATIO_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:/]\s*(\d+(?:\.\d+)?)\s*$")
_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")
_NAMED_RATIOS = {"square": 1.0, "portrait": 4 / 5, "landscape": 16 / 9, "golden": 1.618033988749895}
_MAX_SPEC_LENGTH = 100  # a ratio or size string longer than this is no ratio or size (and int() refuses huge ones)


def _is_number(value: Any) -> bool:
    """A real number as an argument: int, float or a numpy scalar, never a bool, nor an int too large for a float
    (10**400: float() would raise OverflowError)."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            return False
    return True


def _show(value: Any) -> str:
    """repr(value) for a message; an int of more than 4300 digits has none (ValueError), so its size instead."""
    try:
        return repr(value)
    except ValueError:
        return f"<{_type_name(value)} of about {value.bit_length() * 0.30103:.0f} digits>" if isinstance(
            value, int) else f"<{_type_name(value)}>"


def _type_name(value: Any) -> str:
    return type(value).__name__


def check_number(name: str, value: Any) -> float:
    """`value` as a finite float, else an InvalidIntentError naming the argument."""
    if not _is_number(value) or not np.isfinite(float(value)):
        raise InvalidIntentError(f"{name} must be a finite number, got {_type_name(value)} {_show(value)}")
    return float(value)


def check_text(text: Any, max_length: int | None = None) -> None:
    """A text is a string of at most `max_length` characters (options.max_text_length); else InvalidIntentError."""
    if text is None:
        return
    if not isinstance(text, str):
        raise InvalidIntentError(f"text must be a string, got {_type_name(text)} {_show(text):.80}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate ('\ud800', from JSON or a surrogateescape'd argv)
        raise InvalidIntentError(f"text is not valid Unicode: {exc.object[exc.start:exc.end]!r} at character "
                                 f"{exc.start} is half a surrogate pair") from None
    if max_length is not None and len(text) > max_length:
        raise InvalidIntentError(f"text is {len(text)} characters long; the most is {max_length} (option "
                                 "max_text_length): describe what to keep in a sentence or two")


def _check_ratio_bounds(ratio: float, what: str) -> None:
    options = defaults.DEFAULTS
    if not (options.min_ratio <= ratio <= options.max_ratio):
        raise InvalidIntentError(
            f"{what} ({ratio:.4g}) is outside the supported range {options.min_ratio:g}..{options.max_ratio:g}"
        )


def parse_ratio(value: "str | float | int | Sequence[float]") -> float:
    """'16:9', '16/9', '1.777', 'square', 1.5 or (16, 9) -> width/height as a float > 0."""
    if _is_number(value):
        ratio = float(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        if not all(_is_number(v) for v in value):
            raise InvalidIntentError(f"aspect ratio {_show(value)}: give two numbers (width, height)")
        w, h = (float(v) for v in value)
        if w <= 0 or h <= 0:
            raise InvalidIntentError(f"aspect ratio {_show(value)}: both sides must be positive")
        ratio = w / h
    elif isinstance(value, str):
        text = value.strip().lower()
        if len(text) > _MAX_SPEC_LENGTH:
            raise InvalidIntentError(f"unknown aspect ratio {_show(value):.40}...: write it as W:H (16:9)")
        if text in _NAMED_RATIOS:
            return _NAMED_RATIOS[text]
        if text in ("original", "auto"):
            raise InvalidIntentError("'original' needs the image size; resolve it with resolve_ratios()")
        match = _RATIO_RE.match(text)
        if match:
            w, h = float(match.group(1)), float(match.group(2))
            if w <= 0 or h <= 0:
                raise InvalidIntentError(f"aspect ratio {_show(value)}: both sides must be positive")
            ratio = w / h
        else:
            try:
                ratio = float(text)
            except ValueError:
                raise InvalidIntentError(
                    f"unknown aspect ratio {_show(value)}: write it as W:H (16:9), W/H, a number (1.5) or one of "
                    f"{', '.join(sorted(_NAMED_RATIOS))}, original"
                ) from None
    else:
        raise InvalidIntentError(f"unknown aspect ratio {_show(value)} ({_type_name(value)}): give ratio as '16:9', a "
                                 "number or (width, height)")
    if not np.isfinite(ratio) or ratio <= 0:
        raise InvalidIntentError(f"aspect ratio {_show(value)} must be a positive finite number")
    _check_ratio_bounds(ratio, f"aspect ratio {_show(value)}")
    return ratio


def parse_size(value: "str | Sequence[int]") -> tuple[int, int]:
    """'1080x1350' or (1080, 1350) -> (width, height) in pixels. Its ratio has the bounds an aspect ratio has
    (options min_ratio..max_ratio), its area at most options.max_output_pixels."""
    if isinstance(value, str):
        match = _SIZE_RE.match(value) if len(value) <= _MAX_SPEC_LENGTH else None
        if not match:
            raise InvalidIntentError(f"unknown output size {_show(value):.60}: write it as WIDTHxHEIGHT, e.g. 1080x1350")
        w, h = int(match.group(1)), int(match.group(2))
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        if not all(_is_number(v) and np.isfinite(float(v)) and float(v) == int(v) for v in value):
            raise InvalidIntentError(f"output size {_show(value)}: give two whole numbers (width, height)")
        w, h = int(value[0]), int(value[1])
    else:
        raise InvalidIntentError(f"unknown output size {_show(value)} ({_type_name(value)}): give WIDTHxHEIGHT")
    if w <= 0 or h <= 0:
        raise InvalidIntentError(f"output size {_show(value)} must have a positive width and height")
    _check_ratio_bounds(w / h, f"output size {_show(value)} has the aspect ratio {w}:{h}, which")
    limit = defaults.DEFAULTS.max_output_pixels
    if w * h > limit:
        raise InvalidIntentError(f"output size {_show(value)} is larger than {limit} pixels")
    return w, h


def ratio_label(ratio: float) -> str:
    """1.7777 -> '16:9' when a small fraction matches, else '1.778'."""
    frac = Fraction(ratio).limit_denominator(32)
    if abs(float(frac) - ratio) < 1e-3:
        return f"{frac.numerator}:{frac.denominator}"
    return f"{ratio:.3f}"


@dataclass
class Intent:
    """Everything the user asked for besides the image. All fields optional; empty means free-form.

    text:          what to keep, in words ("the woman and the three dogs on the boat").
    query_image:   a picture of the thing to keep (anything `load_image` accepts).
    subject:       a Box, an (x1, y1, x2, y2) tuple in image pixels, or a mask (array / image) that must stay in.
    ratios:        one or several aspect ratios (width/height) to produce; each crop meets one exactly.
    size:          exact output size (width, height); implies its ratio, the cropped image is resized to it.
    k:             how many crops to return per ratio (None: the call's options, `Defaults.k`).
    min_scale, max_scale: crop side length bounds, as fractions of the image's side (min_scale None: the
                   default for the intent, see CropContext.min_scale).
    padding:       extra margin around a subject, as a fraction of the subject's size (None: chosen by scorers).
    """

    text: str | None = None
    query_image: Any = None
    subject: Any = None
    ratios: list[float] | None = None
    size: tuple[int, int] | None = None
    k: int | None = None
    min_scale: float | None = None
    max_scale: float = 1.0
    padding: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_text(self.text)
        if isinstance(self.subject, (tuple, list)) and not (
                len(self.subject) == 4 and all(_is_number(v) and np.isfinite(float(v)) for v in self.subject)):
            raise InvalidIntentError(f"subject {_show(self.subject):.80}: a box is four finite numbers x1, y1, x2, y2")
        if self.text is not None:
            self.text = self.text.strip() or None
        if self.size is not None:
            self.size = parse_size(self.size)
        if self.ratios is not None:
            if isinstance(self.ratios, (str, int, float, np.integer, np.floating)):
                self.ratios = [self.ratios]
            elif not isinstance(self.ratios, (list, tuple)):
                raise InvalidIntentError(f"ratio must be a ratio ('16:9', 1.5, (16, 9)) or a list of them, got "
                                         f"{_type_name(self.ratios)} {_show(self.ratios):.80}")
            self.ratios = [r if isinstance(r, str) and r.strip().lower() in ("original", "auto") else parse_ratio(r)
                           for r in self.ratios] or None
        if self.size is not None:
            size_ratio = self.size[0] / self.size[1]
            if self.ratios and any(isinstance(r, float) and abs(r - size_ratio) > 1e-9 for r in self.ratios):
                raise InvalidIntentError(
                    f"size {self.size[0]}x{self.size[1]} fixes the ratio at {ratio_label(size_ratio)}; "
                    "do not also ask for a different ratio"
                )
            self.ratios = [size_ratio]
        if self.k is not None and (not isinstance(self.k, (int, np.integer)) or isinstance(self.k, bool)
                                   or self.k < 1):
            raise InvalidIntentError(f"k must be a positive integer, got {_type_name(self.k)} {_show(self.k)}")
        if self.min_scale is not None:
            self.min_scale = check_number("min_scale", self.min_scale)
        self.max_scale = check_number("max_scale", self.max_scale)
        if self.padding is not None:
            self.padding = check_number("padding", self.padding)
        if not isinstance(self.extras, dict):
            raise InvalidIntentError(f"extras must be a dict, got {_type_name(self.extras)}")
        if not (0 < (self.min_scale if self.min_scale is not None else min(defaults.DEFAULTS.grounded_min_scale, self.max_scale))
                <= self.max_scale <= 1):
            raise InvalidIntentError(
                f"need 0 < min_scale <= max_scale <= 1, got min_scale={self.min_scale}, max_scale={self.max_scale}"
            )
        if self.padding is not None and not (0 <= self.padding <= 5):
            raise InvalidIntentError(f"padding must be between 0 and 5 (a fraction of the subject), got {self.padding}")

    @property
    def is_free_form(self) -> bool:
        return self.text is None and self.query_image is None and self.subject is None

    def resolve_ratios(self, width: int, height: int) -> list[float] | None:
        """The concrete ratios for one image ('original' becomes the image's own ratio)."""
        if not self.ratios:
            return None
        out: list[float] = []
        for r in self.ratios:
            value = width / height if isinstance(r, str) else float(r)
            if all(abs(value - o) > 1e-9 for o in out):
                out.append(value)
        return out

    def subject_box(self, width: int, height: int) -> Box | None:
        """The subject as a box in image pixels (a mask becomes the box around its non-zero pixels)."""
        if self.subject is None:
            return None
        return subject_to_box(self.subject, width, height)


def subject_to_box(subject: Any, width: int, height: int) -> Box:
    if isinstance(subject, Box):
        box = subject
    elif isinstance(subject, (tuple, list)) and len(subject) == 4 and all(
        isinstance(v, (int, float, np.integer, np.floating)) for v in subject
    ):
        if not all(_is_number(v) and np.isfinite(float(v)) for v in subject):
            raise InvalidIntentError(f"subject box {_show(list(subject))}: give four finite numbers x1, y1, x2, y2")
        box = Box.from_xyxy(subject)
    else:
        mask = _as_mask(subject)
        if mask.shape != (height, width):
            raise InvalidIntentError(
                f"subject mask is {mask.shape[1]}x{mask.shape[0]} but the image is {width}x{height}; "
                "the mask must have the image's size"
            )
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            raise InvalidIntentError("subject mask is empty: no pixel is set")
        box = Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    if box.width <= 0 or box.height <= 0:
        raise InvalidIntentError(f"subject box {box.to_list()} has no area")
    if box.x2 <= 0 or box.y2 <= 0 or box.x1 >= width or box.y1 >= height:
        raise InvalidIntentError(f"subject box {box.to_list()} lies outside the {width}x{height} image")
    return box.clip(width, height)


def _as_mask(subject: Any) -> np.ndarray:
    from PIL import Image

    if isinstance(subject, Image.Image):
        arr = np.asarray(subject.convert("L"))
    elif isinstance(subject, np.ndarray):
        arr = subject
        if arr.ndim == 3:
            arr = arr.max(axis=2)
    else:
        from intentcrop.io.image import load_image

        arr = np.asarray(load_image(subject, mode="L"))
    if arr.ndim != 2:
        raise InvalidIntentError(f"subject mask must be 2-D, got shape {arr.shape}")
    return arr > (127 if arr.dtype == np.uint8 and arr.max() > 1 else 0)
