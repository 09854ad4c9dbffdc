"""Keep an explanation true of its box: the scorers' phrases about the image's edges compare the winner with
the other candidates ("keeps the left side": it trims less from the left than most), which reads as a claim
about the box. Such a phrase stays only when the returned box does what it says; otherwise it is replaced by
what the box does ("trims little from the left") or dropped."""

from __future__ import annotations

from typing import Iterable

# edge -> (the phrase saying the box keeps that side, its stand-in when the box does not reach the edge)
_KEEPS = {
    "left": ("keeps the left side", "trims little from the left"),
    "right": ("keeps the right side", "trims little from the right"),
    "top": ("keeps the top", "trims little from the top"),
    "bottom": ("keeps the bottom", "trims little from the bottom"),
}
_TRIMS = {"trims more from the left": "left", "trims more from the right": "right",
          "trims more from the top": "top", "trims more from the bottom": "bottom"}
_FULL = {"keeps the full width": ("left", "right", "trims little from the sides"),
         "keeps the full height": ("top", "bottom", "trims little from the top and the bottom")}
_BOTH_TRIMMED = {"trims both sides": ("left", "right"), "trims the top and the bottom": ("top", "bottom")}


def touches(box, width: int, height: int, slack: float = 0.5) -> dict[str, bool]:
    """Which image edges the box lies on (within `slack` pixels)."""
    x1, y1, x2, y2 = (box.x1, box.y1, box.x2, box.y2) if hasattr(box, "x1") else box
    return {"left": x1 <= slack, "right": x2 >= width - slack, "top": y1 <= slack, "bottom": y2 >= height - slack}


def match_box(reasons: Iterable[str], box, width: int, height: int) -> list[str]:
    """`reasons` with every edge phrase made true of `box` in a width x height image."""
    on = touches(box, width, height)
    out: list[str] = []
    for phrase in reasons:
        if phrase in _FULL:
            a, b, neither = _FULL[phrase]
            if on[a] and on[b]:
                new = [phrase]
            else:
                new = [_KEEPS[e][0] for e in (a, b) if on[e]] + [_KEEPS[e][1] for e in (a, b) if not on[e]]
                new = [neither] if not (on[a] or on[b]) else new
        elif phrase in (kept := {v[0]: k for k, v in _KEEPS.items()}):
            edge = kept[phrase]
            new = [phrase if on[edge] else _KEEPS[edge][1]]
        elif phrase in _TRIMS:
            new = [] if on[_TRIMS[phrase]] else [phrase]
        elif phrase in _BOTH_TRIMMED:
            a, b = _BOTH_TRIMMED[phrase]
            new = [phrase] if not (on[a] or on[b]) else [f"trims more from the {e}" for e in (a, b) if not on[e]]
        else:
            new = [phrase]
        out += [p for p in new if p not in out]
    return out


__all__ = ["match_box", "touches"]
