"""Referring texts with their ground truth, query-image crops and subject masks for one scene.

Every text names its targets unambiguously within the scene: 'the small green triangle' only when
one object is small, green and a triangle; 'two yellow stars' only when exactly two yellow stars are
there. The named distractors are the objects that share one or two attributes with a target (the
ones a model that ignores an attribute would keep).

Spatial relations ('the red circle left of the blue square') are generated separately
(`relation_referrals`, `relation_cases`) for objects that have a twin of the same colour and shape:
the relation to a uniquely named anchor is the only thing that tells the two apart, and it holds
clearly for the target and clearly not for its twin. So are positions in the picture ('the red circle on
the left', 'the leftmost red circle', 'the red circle in the top left corner'; `position_referrals`,
`position_cases`): the target lies clearly further to that side than its twin (to both sides of a corner).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
from PIL import Image

from intentcrop.core.box import Box
from intentcrop.ground.phrases import POSITION_SIDES, Position
from intentcrop.world.scenes import Scene, WorldObject, generate_scene
from intentcrop.world.vocabulary import NUMBERS, phrase

KINDS = ("attribute", "size", "count", "group")
RELATIONS = ("left of", "right of", "above", "below")  # image coordinates: y grows downwards
# side (ground.phrases.POSITION_SIDES) -> (trailing wording, superlative wording)
POSITIONS: dict[str, tuple[str, str]] = {
    "left": ("on the left", "leftmost"), "right": ("on the right", "rightmost"),
    "top": ("at the top", "topmost"), "bottom": ("at the bottom", "bottommost"),
}
CORNERS = (("top", "left"), ("top", "right"), ("bottom", "left"), ("bottom", "right"))


@dataclass
class Referral:
    kind: str  # attribute ('the red circle'), size ('the small red circle'), count, group, relation
    text: str
    targets: list[int]
    distractors: list[int] = field(default_factory=list)  # objects sharing an attribute with a target

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "targets": self.targets, "distractors": self.distractors}


def _distractors(scene: Scene, targets: list[int]) -> list[int]:
    out = []
    for i, o in enumerate(scene.objects):
        if i in targets:
            continue
        if any((o.colour == scene.objects[t].colour) + (o.shape == scene.objects[t].shape) >= 1 for t in targets):
            out.append(i)
    return out


def referrals(scene: Scene) -> list[Referral]:
    """All unambiguous referring texts the scene supports, one or more of each kind where possible."""
    out: list[Referral] = []
    seen_kinds: set[tuple[str, str]] = set()
    for i, obj in enumerate(scene.objects):
        same_kind = scene.matching(obj.colour, obj.shape)
        if len(same_kind) == 1:
            # Attribute text needs a distractor sharing one attribute, else a shape or colour alone would do.
            if scene.matching(colour=obj.colour) != [i] or scene.matching(shape=obj.shape) != [i]:
                out.append(Referral("attribute", f"the {obj.describe()}", [i], _distractors(scene, [i])))
        else:
            same_size = scene.matching(obj.colour, obj.shape, obj.size)
            if same_size == [i]:
                out.append(Referral("size", f"the {obj.describe(with_size=True)}", [i], _distractors(scene, [i])))
            if obj.kind not in seen_kinds and len(same_kind) in NUMBERS and len(same_kind) >= 2:
                seen_kinds.add(obj.kind)
                words = phrase(obj.colour, obj.shape, plural=True)
                out.append(Referral("count", f"{NUMBERS[len(same_kind)]} {words}", same_kind,
                                    _distractors(scene, same_kind)))
    singles = [r for r in out if r.kind == "attribute"]
    for a, b in zip(singles[::2], singles[1::2]):  # groups of two uniquely named objects
        targets = sorted(a.targets + b.targets)
        if len(targets) < len(scene.objects):
            out.append(Referral("group", f"{a.text} and {b.text}", targets, _distractors(scene, targets)))
    return out


def _signed_offset(relation: str, subject: Box, anchor: Box) -> float:
    """How far `subject` lies in the `relation` direction from `anchor`, centre to centre, in anchor sizes."""
    (sx, sy), (ax, ay) = subject.center, anchor.center
    dx, dy = (ax - sx) / max(anchor.width, 1.0), (ay - sy) / max(anchor.height, 1.0)
    return {"left of": dx, "right of": -dx, "above": dy, "below": -dy}[relation]


def _with_one_twin(scene: Scene) -> Iterator[tuple[int, WorldObject, WorldObject]]:
    """(index, object, its twin) for each object that has exactly one twin (same colour and shape) in the scene."""
    for i, obj in enumerate(scene.objects):
        twins = scene.matching(obj.colour, obj.shape)
        if len(twins) == 2:
            yield i, obj, scene.objects[twins[0] if twins[1] == i else twins[1]]


def relation_referrals(scene: Scene, clearance: float = 0.5) -> list[Referral]:
    """'the {twin} {relation} the {anchor}' for each object with exactly one twin (same colour and shape) and
    each anchor named uniquely by colour and shape, where the target lies at least `clearance` anchor sizes
    on the relation's side of the anchor's centre and the twin as far on the other side."""
    out: list[Referral] = []
    for i, obj, twin in _with_one_twin(scene):
        for k, anchor in enumerate(scene.objects):
            if k == i or scene.matching(anchor.colour, anchor.shape) != [k]:
                continue
            for relation in RELATIONS:
                if (_signed_offset(relation, obj.box, anchor.box) >= clearance
                        and _signed_offset(relation, twin.box, anchor.box) <= -clearance):
                    out.append(Referral("relation", f"the {obj.describe()} {relation} the {anchor.describe()}", [i],
                                        _distractors(scene, [i])))
    return out


def position_referrals(scene: Scene, clearance: float = 0.5) -> list[Referral]:
    """'the {twin} on the left' and 'the leftmost {twin}' (and the other sides) for each object with exactly one
    twin (same colour and shape) whose centre lies at least `clearance` of its own size further to that side
    than the twin's; 'the {twin} in the top left corner' and 'the top-left {twin}' when that holds for both sides
    of a corner."""
    out: list[Referral] = []
    for i, obj, twin in _with_one_twin(scene):
        clear = set()
        for side, (trailing, superlative) in POSITIONS.items():
            size = obj.box.width if POSITION_SIDES[side][0] == 0 else obj.box.height
            toward = Position(obj.describe(), side).toward
            if toward(obj.box.center) - toward(twin.box.center) >= clearance * size:
                clear.add(side)
                for text in (f"the {obj.describe()} {trailing}", f"the {superlative} {obj.describe()}"):
                    out.append(Referral("position", text, [i], _distractors(scene, [i])))
        for vertical, horizontal in CORNERS:
            if {vertical, horizontal} <= clear:
                for text in (f"the {obj.describe()} in the {vertical} {horizontal} corner",
                             f"the {vertical}-{horizontal} {obj.describe()}"):
                    out.append(Referral("position", text, [i], _distractors(scene, [i])))
    return out


def query_crop(scene: Scene, index: int, margin: float = 0.2) -> Image.Image:
    """A picture of one object for image-conditioned intents: its box grown by `margin` on each side."""
    box = scene.objects[index].box.expand(margin).clip(scene.width, scene.height)
    return scene.image.crop(box.round().as_int_tuple())


def subject_mask(scene: Scene, targets: list[int]) -> np.ndarray:
    """The (H, W) uint8 mask (0/255) of the targets' visible pixels, for subject intents."""
    mask = np.zeros((scene.height, scene.width), dtype=bool)
    for t in targets:
        mask |= scene.objects[t].mask
    return mask.astype(np.uint8) * 255


def tight_box(scene: Scene, targets: list[int]) -> Box:
    return Box.union_all(scene.objects[t].box for t in targets)


@dataclass
class WorldCase:
    """One benchmark case: a scene, what the user asked for, and the truth to measure a crop against."""

    scene: Scene
    referral: Referral

    @property
    def targets(self) -> list[int]:
        return self.referral.targets

    @property
    def target_box(self) -> Box:
        return tight_box(self.scene, self.targets)

    def query_image(self) -> Image.Image | None:
        return query_crop(self.scene, self.targets[0]) if len(self.targets) == 1 else None

    def subject(self) -> np.ndarray:
        return subject_mask(self.scene, self.targets)


def _twin_cases(n_cases: int, first_seed: int, make: Callable[[Scene], list[Referral]]) -> list[WorldCase]:
    """`n_cases` cases from scenes first_seed + i with 4-8 objects (twins need company), one referral drawn from
    `make(scene)` per scene that has any."""
    cases: list[WorldCase] = []
    i = 0
    while len(cases) < n_cases:
        scene_seed = first_seed + i
        i += 1
        rng = np.random.default_rng(scene_seed + 7_777_777)
        scene = generate_scene(scene_seed, n_objects=int(rng.integers(4, 9)))
        options = make(scene)
        if options:
            cases.append(WorldCase(scene, options[int(rng.integers(len(options)))]))
    return cases


def relation_cases(n_cases: int, seed: int = 0) -> list[WorldCase]:
    """`n_cases` spatial-relation cases from scenes seed*100000 + 50000 + i (apart from `benchmark_cases`'
    scenes, so adding them leaves those cases as they were)."""
    return _twin_cases(n_cases, seed * 100_000 + 50_000, relation_referrals)


def position_cases(n_cases: int, seed: int = 0) -> list[WorldCase]:
    """`n_cases` position cases ('the red circle on the left') from scenes seed*100000 + 70000 + i (apart from the
    other cases' scenes)."""
    return _twin_cases(n_cases, seed * 100_000 + 70_000, position_referrals)


def benchmark_cases(n_scenes: int, seed: int = 0, kinds: tuple[str, ...] = KINDS) -> list[WorldCase]:
    """One case per scene (the first kind in rotation the scene supports), from scenes seed*100000 + i.

    Scenes with distractors are what the benchmark is about, so scenes get 3-8 objects here."""
    cases: list[WorldCase] = []
    i = 0
    while len(cases) < n_scenes:
        scene_seed = seed * 100_000 + i
        i += 1
        rng = np.random.default_rng(scene_seed + 7_777_777)
        scene = generate_scene(scene_seed, n_objects=int(rng.integers(3, 9)))
        options = referrals(scene)
        wanted = kinds[len(cases) % len(kinds)]
        pick = [r for r in options if r.kind == wanted] or [r for r in options if r.kind in kinds]
        if pick:
            cases.append(WorldCase(scene, pick[int(rng.integers(len(pick)))]))
    return cases
