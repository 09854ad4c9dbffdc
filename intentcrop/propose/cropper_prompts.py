"""Cropper's prompts (Lee et al., 2024, arXiv 2408.07790), all in one place, as templates.

A prompt is a list of parts, each a text string or a PIL image, in the order the VLM reads them; the clients
(intentcrop.models.vlm) turn it into one user message of interleaved text and image parts.

Wording: the task description and the refinement request are the paper's, word for word as quoted in its
method section (Sec. 3, Fig. 3): "Localize the aesthetic part of the image. (s, x1, y1, x2, y2) represents the
region. x1 and x2 are the left and right most positions, normalized into 1 to 1000 ..." and, per refined
candidate, "Score is {score}", then "Propose similar crop that has high score. The region should be represented
by (s, x1, y1, x2, y2)." The sentences that name the subject and the aspect ratio, and the text-conditioned
line (our extension), follow the same style; docs/methods.md says which lines are ours.

Coordinates are always on the paper's 1..1000 grid (`Box.to_grid` / `Box.from_grid`), x to the right, y down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence, Union

from PIL import Image

from intentcrop.core.box import Box

Part = Union[str, Image.Image]

# -- the templates ------------------------------------------------------------------------------------------
# The paper's initial prompt: the task, the tuple format and the grid (word for word).
TASK = ("Localize the aesthetic part of the image. (s, x1, y1, x2, y2) represents the region. x1 and x2 are the "
        "left and right most positions, normalized into 1 to 1000, where 1 is the left and 1000 is the right. y1 "
        "and y2 are the top and bottom positions, normalized into 1 to 1000 where 1 is the top and 1000 is the "
        "bottom. s is MOS score.")
EXAMPLES_INTRO = "We provide several images here."
# per-task additions, in the paper's style: the subject by its mask centre, the asked aspect ratio, and (ours)
# the text the crop must be about
SUBJECT = "The subject of the image is at ({cx}, {cy})."
RATIO = "The aspect ratio of the region is {ratio}."
TEXT = "The region should contain {text}."
EXAMPLE_ANSWER = "{tuples}"
QUERY = "Output:"
# the paper's refinement prompt: each candidate crop shown with its score, then the request (word for word)
REFINE_CANDIDATE = "Score is {score}"
REFINE_REQUEST = "Propose similar crop that has high score. The region should be represented by (s, x1, y1, x2, y2)."

TUPLE = "({s}, {x1}, {y1}, {x2}, {y2})"


@dataclass(frozen=True)
class Example:
    """One in-context example: its image, its T crops (pixels) with their scores, and the per-task cues."""

    image: Image.Image
    crops: Sequence[Box]
    scores: Sequence[float]
    subject_center: tuple[float, float] | None = None  # pixels; subject-aware examples
    ratio: float | None = None  # ratio-aware examples (w / h)
    text: str | None = None  # text-conditioned examples (ours)


@dataclass(frozen=True)
class Query:
    image: Image.Image
    subject_center: tuple[float, float] | None = None
    ratio: float | None = None
    text: str | None = None
    examples: Sequence[Example] = field(default_factory=tuple)


def format_score(score: float) -> str:
    return f"{float(score):.2f}"


def format_tuple(box: Box, score: float, width: int, height: int) -> str:
    x1, y1, x2, y2 = box.to_grid(width, height)
    return TUPLE.format(s=format_score(score), x1=x1, y1=y1, x2=x2, y2=y2)


def format_ratio(ratio: float) -> str:
    """A ratio as w:h in small integers where one fits (4:3, 16:9), else its decimal value."""
    from fractions import Fraction

    frac = Fraction(ratio).limit_denominator(20)
    if abs(float(frac) - ratio) < 1e-3:
        return f"{frac.numerator}:{frac.denominator}"
    return f"{ratio:.3f}"


def _grid_point(point: tuple[float, float], width: int, height: int) -> tuple[int, int]:
    x, y = point
    gx1, gy1, _, _ = Box(x, y, x + 1e-6, y + 1e-6).to_grid(width, height)
    return gx1, gy1


def _cues(width: int, height: int, subject_center, ratio, text) -> list[str]:
    cues = []
    if subject_center is not None:
        cx, cy = _grid_point(subject_center, width, height)
        cues.append(SUBJECT.format(cx=cx, cy=cy))
    if ratio is not None:
        cues.append(RATIO.format(ratio=format_ratio(ratio)))
    if text:
        cues.append(TEXT.format(text=text))
    return cues


def initial_prompt(query: Query) -> list[Part]:
    """The paper's initial prompt: the task, then each example image with its cues and its tuples, then the
    query image with its cues. With no examples (zero-shot) the examples' introduction is left out."""
    parts: list[Part] = [TASK]
    if query.examples:
        parts.append(EXAMPLES_INTRO)
    for ex in query.examples:
        w, h = ex.image.size
        parts.append(ex.image)
        parts += _cues(w, h, ex.subject_center, ex.ratio, ex.text)
        parts.append(EXAMPLE_ANSWER.format(
            tuples=", ".join(format_tuple(b, s, w, h) for b, s in zip(ex.crops, ex.scores))))
    w, h = query.image.size
    parts.append(query.image)
    parts += _cues(w, h, query.subject_center, query.ratio, query.text)
    parts.append(QUERY)
    return parts


def refinement_prompt(query: Query, crops: Sequence[Box], scores: Sequence[float]) -> list[Part]:
    """The paper's refinement prompt: the initial prompt's context, then each candidate crop as an image with
    "Score is {score}", then the request for a similar crop with a high score."""
    parts = initial_prompt(query)[:-1]  # the context without the closing "Output:"
    for box, score in zip(crops, scores):
        parts.append(query.image.crop(tuple(int(round(v)) for v in box.clip(*query.image.size).to_xyxy())))
        parts.append(REFINE_CANDIDATE.format(score=format_score(score)))
    parts.append(REFINE_REQUEST)
    return parts


def prompt_text(parts: Sequence[Part], image_token: str = "<image>") -> str:
    """The prompt as text with each image as `image_token` (for logs, and for training a model on it)."""
    return "\n".join(image_token if isinstance(p, Image.Image) else p for p in parts)


def prompt_images(parts: Sequence[Part]) -> list[Image.Image]:
    return [p for p in parts if isinstance(p, Image.Image)]
