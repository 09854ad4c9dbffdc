"""The words of the world: shapes x colours x sizes, and how they are written in referring texts.

Kept small on purpose: tiny vision-language models trained on two CPU cores must learn every
combination, and each word must be visually unambiguous (no 'orange' between red and yellow).
"""

from __future__ import annotations

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross")
PLURALS: dict[str, str] = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars",
                           "cross": "crosses"}
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "green": (35, 160, 55),
    "blue": (40, 75, 215),
    "yellow": (240, 205, 30),
    "purple": (145, 55, 185),
}
# Object side as a share of the image's short side; the gap between the two keeps 'small' and 'large' clear.
SIZES: dict[str, tuple[float, float]] = {"small": (0.15, 0.19), "large": (0.27, 0.33)}
SIZE_SYNONYMS: dict[str, str] = {"big": "large"}
NUMBERS: dict[int, str] = {1: "one", 2: "two", 3: "three", 4: "four"}

# Templates the grounders may see: bare noun phrases (spaCy chunks), with articles, or CLIP-style prompts.
SINGULAR_TEMPLATES: tuple[str, ...] = ("{}", "the {}", "a {}", "a photo of a {}", "an image of the {}")
PLURAL_TEMPLATES: tuple[str, ...] = ("{}", "the {}", "{n} {}", "the {n} {}", "a photo of {n} {}")
FILLER_WORDS: tuple[str, ...] = ("the", "a", "an", "and", "photo", "of", "image", "on", "left", "right", "top",
                                 "bottom", "crop", "to", "keep", "with", "in", "thing", "object", "objects",
                                 "shape", "shapes", "one")


def phrase(colour: str | None, shape: str | None, size: str | None = None, plural: bool = False) -> str:
    """'small red circle', 'red circles', 'circle', 'red thing' ... (attribute order as English puts it)."""
    noun = shape if shape is not None else "thing"
    if plural:
        noun = PLURALS.get(noun, noun + "s")
    return " ".join(w for w in (size, colour, noun) if w)


def all_words() -> list[str]:
    """Every word a world text can contain, for the tokenizer's vocabulary."""
    words = list(SHAPES) + list(PLURALS.values()) + list(COLOURS) + list(SIZES) + list(SIZE_SYNONYMS)
    words += list(NUMBERS.values()) + list(FILLER_WORDS) + ["things"]
    # Appended after the original words so that their token ids stay what the committed models were trained on;
    # imported here, not at module level, so cropper_vlm's vocabulary scan of this module is unchanged.
    from intentcrop.world.composition import COMPOSITION_WORDS

    words += list(COMPOSITION_WORDS)
    seen: dict[str, None] = {}
    for w in words:
        seen.setdefault(w, None)
    return list(seen)
