"""The hand-weighted crop scorer (SCORERS "heuristic"): the quality model's features, weighted from principles.

Weights come from what photo editors and cropping studies say matters, not from any dataset
(they were set before looking at FCDB numbers and are never tuned on its dev split):

- content preservation (Chen et al. 2017, GAIC): keep the salient and sharp content, above all faces;
- boundary simplicity (Cheng et al. 2010; smartcrop.js): borders should run through calm areas and
  never slice a face, a person or the subject;
- composition: the subject's centre of mass near a rule-of-thirds point or the centre line;
- area and shape: the photographer already framed the shot, so a crop trims distractions in balance
  but keeps the scene and the photo's proportions; the preference for ~70 % of the area (about the median human crop) reflects
  that human crops trim, but modestly.
"""

from __future__ import annotations

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.registry import SCORERS
from intentcrop.score.features import FEATURE_NAMES, features_for
from intentcrop.score.quality import VALUE_PREFIX, explain_contributions

# feature -> weight (score units per unit of the feature). Features are shares (0..1) or ratios to the
# image mean (~1), so weights of similar size mean similar importance.
HAND_WEIGHTS: dict[str, float] = {
    "saliency_kept": 1.0,  # keep what draws the eye
    "peak_kept": 1.5,  # ... above all its most salient spot
    "saliency_density": 0.5,  # and fill the frame with it rather than with empty space
    "focus_kept": 0.5,  # keep the sharp, in-focus region (the photographer's subject)
    "border_saliency": -0.4,  # do not run a border through the subject
    "border_saliency_max": -0.2,
    "border_edges": -0.3,  # borders through calm areas: no object cut
    "border_edges_max": -0.15,
    "skin_border": -1.0,  # do not slice through a person
    "skin_kept": 0.5,
    "faces_kept": 2.0,  # faces matter most to viewers
    "faces_cut": -2.0,
    "subject_thirds": -0.5,  # subject near a power point ...
    "subject_offset_x": -0.5,  # ... or at least not pushed against a side
    "subject_offset_y": -0.3,
    "aspect_change": -0.5,  # keep the photo's proportions unless content asks otherwise
    "offcentre_x": -1.0,  # respect the photographer's framing: trim in balance, not all from one side
    "offcentre_y": -1.0,
}
AREA_TARGET = 0.7  # the preferred share of the image a free-form crop keeps
AREA_WEIGHT = 4.0  # penalty per squared share away from it


@SCORERS.register("heuristic")
class HeuristicScorer:
    """Offline, no learning: a documented weighted sum of crop features."""

    name = "heuristic"

    def __init__(self, weights: dict[str, float] | None = None, area_target: float | None = None,
                 area_weight: float | None = None) -> None:
        self.weights = dict(HAND_WEIGHTS if weights is None else weights)
        unknown = [k for k in self.weights if k not in FEATURE_NAMES]
        if unknown:
            raise KeyError(f"unknown crop features: {', '.join(unknown)}; known: {', '.join(FEATURE_NAMES)}")
        self.area_target = AREA_TARGET if area_target is None else area_target  # read when built, not imported
        self.area_weight = AREA_WEIGHT if area_weight is None else area_weight

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        features = features_for(ctx, candidates.xyxy)
        column = {name: features[:, i] for i, name in enumerate(FEATURE_NAMES)}
        terms: dict[str, np.ndarray] = {}
        total = np.zeros(len(candidates))
        for name, weight in self.weights.items():
            part = weight * column[name]
            total += part
            terms[name] = part
            terms[VALUE_PREFIX + name] = column[name]
        area = -self.area_weight * (column["area"] - self.area_target) ** 2
        total += area
        terms["area"] = area
        terms[VALUE_PREFIX + "area"] = column["area"]
        terms["total"] = total
        return terms

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        return explain_contributions(winner, all_terms)
