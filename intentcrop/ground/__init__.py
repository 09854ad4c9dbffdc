"""Stage 2, ground: where the intent is in the image.

* text        -> OWL-ViT / OWLv2 boxes for the full text and its noun phrases (GROUNDERS "owlvit"); a text that
                 picks its subject by a spatial relation -> the subject and anchor, and the subject it points at;
                 one that places it in the picture ("the dog on the left") -> the subject furthest that way
* query image -> OWL-ViT image-guided detection (GROUNDERS "owlvit")
* either, optionally (pipeline "vlm") -> CLIP re-scores each phrase's candidate boxes (`verify.ClipVerifier`)
* either -> small kept boxes are looked at again, closer, in windows around them (`refine`); the same closer look
                 decides between things that contend closely for a text naming one thing or a query image
* subject     -> its box or mask's box, in core (`Intent.subject_box`), strict

Each grounder returns `intentcrop.core.context.Grounding` (boxes, scores, matched phrases, region = union
of the kept matches, strict=False). How a crop frames that region is scored in `intentcrop.score.framing`.
torch and transformers load only when a grounder first runs.
"""

from intentcrop.ground.fusion import (Match, fuse_matches, fuse_position, fuse_relation, relation_holds,
                                     top_boxes_per_query)
from intentcrop.ground.owlvit import PADDED_SQUARE, STRETCHED, OwlVitGrounder, box_frame, model_boxes_to_pixels
from intentcrop.ground.phrases import (Position, Relation, grounding_queries, noun_phrases, parse_position,
                                      parse_relation, phrase_backend, rule_noun_phrases)
from intentcrop.ground.refine import CloserLook, recheck_contenders, refine_grounding
from intentcrop.ground.verify import ClipVerifier

__all__ = [
    "ClipVerifier", "CloserLook", "Match", "OwlVitGrounder", "PADDED_SQUARE", "Position", "Relation", "STRETCHED",
    "box_frame", "fuse_matches", "fuse_position", "fuse_relation", "grounding_queries", "model_boxes_to_pixels",
    "noun_phrases", "parse_position", "parse_relation", "phrase_backend", "recheck_contenders", "refine_grounding",
    "relation_holds", "rule_noun_phrases", "top_boxes_per_query",
]
