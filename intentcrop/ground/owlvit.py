"""OWL-ViT / OWLv2 grounding (GROUNDERS "owlvit"): text or a query image -> boxes -> the region to keep.

    grounding = decide(plan(intent), detect(plan))

`plan` parses the intent once (ground.plan: plain text, relation, position or query image), `detect` runs the
plan's one detection pass (ground.detect, with the model wrapper `intentcrop.models.owlvit.OwlVit`), and
`decide` verifies, fuses, rechecks and refines (ground.decide). The tunables are one `GroundingConfig`:
the call's (`ctx.options.grounding`: the defaults merged with the pipeline's and the call's options) with the
grounder's own `config` overrides on top.
"""

from __future__ import annotations

from typing import Any, Mapping

from intentcrop.core.context import CropContext, Grounding
from intentcrop.errors import IntentCropError
from intentcrop.ground.config import GroundingConfig
from intentcrop.ground.decide import decide
from intentcrop.ground.detect import detect
from intentcrop.ground.plan import plan
from intentcrop.ground.refine import CloserLooks
from intentcrop.ground.verify import ClipVerifier
from intentcrop.models.registry import GROUNDING, SCORING
from intentcrop.registry import GROUNDERS

RAW_MATCHES_KEY = "owlvit_raw_matches"  # ctx.cache: the text pass before folding, and the model it came from


@GROUNDERS.register("owlvit")
class OwlVitGrounder:
    """model: short name ("owlvit-b32", "owlv2-b16"), hub id or folder; None -> the default grounding model.
    verify: CLIP re-scores each phrase's candidates (ground.verify) with verifier_model (None -> the default
    scoring model); "if_given": only when a verifier_model is given (no CLIP download for a method that can do
    without). config: a GroundingConfig or a mapping of its fields to override."""

    name = "owlvit"
    # which constructor argument receives which role's model (intentcrop.models.routing); the verifier's only
    # when its switch is on
    model_arguments = {"model": GROUNDING, "verifier_model": SCORING}
    model_switches = {"verifier_model": "verify"}

    def __init__(self, model: Any = None, device: str | None = None, dtype: Any = None, verify: "bool | str" = False,
                 verifier_model: Any = None, config: "GroundingConfig | Mapping[str, Any] | None" = None) -> None:
        from intentcrop.models.owlvit import OwlVit  # models.owlvit imports ground.matches: import it late

        self.detector = OwlVit(model, device, dtype)
        self.device, self.dtype = device, dtype
        if verify not in (True, False, "if_given"):
            raise IntentCropError(f"verify must be True, False or 'if_given', not {verify!r}")
        self.verify = verify is True or (verify == "if_given" and verifier_model is not None)
        self.verifier_model = verifier_model
        self.overrides = config
        GroundingConfig().merged(config)  # unknown names fail here, not at the first call

    def config_for(self, ctx: CropContext) -> GroundingConfig:
        """The call's grounding config with this grounder's overrides on top."""
        return ctx.options.grounding.merged(self.overrides)

    def verifier(self, config: GroundingConfig, prompt_template: str | None = None) -> ClipVerifier | None:
        if not self.verify:
            return None
        return ClipVerifier(self.verifier_model, self.device, self.dtype, weight=config.verify_weight,
                            margin=config.verify_margin, prompt_template=prompt_template)

    def ground(self, ctx: CropContext) -> Grounding:
        intent = ctx.intent
        if not intent.text and intent.query_image is None:
            raise IntentCropError("OWL-ViT grounding needs a text or a query image")
        config = self.config_for(ctx)
        the_plan = plan(intent, config)
        query = self._query_image(ctx) if the_plan.kind == "image" else None
        matches = detect(self.detector, ctx.image, the_plan, query, keep_raw=ctx.cached(RAW_MATCHES_KEY, dict))
        looks = CloserLooks(self.detector, ctx.image, config, query)
        verifier = self.verifier(config, ctx.options.clip_text_template)
        return decide(the_plan, matches, config, ctx.image, looks, verifier, query)

    @staticmethod
    def _query_image(ctx: CropContext) -> Any:
        from intentcrop.io.image import load_image

        return ctx.cached("query_image", lambda: load_image(ctx.intent.query_image))


__all__ = ["OwlVitGrounder", "RAW_MATCHES_KEY"]
