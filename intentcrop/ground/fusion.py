"""Matches -> the region a crop must keep: ClipCrop's union of matched boxes, minus outliers.

Per query phrase the best-scoring image tokens give candidate boxes (a few per phrase after NMS, since
"three dogs" is several boxes). The best match overall anchors the region. A match can be kept only if
it scores at least `min_relative_score` of it and is at least `min_relative_area` of its area (tiny
boxes are usually parts or noise), and then only when it is
  * one of the instances the text names: the best match of each phrase ("the woman and the boat" names
    both) and, for a phrase with a number, its best N matches ("three dogs");
  * as likely as the best (`tie_score` of its score): the models cannot tell which is meant, so both stay;
  * another box of a kept thing (IoU at least `same_thing_iou` with a kept box: a looser or tighter
    outline of the same object, which guards against a box that cuts it).
Any other match is a second instance of something asked for once ("the red circle" beside another red
circle): it is left out, and if it lies clear of the region it is reported as a look-alike
(`Grounding.rejected`) for the scorers to leave out too. The region is the union of the kept boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intentcrop.core.box import Box, pairwise_iou
from intentcrop.core.context import Grounding
from intentcrop.ground.phrases import Position, Relation



def _or_defaults(**given: "float | None") -> list[float]:
    """Each given value, or (None) the grounding option of that name as it is now (never bound at import)."""
    from intentcrop.defaults import DEFAULTS

    names = {"subject_min_score": "relation_min_score"}
    return [getattr(DEFAULTS.grounding, names.get(k, k)) if v is None else v for k, v in given.items()]


@dataclass(frozen=True)
class Match:
    box: Box
    score: float
    phrase: str


def top_boxes_per_query(xyxy: np.ndarray, scores: np.ndarray, per_query: int | None = None,
                        nms_iou: float = 0.5) -> list[list[int]]:
    """For each query (column of scores (P, Q)), up to `per_query` token indices, best first, after greedy NMS."""
    (per_query,) = _or_defaults(per_query=per_query)
    out = []
    for q in range(scores.shape[1]):
        order = np.argsort(-scores[:, q], kind="stable")
        kept: list[int] = []
        for idx in order:
            if len(kept) >= per_query:
                break
            if kept and pairwise_iou(xyxy[[idx]], xyxy[kept]).max() > nms_iou:
                continue
            kept.append(int(idx))
        out.append(kept)
    return out


NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "both": 2, "pair": 2, "couple": 2}


def phrase_count(phrase: str) -> int:
    """How many instances a phrase names: 'three green crosses' -> 3, '2 dogs' -> 2, otherwise 1."""
    for word in phrase.lower().replace(",", " ").split():
        if word in NUMBER_WORDS:
            return NUMBER_WORDS[word]
        if word.isdigit() and 0 < int(word) <= 20:
            return int(word)
    return 1


def fuse_matches(
    matches: list[Match],
    source: str,
    min_score: float | None = None,
    min_relative_score: float | None = None,
    min_relative_area: float | None = None,
    tie_score: float | None = None,
    same_thing_iou: float | None = None,
) -> Grounding:
    """Keep the best match and those consistent with it; region = their union (None if nothing scores
    `min_score`). The result is never strict: a model's guess may be overruled by the crop constraints."""
    min_score, min_relative_score, min_relative_area, tie_score, same_thing_iou = _or_defaults(
        min_score=min_score, min_relative_score=min_relative_score, min_relative_area=min_relative_area,
        tie_score=tie_score, same_thing_iou=same_thing_iou)
    matches = sorted((m for m in matches if m.box.area > 0), key=lambda m: -m.score)
    if not matches or matches[0].score < min_score:
        return Grounding(boxes=[], scores=[], phrases=[], region=None, strict=False, source=source)
    best = matches[0]
    kept = [best]
    left_out: list[Match] = []
    rank_in_phrase = {best.phrase: 1}
    for m in matches[1:]:
        rank = rank_in_phrase.get(m.phrase, 0)
        rank_in_phrase[m.phrase] = rank + 1
        wanted = (rank < phrase_count(m.phrase)  # one of the instances the phrase itself asks for
                  or m.score >= tie_score * best.score  # as likely as the best: cannot tell which is meant
                  or any(m.box.iou(k.box) >= same_thing_iou for k in kept))  # another outline of a kept thing
        if (not wanted or m.score < max(min_score, min_relative_score * best.score)
                or m.box.area < min_relative_area * best.box.area):
            left_out.append(m)
            continue
        if any(m.box.iou(k.box) > 0.9 for k in kept):  # the same box found by another phrase
            continue
        kept.append(m)
    grounding = kept_grounding(kept, left_out, source, min_score)
    names_one_thing = len({m.phrase for m in matches}) == 1 and phrase_count(best.phrase) == 1
    if names_one_thing:
        grounding.alternatives = readings(kept, left_out, source, min_score, same_thing_iou)
        if grounding.alternatives:
            grounding.selection = (f"{len(grounding.alternatives)} things match {best.phrase!r} about equally well: "
                                   "the region keeps them all (with k > 1 the next crops offer each alone)")
    return grounding


def kept_grounding(kept: list[Match], left_out: list[Match], source: str, min_score: float) -> Grounding:
    """The grounding of the kept matches: their boxes, the region their union, and the left-out matches that are
    other things as look-alikes (`look_alikes`)."""
    region = Box.union_all(m.box for m in kept)
    return Grounding(
        boxes=[m.box for m in kept], scores=[float(m.score) for m in kept], phrases=[m.phrase for m in kept],
        region=region, strict=False, source=source, **look_alikes(left_out, region, min_score),
    )


def readings(kept: list[Match], left_out: list[Match], source: str, min_score: float,
             same_thing_iou: float) -> list[Grounding]:
    """For a text naming one thing whose kept matches are several things (a tie): one grounding per thing
    (its outlines: matches linked by IoU >= same_thing_iou), best first, with the other things as look-alikes.
    Empty when the kept matches are one thing."""
    things: list[list[Match]] = []
    for m in kept:  # kept is best first, so each thing's first match is its best
        home = next((t for t in things if any(m.box.iou(k.box) >= same_thing_iou for k in t)), None)
        if home is None:
            things.append([m])
        else:
            home.append(m)
    if len(things) < 2:
        return []
    out = []
    for thing in things:
        others = [m for t in things if t is not thing for m in t]
        out.append(kept_grounding(thing, others + left_out, source, min_score))
    return out


def relation_holds(relation: str, subject: Box, anchor: Box) -> bool:
    """Whether `subject` stands `relation` ("left of", "right of", "above", "below") to `anchor`, judged by box
    centres along the relation's axis (image y grows downwards)."""
    (sx, sy), (ax, ay) = subject.center, anchor.center
    return {"left of": sx < ax, "right of": sx > ax, "above": sy < ay, "below": sy > ay}[relation]


def fuse_relation(
    matches: list[Match],
    relation: Relation,
    source: str,
    min_score: float | None = None,
    same_thing_iou: float | None = None,
    subject_min_score: float | None = None,
    **fusion_args: float,
) -> Grounding:
    """The subject that stands in `relation` to the anchor: of the pairs (subject match, anchor match) that are
    two things (IoU < 0.5) and satisfy the relation, the one with the highest product of scores. A subject match
    needs only `subject_min_score` here (as long as some subject match reaches `min_score`): the relation is there
    because the subject has twins, and a detector often scores the second twin far below the first. Its subject box
    and that box's other outlines (IoU >= same_thing_iou) make the region; the other subject matches are the
    look-alikes the relation ruled out. The anchor only locates: it is not part of the region. Without an
    anchor match or a pair that satisfies the relation the relation cannot decide, and the subject's matches
    are fused as for a plain text (`fuse_matches`)."""
    min_score, same_thing_iou, subject_min_score = _or_defaults(
        min_score=min_score, same_thing_iou=same_thing_iou, subject_min_score=subject_min_score)
    subjects = sorted((m for m in matches if m.phrase == relation.subject and m.box.area > 0), key=lambda m: -m.score)
    anchors = [m for m in matches if m.phrase == relation.anchor and m.score >= min_score and m.box.area > 0]
    pairs = [(s.score * a.score, i, s) for i, s in enumerate(subjects) for a in anchors
             if s.score >= subject_min_score and s.box.iou(a.box) < 0.5
             and relation_holds(relation.relation, s.box, a.box)]
    if not pairs or max(s.score for s in subjects) < min_score:
        return fuse_matches(subjects, source, min_score=min_score, same_thing_iou=same_thing_iou, **fusion_args)
    _, _, chosen = max(pairs, key=lambda p: (p[0], -p[1]))
    selection = (f"the {relation.subject!r} match {relation.relation} a {relation.anchor!r} match, of "
                 f"{len(subjects)} {relation.subject!r} matches")
    return _chosen_subject(chosen, subjects, source, min_score, same_thing_iou, selection)


def _chosen_subject(chosen: Match, subjects: list[Match], source: str, min_score: float, same_thing_iou: float,
                    selection: str) -> Grounding:
    """The grounding of one subject match picked among its twins (by a relation or a side, as `selection` says):
    the region is it and its other outlines (IoU >= same_thing_iou); the other subject matches are look-alikes."""
    kept = [chosen] + [m for m in subjects if m is not chosen and m.box.iou(chosen.box) >= same_thing_iou]
    left_out = [m for m in subjects if all(m is not k for k in kept)]
    grounding = kept_grounding(kept, left_out, source, min_score)
    grounding.selection = selection
    return grounding


def fuse_position(
    matches: list[Match],
    position: Position,
    source: str,
    min_score: float | None = None,
    min_relative_score: float | None = None,
    same_thing_iou: float | None = None,
    subject_min_score: float | None = None,
    **fusion_args: float,
) -> Grounding:
    """The subject match lying furthest toward `position.side` ("the dog on the left": the leftmost dog, by box
    centre; "in the top left corner": furthest along that diagonal, `Position.toward`), among those scoring at
    least `subject_min_score` and `min_relative_score` of the best (twins score far apart, as for relations; the
    relative floor keeps a stray weak box at the edge from winning). Its other outlines (IoU >= same_thing_iou)
    join the region; the other subject matches are the look-alikes. Nothing reaching `min_score` -> no region, as
    `fuse_matches`."""
    min_score, min_relative_score, same_thing_iou, subject_min_score = _or_defaults(
        min_score=min_score, min_relative_score=min_relative_score, same_thing_iou=same_thing_iou,
        subject_min_score=subject_min_score)
    subjects = sorted((m for m in matches if m.box.area > 0), key=lambda m: -m.score)
    if not subjects or subjects[0].score < min_score:
        return fuse_matches(subjects, source, min_score=min_score, min_relative_score=min_relative_score,
                            same_thing_iou=same_thing_iou, **fusion_args)
    floor = max(subject_min_score, min_relative_score * subjects[0].score)
    plausible = [m for m in subjects if m.score >= floor]
    chosen = max(plausible, key=lambda m: (position.toward(m.box.center), m.score))
    selection = f"the {position.subject!r} match furthest toward the {position.side}, of {len(plausible)} likely enough"
    return _chosen_subject(chosen, subjects, source, min_score, same_thing_iou, selection)


def look_alikes(left_out: list[Match], region: Box, min_score: float, max_overlap: float = 0.5) -> dict[str, list]:
    """The left-out matches that are other things, not parts of the region: scoring at least `min_score`,
    mostly outside the region (at most `max_overlap` of their area inside it), one box per thing (NMS)."""
    boxes: list[Box] = []
    scores: list[float] = []
    for m in sorted(left_out, key=lambda m: -m.score):
        if m.score < min_score:
            break
        inside = m.box.intersection(region) / max(m.box.area, 1e-9)
        if inside > max_overlap or any(m.box.iou(b) > 0.5 for b in boxes):
            continue
        boxes.append(m.box)
        scores.append(float(m.score))
    return {"rejected": boxes, "rejected_scores": scores}


__all__ = ["Match", "fuse_matches", "fuse_position", "fuse_relation", "look_alikes", "phrase_count", "readings",
           "relation_holds", "top_boxes_per_query"]
