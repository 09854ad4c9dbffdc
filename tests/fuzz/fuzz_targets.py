"""Fuzz targets shared by the hypothesis harnesses (tests/fuzz/) and the campaign runner
(benchmarks/fuzz_campaign.py): each target calls one intentcrop entry point on arbitrary input, and only
IntentCropError (InvalidIntentError, ImageLoadError, ...) may escape; anything else is a finding."""

from __future__ import annotations

import io
import json
import random
import string
import warnings
from pathlib import Path
from typing import Any, Callable

from PIL import Image

import intentcrop
from intentcrop.api import make_intent
from intentcrop.cli.crop_cmd import _parse_subject, parse_options
from intentcrop.core.intent import check_text, parse_ratio, parse_size, subject_to_box
from intentcrop.defaults import DEFAULTS
from intentcrop.errors import IntentCropError
from intentcrop.ground import phrases
from intentcrop.io.image import load_image, open_image

CORPUS = Path(__file__).resolve().parent.parent / "hostile" / "corpus"


# --- seeds -------------------------------------------------------------------------------------------------

def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def generated_seeds() -> dict[str, bytes]:
    """Small valid images in every format the loader accepts."""
    rgb = Image.new("RGB", (24, 16), (200, 40, 10))
    rgb.paste((10, 200, 40), (4, 4, 12, 12))
    rgba = rgb.convert("RGBA")
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    pal = rgb.convert("P")
    return {
        "seed.jpg": _encode(rgb, "JPEG", quality=80),
        "seed-progressive.jpg": _encode(rgb, "JPEG", quality=60, progressive=True),
        "seed.png": _encode(rgb, "PNG"),
        "seed-rgba.png": _encode(rgba, "PNG"),
        "seed-p.png": _encode(pal, "PNG"),
        "seed-l16.png": _encode(rgb.convert("I;16"), "PNG"),
        "seed.webp": _encode(rgb, "WEBP", quality=70),
        "seed-lossless.webp": _encode(rgba, "WEBP", lossless=True),
        "seed.gif": _encode(pal, "GIF"),
        "seed-anim.gif": _encode(pal, "GIF", save_all=True, append_images=[rgb.convert("P")], duration=50),
        "seed.tif": _encode(rgb, "TIFF"),
        "seed-lzw.tif": _encode(rgba, "TIFF", compression="tiff_lzw"),
        "seed.bmp": _encode(rgb, "BMP"),
        "seed-p.bmp": _encode(pal, "BMP"),
        "seed.ico": _encode(rgb, "ICO", sizes=[(16, 16)]),
    }


def image_seeds() -> list[bytes]:
    """The hostile corpus (every file, bombs and disguises included) plus the generated images."""
    seeds = [p.read_bytes() for p in sorted(CORPUS.iterdir()) if p.is_file()] if CORPUS.is_dir() else []
    return seeds + list(generated_seeds().values())


# --- mutation ----------------------------------------------------------------------------------------------

_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def mutate_bytes(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """One to four byte-level mutations: flips, truncation, splice with another seed, interesting integers
    written over header fields, insert/delete/duplicate runs."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        n = len(buf)
        if n == 0:
            buf += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            continue
        if op == 0:  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(n)
                buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # random bytes, mostly in the header
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(min(n, 64) if rng.random() < 0.6 else n)
                buf[i] = rng.randrange(256)
        elif op == 2:  # truncation
            del buf[rng.randrange(n):]
        elif op == 3:  # splice with another seed
            other = rng.choice(pool)
            cut = rng.randrange(n)
            start = rng.randrange(len(other)) if other else 0
            buf = buf[:cut] + other[start:start + rng.randint(1, 4096)]
        elif op == 4:  # an interesting integer over a header field, either byte order
            value = rng.choice(_INTERESTING)
            width = rng.choice((1, 2, 4))
            i = rng.randrange(min(n, 128))
            raw = (value & ((1 << (8 * width)) - 1)).to_bytes(width, rng.choice(("big", "little")))
            buf[i:i + width] = raw
        elif op == 5:  # delete a run
            i = rng.randrange(n)
            del buf[i:i + rng.randint(1, 64)]
        elif op == 6:  # duplicate a run
            i = rng.randrange(n)
            buf[i:i] = buf[i:i + rng.randint(1, 256)]
        else:  # insert random bytes
            i = rng.randrange(n + 1)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
    return bytes(buf[:1 << 20])


_WORDS = ["the", "a", "an", "dog", "red", "cat", "car", "left", "right", "of", "above", "below", "on", "in",
          "top", "bottom", "corner", "picture", "image", "and", "or", "leftmost", "upper", "lower", "near",
          "to", "side", "woman", "three", "big", "small", "next", "under", "over", "with", "photo"]
_RATIO_BITS = ["16", "9", ":", "/", ".", "x", "X", "×", " ", "-", "e", "1", "0", "inf", "nan", "square",
               "original", "auto", "golden", "1e308", "\t", "٣", "１", "²", "+", "_", ",", "1" * 120]


def random_text(rng: random.Random, max_len: int = 80) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 12)))
    if kind == 1:
        return "".join(rng.choice(string.printable + "\x00") for _ in range(rng.randint(0, max_len)))
    if kind == 2:
        return "".join(chr(rng.choice((rng.randrange(0x20, 0x7F), rng.randrange(0x80, 0x3000),
                                       rng.randrange(0xD800, 0xE000), rng.randrange(0x10000, 0x10FFFF))))
                       for _ in range(rng.randint(0, max_len)))
    words = [rng.choice(_WORDS) for _ in range(rng.randint(0, 10))]
    for _ in range(rng.randint(0, 3)):  # odd whitespace and punctuation between words
        if words:
            words[rng.randrange(len(words))] += rng.choice(["\n", "\t", ",", ".", "\u00a0", "  ", "-", "'s"])
    return " ".join(words)


def random_spec(rng: random.Random) -> str:
    return "".join(rng.choice(_RATIO_BITS) for _ in range(rng.randint(0, 8)))


def random_number(rng: random.Random) -> Any:
    import numpy as np

    return rng.choice([0, 1, -1, 2, 0.5, 1e-300, 1e308, float("inf"), float("-inf"), float("nan"), True, False,
                       10 ** 30, -(10 ** 30), 10 ** 400, -(10 ** 400), 10 ** 5000, rng.randint(-10 ** 6, 10 ** 6), rng.uniform(-10, 10),
                       np.int64(3), np.float32(0.5), np.float64("nan"), np.uint8(255), np.bool_(True)])


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON-like value (and a few non-JSON ones: tuples, bytes, None, numpy scalars, objects)."""
    kind = rng.randrange(10 if depth < 2 else 7)
    if kind == 0:
        return None
    if kind in (1, 2):
        return random_number(rng)
    if kind == 3:
        return random_text(rng, 20)
    if kind == 4:
        return random_spec(rng)
    if kind == 5:
        return rng.choice([b"16:9", object(), (), [], {}, Ellipsis, 1j, frozenset([1])])
    if kind == 6:
        return rng.choice(["attention", "roi_align", "16:9", "1080x1350", "0,0,10,10"])
    if kind == 7:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind == 8:
        return tuple(random_value(rng, depth + 1) for _ in range(rng.randint(0, 5)))
    return {random_key(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


_OPTION_NAMES = list(DEFAULTS.to_dict())
_GROUNDING_NAMES = list(DEFAULTS.to_dict()["grounding"])


def random_key(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    if kind <= 1:
        return rng.choice(_OPTION_NAMES)
    if kind == 2:
        return "grounding." + rng.choice(_GROUNDING_NAMES + ["", "x", "a.b"])
    if kind == 3:
        return rng.choice(_GROUNDING_NAMES)
    if kind == 4:
        return random_text(rng, 12)
    return rng.choice([1, None, 2.5, ("k",), True, "", ".", "..", "grounding", "grounding.", ".k"])


def random_options(rng: random.Random) -> dict:
    return {random_key(rng): random_value(rng) for _ in range(rng.randint(0, 4))}


def random_option_items(rng: random.Random) -> list[str]:
    items = []
    for _ in range(rng.randint(0, 4)):
        key = random_key(rng)
        value = random_value(rng)
        try:
            text = json.dumps(value) if rng.random() < 0.6 else str(value)
        except (TypeError, ValueError):
            try:
                text = str(value)
            except ValueError:  # an int of more than 4300 digits has no str
                text = "1" * 5000
        sep = rng.choice(["=", "=", "=", "", "==", " = "])
        items.append(f"{key}{sep}{text}" if rng.random() < 0.9 else random_text(rng, 30))
    return items


def random_box_text(rng: random.Random) -> str:
    parts = [rng.choice(["0", "10", "-5", "1.5", "1e9", "9" * 40, "-0", "3.", ".5", "nan", "inf", "٣", ""])
             for _ in range(rng.choice((3, 4, 4, 4, 5)))]
    if rng.random() < 0.1:  # not a box: a (maybe impossible) mask file name
        return rng.choice(["", ".", "/", "\x00", "a\x00b", "x" * 300, "/".join(["y" * 200] * 30), "nonexistent.png"])
    return rng.choice([",", ", ", " ,", ";"]).join(parts)


def random_subject(rng: random.Random) -> Any:
    import numpy as np

    kind = rng.randrange(5)
    if kind == 0:
        return tuple(random_number(rng) for _ in range(rng.choice((3, 4, 4, 5))))
    if kind == 1:
        return [rng.uniform(-50, 80) for _ in range(4)]
    if kind == 2:
        shape = rng.choice([(16, 24), (24, 16), (16, 24, 3), (4,), (16, 24, 1, 1), (0, 0), (16, 24)])
        return (np.random.default_rng(rng.randrange(1 << 30)).random(shape) > rng.random())
    if kind == 3:
        return np.zeros((16, 24), dtype=rng.choice([np.uint8, np.float32, np.int64, bool]))
    return random_value(rng)


# --- targets -----------------------------------------------------------------------------------------------

def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def t_load_image(data: bytes) -> None:
    image = load_image(data)
    assert image.width > 0 and image.height > 0


def t_open_image(data: bytes) -> None:
    image = open_image(data)
    if hasattr(image, "analysis"):
        image.analysis((32, 32))
        image.full()


def t_crop(data: bytes) -> None:
    results = _quiet(lambda: intentcrop.crop(data, k=1))
    assert len(results) >= 1


def t_parse_ratio(value: Any) -> None:
    ratio = parse_ratio(value)
    assert isinstance(ratio, float) and ratio > 0


def t_parse_size(value: Any) -> None:
    w, h = parse_size(value)
    assert isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0


def t_subject_to_box(subject: Any) -> None:
    box = subject_to_box(subject, 24, 16)
    assert box.width > 0 and box.height > 0


def t_cli_subject(text: str) -> None:
    _parse_subject(text)


def t_defaults_merged(options: Any) -> None:
    DEFAULTS.merged(options)


def t_parse_options(items: list[str]) -> None:
    out = parse_options(items)
    assert isinstance(out, dict)


def t_parse_relation(text: str) -> None:
    phrases.parse_relation(text)


def t_parse_position(text: str) -> None:
    phrases.parse_position(text)


def t_rule_noun_phrases(text: str) -> None:
    assert isinstance(phrases.rule_noun_phrases(text), list)


def t_grounding_queries(text: str) -> None:
    try:
        check_text(text)  # the pipeline's precondition: a str that is valid Unicode (no lone surrogate)
    except IntentCropError:
        return
    assert isinstance(phrases.grounding_queries(text), list)


def t_make_intent(kwargs: dict) -> None:
    make_intent(**kwargs)


def random_intent_kwargs(rng: random.Random) -> dict:
    kwargs: dict[str, Any] = {}
    for name in ("text", "subject", "ratio", "size", "k", "min_scale", "max_scale", "padding"):
        if rng.random() < 0.4:
            continue
        if name == "text":
            kwargs[name] = random_text(rng) if rng.random() < 0.7 else random_value(rng)
        elif name == "subject":
            kwargs[name] = random_subject(rng)
        elif name == "ratio":
            kwargs[name] = rng.choice([random_spec(rng), random_value(rng), random_number(rng),
                                       [random_spec(rng), random_number(rng)],
                                       (random_number(rng), random_number(rng))])
        elif name == "size":
            kwargs[name] = rng.choice([random_spec(rng), f"{rng.randint(-5, 5000)}x{rng.randint(-5, 5000)}",
                                       (random_number(rng), random_number(rng)), random_value(rng)])
        else:
            kwargs[name] = random_number(rng) if rng.random() < 0.8 else random_value(rng)
    return kwargs


def random_ratio_value(rng: random.Random) -> Any:
    return rng.choice([random_spec(rng), random_spec(rng), random_number(rng), random_value(rng),
                       (random_number(rng), random_number(rng))])


def random_size_value(rng: random.Random) -> Any:
    return rng.choice([random_spec(rng), f"{rng.randint(-5, 10 ** 5)}{rng.choice('xX× ')}{rng.randint(-5, 10 ** 5)}",
                       (random_number(rng), random_number(rng)), random_value(rng)])


# name -> (target, generator(rng, image_pool) -> input)
TARGETS: dict[str, tuple[Callable[[Any], None], Callable[[random.Random, list[bytes]], Any]]] = {
    "load_image": (t_load_image, lambda rng, pool: mutate_bytes(rng, rng.choice(pool), pool)),
    "open_image": (t_open_image, lambda rng, pool: mutate_bytes(rng, rng.choice(pool), pool)),
    "crop(bytes,k=1)": (t_crop, lambda rng, pool: mutate_bytes(rng, rng.choice(pool), pool)),
    "parse_ratio": (t_parse_ratio, lambda rng, pool: random_ratio_value(rng)),
    "parse_size": (t_parse_size, lambda rng, pool: random_size_value(rng)),
    "subject_to_box": (t_subject_to_box, lambda rng, pool: random_subject(rng)),
    "cli._parse_subject": (t_cli_subject, lambda rng, pool: random_box_text(rng)),
    "DEFAULTS.merged": (t_defaults_merged, lambda rng, pool: random_options(rng)),
    "cli.parse_options": (t_parse_options, lambda rng, pool: random_option_items(rng)),
    "parse_relation": (t_parse_relation, lambda rng, pool: random_text(rng, 200)),
    "parse_position": (t_parse_position, lambda rng, pool: random_text(rng, 200)),
    "rule_noun_phrases": (t_rule_noun_phrases, lambda rng, pool: random_text(rng, 200)),
    "grounding_queries": (t_grounding_queries, lambda rng, pool: random_text(rng, 200)),
    "make_intent": (t_make_intent, lambda rng, pool: random_intent_kwargs(rng)),
}

ALLOWED = (IntentCropError,)

