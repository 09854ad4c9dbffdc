"""`detect(detector, image, plan)`: the plan's one detection pass -> `Matches` named by the plan's phrases.

A text plan asks the detector for all its queries at once and folds the columns of same-referent readings
(`plan.groups`) into one; an image plan runs image-guided detection with the loaded query image.
"""

from __future__ import annotations

from typing import Any

from intentcrop.errors import IntentCropError
from intentcrop.ground.matches import Matches
from intentcrop.ground.plan import GroundingPlan


def detect(detector: Any, image: Any, plan: GroundingPlan, query_image: Any = None,
           keep_raw: dict | None = None) -> Matches:
    """detector: an `intentcrop.models.owlvit.OwlVit` (or anything with its detect_text / detect_image).
    keep_raw: a dict that receives the text pass before columns are folded ("matches"), so that a later stage
    reading the same model's tokens (ClipCrop's decoder) does not run the detector again."""
    if plan.kind == "image":
        if query_image is None:
            raise IntentCropError("an image plan needs the loaded query image")
        return detector.detect_image(image, query_image)
    if plan.kind == "subject":
        raise IntentCropError("a subject is not detected: GROUNDERS 'subject' grounds it")
    raw = detector.detect_text(image, list(plan.queries))
    if keep_raw is not None:
        keep_raw.update(matches=raw, model=detector.model_spec)
    return raw.merge_queries(plan.groups)


__all__ = ["detect"]
