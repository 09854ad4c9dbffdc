"""Stage 2, ground: where the intent is in the image.

A text or query-image intent goes plan -> detect -> decide (GROUNDERS "owlvit", `owlvit.OwlVitGrounder`):

* `plan.plan(intent, config)`   -> a `GroundingPlan`: plain text (the full text and its noun phrases), a relation
                                   ("the red circle left of the blue square": subject and anchor), a position
                                   ("the dog on the left": the subject), a query image, or a subject
* `detect.detect(...)`          -> one OWL-ViT / OWLv2 pass for the plan (`intentcrop.models.owlvit.OwlVit`): `Matches`
* `decide.decide(...)`          -> CLIP re-scores the candidates (`verify`, pipeline "vlm"), the matches are fused by
                                   the plan's kind (`fusion`), close contenders for one thing get a closer look
                                   (`recheck`) and small kept boxes are looked at again in windows (`refine`);
                                   the result's calibrated `confidence` says whether the intent was found at all
                                   (`confidence`; below GroundingConfig.min_confidence the pipeline returns the
                                   free-form crop with a warning)

A subject intent -> its box or mask's box, strict (GROUNDERS "subject", `subject.SubjectGrounder`).
The tunables are one `GroundingConfig` (ground.config). The functions `plan`, `detect` and `decide` are not
re-exported here: each shares its module's name, and would hide the module.

Each grounder returns `intentcrop.core.context.Grounding` (boxes, scores, matched phrases, region = union
of the kept matches, strict=False for a model's guess). How a crop frames that region is scored in
`intentcrop.score.framing`. torch and transformers load only when a grounder first runs.
"""

from intentcrop.ground.config import GroundingConfig
from intentcrop.ground.confidence import calibrate, fit_platt
from intentcrop.ground.fusion import (Match, fuse_matches, fuse_position, fuse_relation, relation_holds,
                                     top_boxes_per_query)
from intentcrop.ground.matches import PADDED_SQUARE, STRETCHED, Matches, box_frame, model_boxes_to_pixels
from intentcrop.ground.owlvit import OwlVitGrounder
from intentcrop.ground.phrases import (Position, Relation, grounding_queries, noun_phrases, parse_position,
                                      parse_relation, phrase_backend, rule_noun_phrases)
from intentcrop.ground.plan import GroundingPlan
from intentcrop.ground.refine import CloserLook, CloserLooks, recheck_contenders, refine_grounding
from intentcrop.ground.subject import SubjectGrounder
from intentcrop.ground.deferred import DeferredGrounder  # noqa: F401 (registers "deferred")
from intentcrop.ground.verify import ClipVerifier

__all__ = [
    "ClipVerifier", "CloserLook", "CloserLooks", "GroundingConfig", "GroundingPlan", "Match", "Matches",
    "OwlVitGrounder", "PADDED_SQUARE", "Position", "Relation", "STRETCHED", "SubjectGrounder", "box_frame", "calibrate", "fit_platt",
    "fuse_matches", "fuse_position", "fuse_relation", "grounding_queries", "model_boxes_to_pixels", "noun_phrases",
    "parse_position", "parse_relation", "phrase_backend", "recheck_contenders", "refine_grounding",
    "relation_holds", "rule_noun_phrases", "top_boxes_per_query",
]
