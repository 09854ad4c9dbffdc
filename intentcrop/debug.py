"""Debug overlay, like smartcrop.js's debug output: what won, why, and (on request) what else was considered.

`draw_debug(image, output)` draws, on a darkened copy of the picture:

* the chosen crops (thick, one colour each), each labelled with its ratio, rank and score (`winner_label`);
* the faces found (`detected_faces`), the heads grown from them that hold the crops (`detected_heads`) and,
  when a person detector supplies them, people;
* the grounding's boxes: the kept matches (cyan, with the matched phrase) and the look-alikes it left out
  (magenta);
* with `all_candidates=True`, the best `max_candidates` candidates too (thin, dark blue = worst to yellow = best);

and below the picture a panel, as wide as the picture, with a legend and each crop's score, box, strongest
terms and explanation, wrapped to the panel's width (`wrap_text`). Labels sit on a black box, so they read
on any photo.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from intentcrop.core.box import Box
from intentcrop.pipeline import CropOutput

WINNER_COLOURS = [(255, 64, 64), (255, 170, 0), (64, 160, 255), (200, 110, 255), (255, 255, 255)]
GROUNDING_COLOUR = (0, 255, 255)
LOOKALIKE_COLOUR = (255, 0, 200)  # matches the grounder found and left out (Grounding.rejected)
FACE_COLOUR = (120, 255, 60)
HEAD_COLOUR = (40, 160, 40)  # the head grown from a face, which a crop holds whole or leaves out
PERSON_COLOUR = (255, 230, 140)
LABEL_BACKGROUND = (0, 0, 0)
PANEL_BACKGROUND = (20, 20, 20)
TEXT_COLOUR = (235, 235, 235)
DIM_TEXT_COLOUR = (190, 190, 190)
PADDING = 3  # around a label's text, inside its background box
MARGIN = 6  # the panel's left and right margin


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def _font_size(font) -> int:
    return int(getattr(font, "size", 0) or (font.getbbox("Ag")[3] - font.getbbox("Ag")[1]))


def _heat(t: float) -> tuple[int, int, int]:
    """Dark blue (worst) -> yellow (best)."""
    t = float(np.clip(t, 0, 1))
    return (int(255 * t), int(60 + 180 * t), int(200 * (1 - t)))


def winner_label(result: Any) -> str:
    """A crop's label on the picture: its ratio ('free' for a free-form crop), rank and score, e.g.
    '16:9 #1 1.69'."""
    from intentcrop.core.intent import ratio_label

    ratio = "free" if result.ratio is None else ratio_label(result.ratio)
    return f"{ratio} #{result.rank} {result.score:.2f}"


def wrap_text(text: str, font, max_width: float, indent: str = "") -> list[str]:
    """`text` in lines no wider than `max_width` pixels in `font`, each starting with `indent` (greedy, by
    words; a word too long for a line is split)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else indent + word
        if font.getlength(candidate) <= max_width:
            line = candidate
            continue
        if line:
            lines.append(line)
        # the word alone on a new line; split where even that is too wide
        while font.getlength(indent + word) > max_width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and font.getlength(indent + word[:cut]) > max_width:
                cut -= 1
            lines.append(indent + word[:cut])
            word = word[cut:]
        line = indent + word
    if line:
        lines.append(line)
    return lines


def detected_faces(image: Image.Image, options: Any = None) -> list[Box]:
    """The faces the crops are held to (`intentcrop.propose.heads.find_faces`: CenterFace when its package is
    installed, else the Haar cascade on the analysis copy, by option face_detector), in `image`'s pixels."""
    return [Box(*f) for f in _found(image, options).faces]


def detected_heads(image: Image.Image, options: Any = None) -> list[Box]:
    """The heads that bind the crops (`intentcrop.propose.heads.image_heads`), in `image`'s pixels."""
    from intentcrop.core.context import CropContext
    from intentcrop.core.intent import Intent
    from intentcrop.propose.heads import image_heads

    return [Box(*h) for h in image_heads(CropContext(image=image, intent=Intent(), options=options))]


def _found(image: Image.Image, options: Any = None):
    from intentcrop.core.context import CropContext
    from intentcrop.core.intent import Intent
    from intentcrop.propose.heads import find_faces

    return find_faces(CropContext(image=image, intent=Intent(), options=options))


def _as_boxes(boxes: Iterable[Any] | None) -> list[Box]:
    out = []
    for b in boxes if boxes is not None else []:
        out.append(b if isinstance(b, Box) else Box(*[float(v) for v in b]))
    return out


class _Labels:
    """Places labels (text on a black box) near their boxes without covering each other, inside the canvas."""

    def __init__(self, draw: ImageDraw.ImageDraw, font, size: tuple[int, int]) -> None:
        self.draw, self.font, self.size = draw, font, size
        self.placed: list[tuple[float, float, float, float]] = []

    def text_box(self, text: str) -> tuple[int, int, int, int]:
        return self.draw.textbbox((0, 0), text, font=self.font)

    def put(self, text: str, colour, xyxy: Sequence[float], inset: float = 0, outside: bool = False) -> None:
        """Label the box `xyxy`: a crop inside its top-left corner (or another corner, or just outside); a
        thing in the picture (`outside`) just below or above it, so the label does not hide it."""
        bx1, by1, bx2, by2 = self.text_box(text)
        w, h = bx2 - bx1 + 2 * PADDING, by2 - by1 + 2 * PADDING
        x1, y1, x2, y2 = xyxy
        inner = [(x1 + inset, y1 + inset), (x1 + inset, y2 - inset - h), (x2 - inset - w, y1 + inset),
                 (x2 - inset - w, y2 - inset - h)]
        outer = [(x1 - 1, y2 + 2), (x1 - 1, y1 - h - 2), (x2 + 2, y1), (x1 - w - 2, y1)]
        spots = outer + inner if outside else inner + outer
        first = spots[0]
        spots += [(first[0], first[1] + j * h) for j in range(1, 12)]
        spots += [(first[0], first[1] - j * h) for j in range(1, 12)]
        cw, ch = self.size
        chosen = None
        for sx, sy in spots:
            sx, sy = min(max(sx, 0), max(0, cw - w)), min(max(sy, 0), max(0, ch - h))
            rect = (sx, sy, sx + w, sy + h)
            if not any(rect[0] < p[2] and p[0] < rect[2] and rect[1] < p[3] and p[1] < rect[3] for p in self.placed):
                chosen = rect
                break
        if chosen is None:  # crowded: the first spot, over the others
            sx, sy = first
            sx, sy = min(max(sx, 0), max(0, cw - w)), min(max(sy, 0), max(0, ch - h))
            chosen = (sx, sy, sx + w, sy + h)
        self.placed.append(chosen)
        self.draw.rectangle(chosen, fill=LABEL_BACKGROUND)
        self.draw.text((chosen[0] + PADDING - bx1, chosen[1] + PADDING - by1), text, fill=colour, font=self.font)


def _outlined(draw: ImageDraw.ImageDraw, xy, colour, width: int) -> None:
    """A rectangle in `colour` with a black rim outside it, so it shows on light and dark photos alike."""
    x1, y1, x2, y2 = xy
    draw.rectangle((x1 - 1, y1 - 1, x2 + 1, y2 + 1), outline=LABEL_BACKGROUND, width=width + 2)
    draw.rectangle(xy, outline=colour, width=width)


def draw_debug(image: Image.Image, output: CropOutput, max_candidates: int = 150, panel: bool = True,
               all_candidates: bool = False, faces: Iterable[Any] | None = None,
               people: Iterable[Any] | None = None) -> Image.Image:
    """The overlay: the chosen crops (labelled with ratio, rank and score), the faces, the grounding's boxes
    and, with `all_candidates`, the best `max_candidates` candidates; plus a panel with each crop's breakdown
    and explanation unless `panel` is False.

    `faces`: boxes (Box or xyxy) in the original image's pixels (those of `output.image_size`, like every box of
    `output`); None: found with `detected_faces` (as the proposer and scorers find them), with the heads that
    bind the crops (`detected_heads`); [] draws none (and no heads). `people`: person
    boxes likewise; None: `output.people` when the output carries them (no person detector exists yet: this
    is the hook for one)."""
    base = image.convert("RGB")
    # drawn with a long side of 512-1024 px: a thumbnail's panel would be too narrow to read
    scale = min(1024, max(512, max(base.size))) / max(base.size)
    if scale != 1:
        base = base.resize((round(base.width * scale), round(base.height * scale)), Image.Resampling.BILINEAR)
    # the picture's own pixels may differ in size from output.image_size (a thumbnail given for a big photo)
    to_canvas = scale * (image.size[0] / output.image_size[0]) if output.image_size[0] else scale
    canvas = Image.blend(base, Image.new("RGB", base.size, (0, 0, 0)), 0.35)
    draw = ImageDraw.Draw(canvas)
    font = _font(max(12, base.width // 48))
    labels = _Labels(draw, font, canvas.size)
    pending: list[tuple[str, Any, tuple, float]] = []  # labels, drawn after every box

    def xy_of(box: Box, factor: float) -> tuple[float, float, float, float]:
        return tuple(float(v) * factor for v in box.to_xyxy())

    cands = output.candidates
    if all_candidates and cands.scores is not None and len(cands):
        order = np.argsort(-cands.scores)[:max_candidates][::-1]  # draw best last so it is on top
        lo, hi = cands.scores[order].min(), cands.scores[order].max()
        for idx in order:
            t = (cands.scores[idx] - lo) / (hi - lo) if hi > lo else 1.0
            draw.rectangle(tuple(cands.xyxy[idx] * to_canvas), outline=_heat(t), width=1)

    back = output.image_size[0] / image.size[0] if image.size[0] else 1.0  # found on `image` -> the original's
    head_boxes: list[Box] = []
    if faces is None:
        faces = [Box(*(np.asarray(f.to_xyxy()) * back)) for f in detected_faces(image, output.options)]
        if output.options is None or output.options.head_constraint:
            head_boxes = [Box(*(np.asarray(h.to_xyxy()) * back)) for h in detected_heads(image, output.options)]
    face_boxes = _as_boxes(faces)
    people_boxes = _as_boxes(getattr(output, "people", None) if people is None else people)
    for kind, boxes, colour in (("person", people_boxes, PERSON_COLOUR), ("head", head_boxes, HEAD_COLOUR),
                                ("face", face_boxes, FACE_COLOUR)):
        for box in boxes:
            xy = xy_of(box, to_canvas)
            _outlined(draw, xy, colour, 2)
            pending.append((kind, colour, xy, 2))

    if output.grounding is not None:
        g = output.grounding
        for box, score in zip(g.rejected, g.rejected_scores):
            xy = xy_of(box, to_canvas)
            _outlined(draw, xy, LOOKALIKE_COLOUR, 1)
            pending.append((f"left out {score:.2f}", LOOKALIKE_COLOUR, xy, 1))
        for box, score, phrase in zip(g.boxes, g.scores, g.phrases):
            xy = xy_of(box, to_canvas)
            _outlined(draw, xy, GROUNDING_COLOUR, 2)
            pending.append((f"{phrase} {score:.2f}", GROUNDING_COLOUR, xy, 2))

    line_width = max(2, base.width // 250)
    winners = []
    for i, result in enumerate(output.results):
        colour = WINNER_COLOURS[i % len(WINNER_COLOURS)]
        xy = xy_of(result.box, to_canvas)
        width = line_width if result.rank <= 1 else max(2, line_width - 1)
        winners.append((xy, colour, width))
    for xy, colour, width in reversed(winners):  # the first crop on top
        _outlined(draw, xy, colour, width)
    for result, (xy, colour, width) in zip(output.results, winners):  # the crops' labels get the first places
        labels.put(winner_label(result), colour, xy, inset=width + 1)
    for text, colour, xy, width in pending:
        labels.put(text, colour, xy, inset=width + 1, outside=True)
    if not panel:
        return canvas
    return _with_panel(canvas, output, font, all_candidates=all_candidates, n_drawn=min(len(cands), max_candidates),
                       faces=bool(face_boxes), people=bool(people_boxes), heads=bool(head_boxes))


def panel_lines(output: CropOutput, font, width: int, all_candidates: bool = False,
                n_drawn: int | None = None) -> list[tuple[str, tuple[int, int, int]]]:
    """The panel's text, wrapped to `width` pixels (minus the margins), as (line, colour) pairs."""
    room = width - 2 * MARGIN
    lines: list[tuple[str, tuple[int, int, int]]] = []

    def add(text: str, colour, indent: str = "") -> None:
        lines.extend((part, colour) for part in wrap_text(text, font, room, indent=indent))

    total_ms = output.timings.get("total", 0) * 1000
    shown = (f"; the best {n_drawn} drawn thin, blue = worse to yellow = better" if all_candidates and n_drawn
             else "; only the chosen crops are drawn")
    add(f"{len(output.candidates)} candidates scored in {total_ms:.0f} ms{shown}", DIM_TEXT_COLOUR)
    if output.grounding is not None and output.grounding.selection:
        add("grounding: " + output.grounding.selection, GROUNDING_COLOUR)
    for i, r in enumerate(output.results):
        colour = WINNER_COLOURS[i % len(WINNER_COLOURS)]
        x1, y1, x2, y2 = r.box.as_int_tuple()
        add(f"{winner_label(r)}   box {x1},{y1},{x2},{y2} ({x2 - x1}x{y2 - y1})   score {r.score:.4f}", colour)
        top_terms = sorted(r.breakdown.items(), key=lambda kv: -abs(kv[1]))[:4]
        if top_terms:
            add("  ".join(f"{k}={v:.2f}" for k, v in top_terms), DIM_TEXT_COLOUR, indent="    ")
        if r.explanation:
            add(r.explanation, TEXT_COLOUR, indent="    ")
    return lines


def _legend(output: CropOutput, faces: bool, people: bool, all_candidates: bool,
            heads: bool = False) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = [("crop: ratio #rank score", WINNER_COLOURS[0])]
    if faces:
        items.append(("face", FACE_COLOUR))
    if heads:
        items.append(("head (crops hold it whole or leave it out)", HEAD_COLOUR))
    if people:
        items.append(("person", PERSON_COLOUR))
    if output.grounding is not None and output.grounding.boxes:
        items.append(("grounded match", GROUNDING_COLOUR))
    if output.grounding is not None and output.grounding.rejected:
        items.append(("look-alike left out", LOOKALIKE_COLOUR))
    if all_candidates:
        items.append(("candidate", _heat(0.5)))
    return items


def _with_panel(canvas: Image.Image, output: CropOutput, font, all_candidates: bool = False,
                n_drawn: int | None = None, faces: bool = False, people: bool = False,
                heads: bool = False) -> Image.Image:
    size = _font_size(font)
    line_h = size + 4
    swatch = max(8, size - 2)
    # the legend: swatch + name items, flowed onto as many rows as the width needs
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    rows: list[list[tuple[str, Any, float]]] = [[]]
    x = MARGIN
    for name, colour in _legend(output, faces, people, all_candidates, heads):
        w = swatch + 4 + measure.textlength(name, font=font) + 14
        if rows[-1] and x + w > canvas.width - MARGIN:
            rows.append([])
            x = MARGIN
        rows[-1].append((name, colour, x))
        x += w
    lines = panel_lines(output, font, canvas.width, all_candidates, n_drawn)
    top = 4 + line_h * len(rows) + 4
    panel = Image.new("RGB", (canvas.width, top + line_h * len(lines) + 6), PANEL_BACKGROUND)
    d = ImageDraw.Draw(panel)
    for j, row in enumerate(rows):
        y = 4 + j * line_h
        for name, colour, x in row:
            sy = y + (line_h - swatch) // 2
            d.rectangle((x, sy, x + swatch, sy + swatch), outline=colour, width=2)
            d.text((x + swatch + 4, y), name, fill=TEXT_COLOUR, font=font)
    d.line((MARGIN, top - 3, canvas.width - MARGIN, top - 3), fill=(70, 70, 70), width=1)
    for j, (text, colour) in enumerate(lines):
        d.text((MARGIN, top + j * line_h), text, fill=colour, font=font)
    out = Image.new("RGB", (canvas.width, canvas.height + panel.height))
    out.paste(canvas, (0, 0))
    out.paste(panel, (0, canvas.height))
    return out
