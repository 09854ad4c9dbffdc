"""`decide(plan, matches, ...)`: a plan's matches -> the Grounding, in four steps, each its own function.

1. `candidates`: the best boxes of every phrase (NMS), re-scored by CLIP first when verifying (`verify`)
2. `fuse`: a relation's subject (`fusion.fuse_relation`), a side's subject (`fusion.fuse_position`), or the
   union of the consistent matches (`fusion.fuse_matches`) -- after `recheck` for a plan naming one thing
3. `recheck`: close contenders for that one thing are looked at again, closer (`refine.recheck_contenders`)
4. `refine`: small kept boxes are replaced by their closer look (`refine.refine_grounding`)
5. the grounding's calibrated confidence (`confidence.grounding_confidence`): was the intent found at all?
"""

from __future__ import annotations

from typing import Any

from intentcrop.core.context import Grounding
from intentcrop.ground.config import GroundingConfig
from intentcrop.ground.confidence import grounding_confidence
from intentcrop.ground.fusion import Match, fuse_matches, fuse_position, fuse_relation, phrase_count
from intentcrop.ground.matches import Matches
from intentcrop.ground.plan import GroundingPlan
from intentcrop.ground.refine import CloserLooks, recheck_contenders, refine_grounding
from intentcrop.ground.verify import ClipVerifier


def verify(plan: GroundingPlan, matches: Matches, candidates: list[list[int]], verifier: ClipVerifier, image: Any,
           query_image: Any = None) -> Matches:
    """`matches` with each verified phrase's candidate tokens re-scored by CLIP (`ClipVerifier.rescore`)."""
    queries = (verifier.image_query(query_image) if plan.kind == "image"
               else verifier.text_queries(matches.queries))
    return matches.with_scores(verifier.rescore(image, matches.xyxy, matches.scores, candidates, queries,
                                                plan.verified))


def candidates(plan: GroundingPlan, matches: Matches, config: GroundingConfig, verifier: ClipVerifier | None = None,
               image: Any = None, query_image: Any = None) -> list[Match]:
    """The best boxes of every phrase; when verifying, more candidates per phrase are taken and re-scored first."""
    per_query = max([config.per_query] + [phrase_count(p) for p in matches.queries])  # "five stars": five boxes
    verifying = verifier is not None and any(plan.verified)
    top = matches.top_per_query(max(per_query, config.verify_candidates) if verifying else per_query)
    if verifying:
        matches = verify(plan, matches, top, verifier, image, query_image)
        top = [sorted(idx, key=lambda i: -matches.scores[i, q])[:per_query] for q, idx in enumerate(top)]
    out = []
    for q, indices in enumerate(top):
        for i in indices:
            match = matches.match(i, q)
            if match.box.area > 0:
                out.append(match)
    return out


def recheck(plan: GroundingPlan, matches: list[Match], config: GroundingConfig,
            looks: CloserLooks) -> Grounding | None:
    """The fusion of `matches` after a closer look at the things contending for the plan's one thing; None when
    nothing contends or the closer look cannot decide."""
    rechecked = recheck_contenders(matches, lambda ms: looks([(m.box, m.phrase) for m in ms]),
                                   config.recheck_min_relative, config.same_thing_iou)
    if rechecked is None:
        return None
    grounding = fuse_matches(rechecked, plan.source, **dict(config.fusion_args(), tie_score=config.recheck_tie_score))
    grounding.selection = grounding.selection or (
        f"several things matched {plan.phrases[0]!r} closely: each was looked at again, closer, and this one "
        "is the most likely up close")
    return grounding


def fuse(plan: GroundingPlan, matches: list[Match], config: GroundingConfig,
         looks: CloserLooks | None = None) -> Grounding:
    """The region to keep, by the plan's kind."""
    if plan.kind == "relation":  # "the red circle left of the blue square": find both, keep the subject
        return fuse_relation(matches, plan.relation, plan.source, subject_min_score=config.relation_min_score,
                             **config.fusion_args())
    if plan.kind == "position":  # "the dog on the left": find the dogs, keep the one furthest to that side
        return fuse_position(matches, plan.position, plan.source, subject_min_score=config.relation_min_score,
                             **config.fusion_args())
    if plan.recheck and looks is not None:  # one thing is meant: which of the close matches is it?
        grounding = recheck(plan, matches, config, looks)
        if grounding is not None:
            return grounding
    return fuse_matches(matches, plan.source, **config.fusion_args())


def refine(grounding: Grounding, looks: CloserLooks, config: GroundingConfig) -> Grounding:
    """`grounding` with its small kept boxes (and its alternative readings') replaced by their closer look's."""
    if not config.refine_windows or not grounding.boxes:
        return grounding
    items = list(zip(grounding.boxes, grounding.phrases))
    items += [item for a in grounding.alternatives for item in zip(a.boxes, a.phrases)]
    looks(items)  # every box in one batch

    def refine_box(box, phrase):
        found = looks([(box, phrase)])[0]
        return box if found is None else found.box

    return refine_grounding(grounding, refine_box)


def decide(plan: GroundingPlan, matches: Matches, config: GroundingConfig, image: Any,
           looks: CloserLooks | None = None, verifier: ClipVerifier | None = None,
           query_image: Any = None) -> Grounding:
    """candidates -> fuse (with recheck) -> refine -> confidence. Without `looks` there is no closer look (no
    recheck, no refinement)."""
    grounding = fuse(plan, candidates(plan, matches, config, verifier, image, query_image), config, looks)
    grounding = grounding if looks is None else refine(grounding, looks, config)
    grounding.confidence = grounding_confidence(grounding, config.calibration, plan.kind)
    return grounding


__all__ = ["candidates", "decide", "fuse", "recheck", "refine", "verify"]
