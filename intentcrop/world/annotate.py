"""The world's photographer: GAIC-style scored candidate crops and several annotators' crops for every case.

This module is the one place the world's taste is written down; `intentcrop bench world` (IoU-Mean/Max over the
annotators, Acc/SRCC/PCC against the MOS) and `intentcrop world export --format gaicd` read it from here.

Candidates (`candidate_crops`), as GAICD builds them (Zeng et al. 2019), all with integer edges inside the scene:

* grid:    the image's grid anchors as GAICD's are laid out: each side in 12 bins, each edge on the centre of one
           of the 4 bins nearest its border, at least half the image's area, aspect w/h within 0.5..2
           (`gaicd_anchors`; 87-90 per image, as in GAICD's annotations);
* window:  for an intent (targets that are not the whole scene), the same anchors laid over the *context
           window*, the targets' box grown by CONTEXT (1.0) of its size on every side and clipped to the scene,
           with edges on the bin lines (k / 12 in, k = 0..3: a target at the scene's border can be held whole),
           keeping at least WINDOW_MIN_AREA (0.2) of it: crops from about tight to roomy around the targets;
* ratio:   when a ratio is asked, exact-ratio windows (RATIO_SCALES sizes x RATIO_POSITIONS^2 places) holding the
           targets, plus the ones of the whole scene's grid of sizes that do not (so that cut crops are rated too).

Near-duplicates (edges within 0.4 % of the side) are dropped.

MOS (`score_crops`): quality q in 0..1 is a product of factors, each 1 when the rule is met; MOS = 1 + 4 q
(1..5, 2 decimals). "Targets" are the intent's objects; for a free-form case (no intent) every object is a
target: the whole scene's salient things, none cut.

1. whole      every target whole (its visible box inside the crop, 1 px tolerance); else
              CUT_TARGET x the share of the targets' pixels inside: a cut target ruins the crop.
2. others     each other object left out entirely costs nothing; one held whole multiplies by HOLDS_OTHER
              (HOLDS_LOOKALIKE for the referral's named distractors, the look-alikes a viewer would mistake);
              one cut by a border by CUTS_OTHER (a sliver of a thing at the edge is worse than the whole thing).
3. fill       the targets' box area over the crop's area within FILL (intent: 0.12..0.45; free-form:
              FREE_FILL 0.35..0.9): 1; outside, it falls by FILL_SLOPE per halving / doubling (log2), to 0.2.
4. not tight  the least room between a target edge and the crop edge, as a share of the targets' box side, on
              the sides where the crop does not stop at the scene's border: 1 from ROOM (0.12) up; a crop
              touching its target scores TIGHT (0.55), linear in between.
5. balance    per axis, the smaller of the two margins over the larger (sides at the scene's border are left
              out): 1 from BALANCE (0.25) up, down to UNBALANCED (0.7) when one side has no room at all.
6. placement  the targets' centre, in crop coordinates 0..1, near a power point, {1/3, 1/2, 2/3}^2 (the
              centre, the thirds' crossings, the thirds lines at mid-height): 1 within PLACE_OK (0.05),
              falling linearly to OFF_POINTS (0.7) at 0.25 away. One subject may sit on a third or in the
              centre; two or more targets are a group and are judged by their box's centre.
7. ratio      when a ratio is asked: 1 within 1 % of it, else max(0.3, 1 - 5 x relative error).

Annotators (`annotators_for`): ANNOTATORS are eight photographers with preferences (fill they like, where they
put the subject); a case gets 4-8 of them (seeded by the case), and each picks, among the candidates whose MOS is
within GOOD_BAND (0.6) of the best (exact-ratio ones only when a ratio is asked), the one maximising
MOS + their preference + a little seeded noise, so they agree on what is good and differ as people do
(TextCrop's spread). Everything is deterministic for a case, ratio and seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from intentcrop.core.box import Box
from intentcrop.propose.geometry import dedupe, ratio_windows
from intentcrop.world.referring import WorldCase
from intentcrop.world.scenes import Scene

# candidates
GRID_BINS, GRID_EDGES, GRID_MIN_AREA, GRID_ASPECT = 12, 4, 0.5, (0.5, 2.0)  # GAICD's anchors
CONTEXT = 1.0
WINDOW_MIN_AREA = 0.2
RATIO_SCALES, RATIO_POSITIONS = 6, 5
# MOS rules (see the module docstring)
CUT_TARGET = 0.3
HOLDS_OTHER, HOLDS_LOOKALIKE, CUTS_OTHER = 0.8, 0.65, 0.6
FILL, FREE_FILL, FILL_SLOPE = (0.12, 0.45), (0.35, 0.9), 0.35
ROOM, TIGHT = 0.12, 0.55
BALANCE, UNBALANCED = 0.25, 0.7
POWER_POINTS = np.array([(x, y) for x in (1 / 3, 1 / 2, 2 / 3) for y in (1 / 3, 1 / 2, 2 / 3)])
PLACE_OK, PLACE_FAR, OFF_POINTS = 0.05, 0.25, 0.7
RATIO_TOLERANCE = 0.01
# annotators
GOOD_BAND = 0.6
MIN_ANNOTATORS, MAX_ANNOTATORS = 4, 8


@dataclass(frozen=True)
class Annotator:
    """A photographer's preferences: the fill they like (targets' box area over the crop's) and how much it
    matters to them, where they put the subject ("centre", "thirds" or None: either), and their noise."""

    name: str
    fill: float
    fill_weight: float = 0.6
    placement: str | None = None
    placement_weight: float = 0.4
    noise: float = 0.08


ANNOTATORS: tuple[Annotator, ...] = (
    Annotator("tight", fill=0.45, fill_weight=1.0),
    Annotator("roomy", fill=0.12, fill_weight=1.0),
    Annotator("centre", fill=0.25, placement="centre"),
    Annotator("thirds", fill=0.25, placement="thirds"),
    Annotator("tight-thirds", fill=0.4, placement="thirds"),
    Annotator("roomy-centre", fill=0.15, placement="centre"),
    Annotator("neutral", fill=0.25, fill_weight=0.3),
    Annotator("casual", fill=0.3, fill_weight=0.3, noise=0.2),
)


@dataclass
class Annotation:
    """One case's scored candidates and its annotators' crops."""

    width: int
    height: int
    crops_xyxy: np.ndarray  # (N, 4)
    mos: np.ndarray  # (N,) 1..5
    kinds: list[str]  # "grid", "window" or "ratio" per candidate
    ratio: float | None
    annotators: list[dict[str, Any]] = field(default_factory=list)  # {"name", "box": [x1, y1, x2, y2], "mos"}
    factors: dict[str, np.ndarray] = field(default_factory=dict)  # each rule's factor per candidate

    @property
    def annotator_boxes(self) -> np.ndarray:
        return np.array([a["box"] for a in self.annotators], dtype=np.float64).reshape(-1, 4)

    def to_dict(self) -> dict[str, Any]:
        return {"crops_xyxy": self.crops_xyxy.astype(int).tolist(), "mos": [round(float(m), 2) for m in self.mos],
                "annotators": self.annotators}


# -- pixels inside boxes, for many boxes at once ---------------------------------------------------------


def _integral(mask: np.ndarray) -> np.ndarray:
    sat = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
    sat[1:, 1:] = np.cumsum(np.cumsum(mask, axis=0), axis=1)
    return sat


def _inside(sat: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    h, w = sat.shape[0] - 1, sat.shape[1] - 1
    b = np.round(xyxy).astype(np.int64)
    x1, x2 = np.clip(b[:, 0], 0, w), np.clip(b[:, 2], 0, w)
    y1, y2 = np.clip(b[:, 1], 0, h), np.clip(b[:, 3], 0, h)
    return (sat[y2, x2] - sat[y1, x2] - sat[y2, x1] + sat[y1, x1]).astype(np.float64)


# -- candidates ------------------------------------------------------------------------------------------


def gaicd_anchors(width: int, height: int, min_area: float = GRID_MIN_AREA, on_lines: bool = False) -> np.ndarray:
    """GAICD's grid anchors (Zeng et al. 2019): each edge on a bin centre, (k + 0.5) * side / 12 in from its
    border for k = 0..3 (on_lines: on the bin lines k * side / 12, so an edge may stay at the frame's own
    border); at least `min_area` of the frame, aspect w/h within 0.5..2; integer edges."""
    steps = (np.arange(GRID_EDGES) + (0.0 if on_lines else 0.5)) / GRID_BINS
    xs1, xs2 = np.round(steps * width), np.round(width - steps * width)
    ys1, ys2 = np.round(steps * height), np.round(height - steps * height)
    x1, y1, x2, y2 = (a.ravel() for a in np.meshgrid(xs1, ys1, xs2, ys2, indexing="ij"))
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float64)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    keep = (w >= 1) & (h >= 1) & (w * h >= min_area * width * height - 1e-9)
    aspect = w / np.maximum(h, 1)
    keep &= (aspect >= GRID_ASPECT[0]) & (aspect <= GRID_ASPECT[1])
    return boxes[keep]


def candidate_crops(scene: Scene, targets: list[int], ratio: float | None = None) -> tuple[np.ndarray, list[str]]:
    """(N, 4) candidate crops and their kinds (module docstring: grid, window, ratio)."""
    w, h = scene.width, scene.height
    parts: list[tuple[np.ndarray, str]] = [(gaicd_anchors(w, h), "grid")]
    target_box = Box.union_all(scene.objects[t].box for t in targets)
    if len(targets) < len(scene.objects):
        window = target_box.expand(CONTEXT).clip(w, h).round()
        ww, wh = int(window.width), int(window.height)
        local = gaicd_anchors(ww, wh, WINDOW_MIN_AREA, on_lines=True)
        parts.append((local + np.array([window.x1, window.y1, window.x1, window.y1]), "window"))
    if ratio is not None:
        holding = ratio_windows(w, h, ratio, min_scale=0.2, scales=RATIO_SCALES, positions=RATIO_POSITIONS,
                                must_contain=target_box, strict=False)
        anywhere = ratio_windows(w, h, ratio, min_scale=0.3, scales=3, positions=3)
        parts += [(holding, "ratio"), (anywhere, "ratio")]
    boxes = np.concatenate([p for p, _ in parts])
    kinds = np.concatenate([[k] * len(p) for p, k in parts])
    keep = dedupe_index(boxes, w, h)
    return boxes[keep], [str(k) for k in kinds[keep]]


def dedupe_index(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Indices `dedupe` keeps (first occurrences, in order)."""
    kept = dedupe(boxes, width, height)
    index, j = [], 0
    for i, b in enumerate(boxes):
        if j < len(kept) and np.array_equal(b, kept[j]):
            index.append(i)
            j += 1
    return np.array(index, dtype=int)


# -- the rules -------------------------------------------------------------------------------------------


def _ramp(value: np.ndarray, full_at: float, low: float) -> np.ndarray:
    """low at value 0, rising linearly to 1 at `full_at` and above."""
    return low + (1.0 - low) * np.clip(value / full_at, 0.0, 1.0)


def score_crops(scene: Scene, targets: list[int], xyxy: np.ndarray, ratio: float | None = None,
                lookalikes: list[int] | tuple[int, ...] = ()) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(MOS (N,), {rule: factor (N,)}) of crops `xyxy` for these targets (module docstring, rules 1-7)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    n = len(xyxy)
    w, h = scene.width, scene.height
    targets = list(targets)
    free_form = len(targets) == len(scene.objects)
    x1, y1, x2, y2 = xyxy.T
    area = np.maximum((x2 - x1) * (y2 - y1), 1.0)
    factors: dict[str, np.ndarray] = {}

    t_total = sum(float(scene.objects[t].mask.sum()) for t in targets)
    t_in = sum(_inside(_integral(scene.objects[t].mask), xyxy) for t in targets) if targets else np.zeros(n)
    whole = np.ones(n, dtype=bool)
    for t in targets:
        b = scene.objects[t].box
        whole &= (x1 <= b.x1 + 1) & (y1 <= b.y1 + 1) & (x2 >= b.x2 - 1) & (y2 >= b.y2 - 1)
    factors["whole"] = np.where(whole, 1.0, CUT_TARGET * t_in / max(t_total, 1.0))

    others = np.ones(n)
    for i, obj in enumerate(scene.objects):
        if i in targets:
            continue
        share = _inside(_integral(obj.mask), xyxy) / max(float(obj.mask.sum()), 1.0)
        held = HOLDS_LOOKALIKE if i in lookalikes else HOLDS_OTHER
        others *= np.where(share <= 0.0, 1.0, np.where(share >= 0.98, held, CUTS_OTHER))
    factors["others"] = others

    tb = Box.union_all(scene.objects[t].box for t in targets) if targets else Box(0, 0, w, h)
    fill = tb.area / area
    lo, hi = FREE_FILL if free_form else FILL
    octaves = np.where(fill < lo, np.log2(lo / fill), np.where(fill > hi, np.log2(fill / hi), 0.0))
    factors["fill"] = np.clip(1.0 - FILL_SLOPE * octaves, 0.2, 1.0)

    # margins between the targets' box and the crop's edges, as shares of the box's side
    margin = np.stack([(tb.x1 - x1) / max(tb.width, 1.0), (tb.y1 - y1) / max(tb.height, 1.0),
                       (x2 - tb.x2) / max(tb.width, 1.0), (y2 - tb.y2) / max(tb.height, 1.0)], axis=1)
    at_border = np.stack([x1 <= 1, y1 <= 1, x2 >= w - 1, y2 >= h - 1], axis=1)
    room = np.where(at_border, np.inf, np.maximum(margin, 0.0)).min(axis=1)
    factors["tight"] = np.where(np.isinf(room), 1.0, _ramp(np.where(np.isinf(room), 0.0, room), ROOM, TIGHT))

    balance = np.ones(n)
    for a, b in ((0, 2), (1, 3)):
        both = ~at_border[:, a] & ~at_border[:, b]
        m1, m2 = np.maximum(margin[:, a], 0.0), np.maximum(margin[:, b], 0.0)
        evenness = np.minimum(m1, m2) / np.maximum(np.maximum(m1, m2), 1e-9)
        balance *= np.where(both, _ramp(evenness, BALANCE, UNBALANCED), 1.0)
    factors["balance"] = balance

    cx, cy = tb.center
    rel = np.stack([(cx - x1) / np.maximum(x2 - x1, 1.0), (cy - y1) / np.maximum(y2 - y1, 1.0)], axis=1)
    dist = np.sqrt(((rel[:, None, :] - POWER_POINTS[None]) ** 2).sum(-1)).min(axis=1)
    far = np.clip((dist - PLACE_OK) / (PLACE_FAR - PLACE_OK), 0.0, 1.0)
    factors["placement"] = 1.0 - (1.0 - OFF_POINTS) * far

    if ratio is not None:
        err = np.abs((x2 - x1) / np.maximum(y2 - y1, 1.0) - ratio) / ratio
        factors["ratio"] = np.where(err <= RATIO_TOLERANCE, 1.0, np.maximum(0.3, 1.0 - 5.0 * err))
    quality = np.prod(np.stack(list(factors.values())), axis=0)
    return np.round(1.0 + 4.0 * quality, 2), factors


# -- annotators ------------------------------------------------------------------------------------------


def case_seed(scene_seed: int, text: str, ratio: float | None, seed: int = 0) -> int:
    """A stable seed for one case (Python's hash() of a str changes between processes; crc32 does not)."""
    key = f"{scene_seed}|{text}|{'' if ratio is None else round(ratio, 6)}|{seed}"
    return zlib.crc32(key.encode("utf-8"))


def _preference(annotator: Annotator, fill: np.ndarray, rel: np.ndarray) -> np.ndarray:
    pref = -annotator.fill_weight * np.abs(np.log2(np.maximum(fill, 1e-6) / annotator.fill))
    if annotator.placement == "centre":
        pref -= annotator.placement_weight * 4 * np.sqrt(((rel - 0.5) ** 2).sum(-1))
    elif annotator.placement == "thirds":
        thirds = np.array([(x, y) for x in (1 / 3, 2 / 3) for y in (1 / 3, 1 / 2, 2 / 3)])
        pref -= annotator.placement_weight * 4 * np.sqrt(((rel[:, None] - thirds[None]) ** 2).sum(-1)).min(1)
    return pref


def annotators_for(scene: Scene, targets: list[int], xyxy: np.ndarray, mos: np.ndarray, kinds: list[str],
                   ratio: float | None, seed: int) -> list[dict[str, Any]]:
    """4-8 annotators' crops (module docstring), each {"name", "box", "mos"}."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(MIN_ANNOTATORS, MAX_ANNOTATORS + 1))
    chosen = [ANNOTATORS[i] for i in sorted(rng.choice(len(ANNOTATORS), size=count, replace=False))]
    pool = np.array([k == "ratio" for k in kinds]) if ratio is not None else np.ones(len(kinds), dtype=bool)
    if not pool.any():
        pool[:] = True
    pool &= mos >= mos[pool].max() - GOOD_BAND
    index = np.flatnonzero(pool)
    boxes = xyxy[index]
    tb = Box.union_all(scene.objects[t].box for t in targets) if targets else Box(0, 0, scene.width, scene.height)
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1.0)
    cx, cy = tb.center
    rel = np.stack([(cx - boxes[:, 0]) / np.maximum(boxes[:, 2] - boxes[:, 0], 1.0),
                    (cy - boxes[:, 1]) / np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)], axis=1)
    out = []
    for annotator in chosen:
        utility = mos[index] + _preference(annotator, tb.area / area, rel)
        utility = utility + rng.normal(0.0, annotator.noise, size=len(index))
        best = int(index[int(np.argmax(utility))])
        out.append({"name": annotator.name, "box": [int(v) for v in xyxy[best]], "mos": round(float(mos[best]), 2)})
    return out


def annotate(scene: Scene, targets: list[int] | None = None, ratio: float | None = None,
             lookalikes: list[int] | tuple[int, ...] = (), text: str = "", seed: int = 0) -> Annotation:
    """Scored candidates and annotators' crops for `targets` of `scene` (None: free-form, every object)."""
    targets = list(range(len(scene.objects))) if targets is None else list(targets)
    if not targets:  # an empty scene: nothing to frame, only GAICD's anchors
        xyxy, kinds = gaicd_anchors(scene.width, scene.height), None
    else:
        xyxy, kinds = candidate_crops(scene, targets, ratio)
    kinds = kinds or ["grid"] * len(xyxy)
    mos, factors = score_crops(scene, targets, xyxy, ratio, lookalikes)
    people = annotators_for(scene, targets, xyxy, mos, kinds, ratio, case_seed(scene.seed, text, ratio, seed))
    return Annotation(scene.width, scene.height, xyxy, mos, kinds, ratio, people, factors)


def annotate_case(case: WorldCase | None = None, ratio: float | None = None, seed: int = 0, *,
                  scene: Scene | None = None) -> Annotation:
    """The annotation of a world case (its targets; its referral's distractors are the look-alikes), or with
    `scene=` and no case, the free-form one of that scene."""
    if case is None:
        if scene is None:
            raise ValueError("give a case or a scene")
        return annotate(scene, None, ratio, text="", seed=seed)
    return annotate(case.scene, case.targets, ratio, case.referral.distractors, case.referral.text, seed)


__all__ = ["ANNOTATORS", "Annotation", "Annotator", "annotate", "annotate_case", "annotators_for",
           "candidate_crops", "case_seed", "gaicd_anchors", "score_crops"]
