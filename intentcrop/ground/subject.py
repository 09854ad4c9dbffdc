"""Subject grounding (GROUNDERS "subject"): the intent's subject box, or the box around its mask, kept strictly.

Nothing is detected: the user said where the subject is, so the Grounding is strict (every crop holds it).
"""

from __future__ import annotations

from intentcrop.core.context import CropContext, Grounding
from intentcrop.errors import IntentCropError
from intentcrop.registry import GROUNDERS


@GROUNDERS.register("subject")
class SubjectGrounder:
    name = "subject"

    def ground(self, ctx: CropContext) -> Grounding:
        box = ctx.intent.subject_box(ctx.width, ctx.height)
        if box is None:
            raise IntentCropError("subject grounding needs a subject box or mask")
        return Grounding(boxes=[box], scores=[1.0], phrases=["subject"], region=box, strict=True, source="subject",
                         confidence=1.0)


__all__ = ["SubjectGrounder"]
