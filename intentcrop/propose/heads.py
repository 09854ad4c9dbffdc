"""Heads are hard constraints on every candidate set: a crop holds a head whole, with room above it, or leaves it
out entirely (`keep_heads`). Where no candidate of a ratio can (an exact ratio too narrow for two heads far
apart, a head in a corner), the least-cutting ones of that ratio are kept, never none.

Heads come from faces (`image_heads`): CenterFace (`intentcrop.models.faces`, when its package is installed) on a
copy `options.face_detect_side` long, else OpenCV's Haar cascade on the analysis copy, each face grown to a head
(`heads_from_faces`). Heads smaller than `options.head_min_size` of the image's shorter side do not bind.
The pipeline applies `keep_heads` to the proposer's candidates and again after the searcher (whose averaged box
could cut a head the candidates kept whole), in every method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.errors import ModelNotAvailableError


@dataclass(frozen=True)
class FoundFaces:
    """The faces found on one image and the heads grown from them, xyxy in original pixels."""

    faces: np.ndarray  # (F, 4)
    scores: np.ndarray  # (F,)
    heads: np.ndarray  # (F, 4)
    detector: str  # "centerface", "haar" or "none"


def find_faces(ctx: CropContext) -> FoundFaces:
    """The faces on `ctx`'s image by `ctx.options.face_detector` (computed once per context and option set)."""
    o = ctx.options
    key = f"propose.heads:{o.face_detector}:{o.face_detect_side}:{o.face_min_score}"
    return ctx.cached(key, lambda: _find(ctx))


def _find(ctx: CropContext) -> FoundFaces:
    from intentcrop.models.faces import heads_from_faces, missing_message, shared_detector

    o = ctx.options
    name = o.face_detector
    faces, scores = np.zeros((0, 4)), np.zeros(0)
    if name in ("auto", "centerface"):
        detector = shared_detector(o.face_detect_side, o.face_min_score)
        if detector is None and name == "centerface":
            raise ModelNotAvailableError(f"option face_detector='centerface': {missing_message()}")
        if detector is not None:
            rgb, scale = ctx.small(o.face_detect_side, draft_margin=1)  # a detector needs no averaged pixels
            found = detector.detect(rgb)
            faces, scores, name = found[:, :4] / scale, found[:, 4], "centerface"
        else:
            name = "haar"
    if name == "haar":
        import cv2

        from intentcrop.score.features import detect_faces

        rgb, scale = ctx.small()
        haar = detect_faces(cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY))
        # the cascade's box is already grown brows-to-mouth -> forehead-to-chin; heads are grown from that
        faces, scores = haar / scale, np.ones(len(haar))
    heads = heads_from_faces(faces, ctx.width, ctx.height) if len(faces) else np.zeros((0, 4))
    return FoundFaces(faces=faces, scores=scores, heads=heads, detector=name if name != "auto" else "none")


def image_heads(ctx: CropContext) -> np.ndarray:
    """The heads that bind crops on `ctx`'s image: (H, 4) xyxy, those at least options.head_min_size of the
    image's shorter side tall."""
    heads = find_faces(ctx).heads
    if len(heads) == 0:
        return heads
    tall = (heads[:, 3] - heads[:, 1]) >= ctx.options.head_min_size * min(ctx.width, ctx.height)
    return heads[tall]


def head_cuts(xyxy: np.ndarray, heads: np.ndarray, room: float = 0.15, tolerance: float = 0.1) -> np.ndarray:
    """(N,) how badly each box cuts the heads: the sum, over the heads it cuts, of each head's area relative to the
    largest head's (so cutting a big head costs more than cutting a small one). A box cuts a head unless it
    leaves it out (keeps at most `tolerance` of its area) or holds it whole (all but `tolerance` of its area,
    with `room` x its height free above it, or as much as the image has there)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    heads = np.asarray(heads, dtype=np.float64).reshape(-1, 4)
    if len(heads) == 0 or len(xyxy) == 0:
        return np.zeros(len(xyxy))
    x1, y1, x2, y2 = (xyxy[:, None, i] for i in range(4))
    hx1, hy1, hx2, hy2 = (heads[None, :, i] for i in range(4))
    hh = hy2 - hy1
    # the head with its room above: the room is only asked for where the image has it (a head at the top edge)
    top = np.maximum(hy1 - room * hh, 0.0)
    iw = np.clip(np.minimum(x2, hx2) - np.maximum(x1, hx1), 0, None)
    ih = np.clip(np.minimum(y2, hy2) - np.maximum(y1, hy1), 0, None)
    area = np.maximum((hx2 - hx1) * hh, 1e-9)
    kept = iw * ih / area
    out = kept <= tolerance
    whole = (kept >= 1 - tolerance) & (y1 <= top + tolerance * hh)
    cut = ~(out | whole)
    weight = area / area.max()
    return (cut * weight).sum(axis=1)


def heads_to_hold(ctx: CropContext) -> list[Box]:
    """Boxes the proposer also makes exact-ratio windows around, so that a ratio has crops that keep heads
    whole even where its grid of windows has none: all binding heads together, and the largest alone, each
    with its room above."""
    heads = image_heads(ctx)
    if len(heads) == 0:
        return []
    room = ctx.options.head_room * (heads[:, 3] - heads[:, 1])
    grown = np.column_stack([heads[:, 0], np.maximum(heads[:, 1] - room, 0), heads[:, 2], heads[:, 3]])
    largest = int(np.argmax((heads[:, 2] - heads[:, 0]) * (heads[:, 3] - heads[:, 1])))
    boxes = [Box(*grown[:, :2].min(axis=0), *grown[:, 2:].max(axis=0))]
    if len(heads) > 1:
        boxes.append(Box(*grown[largest]))
    return boxes


def keep_heads(ctx: CropContext, candidates: Candidates) -> Candidates:
    """The candidates that cut no binding head (option head_constraint), per ratio group; a group where every
    one cuts keeps its least-cutting ones (ties within 1e-6)."""
    o = ctx.options
    if not o.head_constraint or len(candidates) == 0:
        return candidates
    heads = image_heads(ctx)
    if len(heads) == 0:
        return candidates
    cost = head_cuts(candidates.xyxy, heads, o.head_room, o.head_tolerance)
    keys = np.where(np.isnan(candidates.ratio), -1.0, candidates.ratio)
    keep = np.zeros(len(candidates), dtype=bool)
    for key in np.unique(keys):
        members = keys == key
        keep |= members & (cost <= cost[members].min() + 1e-6)
    return candidates if keep.all() else candidates[np.flatnonzero(keep)]


__all__ = ["FoundFaces", "find_faces", "head_cuts", "heads_to_hold", "image_heads", "keep_heads"]
