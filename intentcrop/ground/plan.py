"""`plan(intent, config)`: what one grounding call asks the detector and how it decides -- all parsing, once.

* relation  "the red circle left of the blue square": query the subject and the anchor, keep the subject the
            relation points at (`fusion.fuse_relation`)
* position  "the dog on the left": query the subject alone, keep the match furthest to that side
            (`fusion.fuse_position`)
* plain     any other text: the full text and its noun phrases (`phrases.grounding_queries`), as ClipCrop
            does; a phrase that is the whole text ("the red circle" / "red circle") is folded into the text's
            column, and the consistent matches are unioned (`fusion.fuse_matches`)
* image     a query image: OWL-ViT's image-guided detection
* subject   a subject box or mask: nothing to detect (GROUNDERS "subject")

The plan also says which queries CLIP verifies (those naming one thing: a crop of one dog says nothing about
"three dogs"; the full text only when it names one referent) and whether close contenders get a closer look
(a text naming one thing, or a query image -- not a size word: up close every thing is big).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from intentcrop.core.intent import Intent
from intentcrop.errors import IntentCropError
from intentcrop.ground.config import GroundingConfig
from intentcrop.ground.fusion import phrase_count
from intentcrop.ground.matches import QUERY_IMAGE
from intentcrop.ground.phrases import (Position, Relation, grounding_queries, names_size, parse_position,
                                      parse_relation, same_referent)

KINDS = ("plain", "relation", "position", "image", "subject")


@dataclass(frozen=True)
class GroundingPlan:
    kind: str  # one of KINDS
    queries: tuple[str, ...] = ()  # what the detector is asked, in order (("query image",) for a query image)
    groups: tuple[tuple[int, ...], ...] = ()  # the detector's columns folded into each phrase (same referent)
    verified: tuple[bool, ...] = ()  # per phrase: whether CLIP re-scores its candidates (with a verifier)
    recheck: bool = False  # close contenders for the first phrase get a closer look before fusing
    relation: Relation | None = None
    position: Position | None = None
    query_image: Any = None  # the intent's query image, as given (the grounder loads it)

    @property
    def phrases(self) -> list[str]:
        """The phrases matches are named by: one per group, its first query."""
        return [self.queries[g[0]] for g in self.groups]

    @property
    def source(self) -> str:
        """Grounding.source of the result."""
        return {"image": "query_image", "subject": "subject"}.get(self.kind, "text")


def same_referent_groups(queries: list[str]) -> tuple[tuple[int, ...], ...]:
    """Every noun phrase that is the whole text ('the red circle' / 'red circle') joins the text's own group:
    two readings of one referent, not two things to keep. Left apart, each reading's best box is kept, and
    where they disagree the region spans the target and a look-alike."""
    same = [q for q in range(1, len(queries)) if same_referent(queries[0], queries[q])]
    return (tuple([0] + same),) + tuple((q,) for q in range(1, len(queries)) if q not in same)


def merge_same_referent(queries: list[str], probs: np.ndarray) -> tuple[list[str], np.ndarray]:
    """`same_referent_groups` applied to (P, Q) probabilities: each group's mean probability in one column."""
    groups = same_referent_groups(queries)
    if len(groups) == len(queries):
        return queries, probs
    merged = probs[:, list(groups[0])].mean(axis=1, keepdims=True)
    rest = [g[0] for g in groups[1:]]
    return [queries[0]] + [queries[q] for q in rest], np.concatenate([merged, probs[:, rest]], axis=1)


def _singles(queries: list[str]) -> tuple[tuple[int, ...], ...]:
    return tuple((q,) for q in range(len(queries)))


def plan(intent: Intent, config: GroundingConfig | None = None) -> GroundingPlan:
    """The plan for `intent`: a text first (relation, then position, then plain), else a query image, else a
    subject. An intent with none of them has nothing to ground (IntentCropError)."""
    config = GroundingConfig() if config is None else config
    recheck = config.recheck and bool(config.refine_windows)  # the closer look uses the refinement's windows
    text = intent.text
    relation = parse_relation(text) if text else None
    if relation is not None:
        queries = list(dict.fromkeys([relation.subject, relation.anchor]))
        return GroundingPlan("relation", tuple(queries), _singles(queries),
                             tuple(phrase_count(q) == 1 for q in queries), relation=relation)
    position = parse_position(text) if text else None
    if position is not None:
        queries = [position.subject]
        return GroundingPlan("position", tuple(queries), _singles(queries), (phrase_count(position.subject) == 1,),
                             position=position)
    if text:
        queries = grounding_queries(text, config.max_phrases)
        groups = same_referent_groups(queries)
        phrases = [queries[g[0]] for g in groups]
        # CLIP judges a crop of one thing: the full text only when it names one referent (no other noun phrase
        # left after merging), a phrase only when it names one instance
        verified = (len(phrases) == 1 and phrase_count(phrases[0]) == 1,) + tuple(phrase_count(q) == 1
                                                                                for q in phrases[1:])
        return GroundingPlan("plain", tuple(queries), groups, verified,
                             recheck=recheck and verified[0] and not names_size(phrases[0]))
    if intent.query_image is not None:
        return GroundingPlan("image", (QUERY_IMAGE,), ((0,),), (True,), recheck=recheck,
                             query_image=intent.query_image)
    if intent.subject is not None:
        return GroundingPlan("subject")
    raise IntentCropError("nothing to ground: the intent has no text, query image or subject")


__all__ = ["GroundingPlan", "KINDS", "merge_same_referent", "plan", "same_referent_groups"]
