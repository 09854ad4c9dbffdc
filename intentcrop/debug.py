"""Debug overlay, like smartcrop.js's debug output: what was considered, what won, and why."""

from __future__ import annotations

import textwrap

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from intentcrop.pipeline import CropOutput

WINNER_COLOURS = [(255, 64, 64), (255, 170, 0), (64, 160, 255), (180, 90, 255), (0, 200, 120)]
GROUNDING_COLOUR = (0, 255, 255)
LOOKALIKE_COLOUR = (255, 0, 200)  # matches the grounder found and left out (Grounding.rejected)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def _heat(t: float) -> tuple[int, int, int]:
    """Dark blue (worst) -> yellow (best)."""
    t = float(np.clip(t, 0, 1))
    return (int(255 * t), int(60 + 180 * t), int(200 * (1 - t)))


def draw_debug(image: Image.Image, output: CropOutput, max_candidates: int = 150, panel: bool = True) -> Image.Image:
    """Draw the candidates (thin, coloured by score), the grounding boxes (cyan, with the matched phrase)
    and the chosen crops (thick, numbered, with their scores), plus a panel with each winner's breakdown."""
    base = image.convert("RGB")
    # drawn with a long side of 512-1024 px: a thumbnail's panel would be too narrow to read
    scale = min(1024, max(512, max(base.size))) / max(base.size)
    if scale != 1:
        base = base.resize((round(base.width * scale), round(base.height * scale)), Image.Resampling.BILINEAR)
    canvas = Image.blend(base, Image.new("RGB", base.size, (0, 0, 0)), 0.35)
    draw = ImageDraw.Draw(canvas)
    font = _font(max(11, base.width // 60))
    cands = output.candidates
    if cands.scores is not None and len(cands):
        order = np.argsort(-cands.scores)[:max_candidates][::-1]  # draw best last so it is on top
        lo, hi = cands.scores[order].min(), cands.scores[order].max()
        for idx in order:
            t = (cands.scores[idx] - lo) / (hi - lo) if hi > lo else 1.0
            draw.rectangle(tuple(cands.xyxy[idx] * scale), outline=_heat(t), width=1)
    if output.grounding is not None:
        def labelled(box, label: str, colour, width: int) -> None:  # a grounding box, its label at its foot
            xy = tuple(np.array(box.to_xyxy()) * scale)
            draw.rectangle(xy, outline=colour, width=width)
            draw.text((xy[0] + 3, xy[3] - font.size - 4), label, fill=colour, font=font)

        for box, score in zip(output.grounding.rejected, output.grounding.rejected_scores):
            labelled(box, f"left out {score:.2f}", LOOKALIKE_COLOUR, 1)
        for box, score, phrase in zip(output.grounding.boxes, output.grounding.scores, output.grounding.phrases):
            labelled(box, f"{phrase} {score:.2f}", GROUNDING_COLOUR, 2)
    line_width = max(2, base.width // 250)
    for i, result in enumerate(output.results):
        colour = WINNER_COLOURS[i % len(WINNER_COLOURS)]
        xy = tuple(np.array(result.box.to_xyxy()) * scale)
        draw.rectangle(xy, outline=colour, width=line_width)
        label = f"#{i + 1} {result.score:.3f}"
        tx, ty = xy[0] + line_width + 2, xy[1] + line_width + 2
        bbox = draw.textbbox((tx, ty), label, font=font)
        draw.rectangle(bbox, fill=(0, 0, 0))
        draw.text((tx, ty), label, fill=colour, font=font)
    if not panel:
        return canvas
    return _with_panel(canvas, output, font)


def _with_panel(canvas: Image.Image, output: CropOutput, font) -> Image.Image:
    lines: list[tuple[str, tuple[int, int, int]]] = []
    wrap = max(40, canvas.width // max(6, font.size // 2 + 1))
    lines.append((f"{len(output.candidates)} candidates scored in {output.timings.get('total', 0) * 1000:.0f} ms", (220, 220, 220)))
    if output.grounding is not None and output.grounding.selection:
        for part in textwrap.wrap("grounding: " + output.grounding.selection, wrap):
            lines.append((part, GROUNDING_COLOUR))
    for i, r in enumerate(output.results):
        colour = WINNER_COLOURS[i % len(WINNER_COLOURS)]
        x1, y1, x2, y2 = r.box.as_int_tuple()
        lines.append((f"#{i + 1}  score {r.score:.3f}  box {x1},{y1},{x2},{y2}", colour))
        top_terms = sorted(r.breakdown.items(), key=lambda kv: -abs(kv[1]))[:6]
        lines.append(("    " + "  ".join(f"{k}={v:.2f}" for k, v in top_terms), (200, 200, 200)))
        for part in textwrap.wrap(r.explanation, wrap) if r.explanation else []:
            lines.append(("    " + part, (235, 235, 235)))
    line_h = font.size + 4
    panel = Image.new("RGB", (canvas.width, line_h * len(lines) + 8), (20, 20, 20))
    d = ImageDraw.Draw(panel)
    for j, (text, colour) in enumerate(lines):
        d.text((6, 4 + j * line_h), text, fill=colour, font=font)
    out = Image.new("RGB", (canvas.width, canvas.height + panel.height))
    out.paste(canvas, (0, 0))
    out.paste(panel, (0, canvas.height))
    return out
