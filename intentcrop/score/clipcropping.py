"""CLIPCropping's scorer (SCORERS "clipcropping"): the trained cropping head's MOS-scale score of each candidate,
with the learned knowledge per element in the breakdown.

Terms: 'head' (= 'total', the head's predicted MOS, 1..5 scale), the composition class probabilities of each crop
from the CKE ('center', 'rule_of_thirds', 'horizontal', 'vertical', 'curved'; they sum to 1) and each aesthetic
element's good-side probability from the AKE ('color', 'lighting', 'depth_of_field', 'emphasized_object',
'interesting_content'; 0..1). All come from the learned embeddings of `intentcrop train clipcropping`, not from
zero-shot prompts (that is the scorer "clip_prompts").

head: a folder saved by `intentcrop train clipcropping` (None: the world checkpoint fixtures/world/clipcropping);
model: the CLIP it reads (None: the one the head was trained on, as its config records).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.models.registry import CROP_HEAD, SCORING
from intentcrop.registry import SCORERS
from intentcrop.score.prompts import standout_element

WORLD_HEAD = Path(__file__).resolve().parents[2] / "fixtures" / "world" / "clipcropping"
STAND_OUT = 0.5  # an aesthetic element is quoted when the winner is this many standard deviations above the rest


@SCORERS.register("clipcropping")
class ClipCroppingScorer:
    name = "clipcropping"
    model_arguments = {"model": SCORING, "head": CROP_HEAD}

    def __init__(self, model: Any = None, head: Any = None, device: str | None = None, dtype: Any = None) -> None:
        self.model, self.head_path, self.device, self.dtype = model, head, device, dtype
        self._head = None
        self._lock = threading.Lock()

    @property
    def head(self) -> Any:
        """The head, loaded once, attached to its CLIP (the shared encoder of that model)."""
        if self._head is None:
            with self._lock:
                if self._head is None:
                    from intentcrop.models.clip import shared_encoder
                    from intentcrop.models.clipcropping import ClipCropping

                    head = ClipCropping.from_pretrained(self.head_path or WORLD_HEAD, self.device, self.dtype)
                    head.attach(shared_encoder(self.model or head.trained_clip(), self.device, self.dtype))
                    self._head = head
        return self._head

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        from intentcrop.models.clipcropping import element_names

        if len(candidates) == 0:
            return {"head": np.zeros(0), "total": np.zeros(0)}
        out = self.head.predict(ctx.image, candidates.xyxy)
        comp_names, aest_names = element_names()
        terms = {"head": out["score"], "total": out["score"]}
        terms.update({n: out["composition"][:, i] for i, n in enumerate(comp_names)})
        terms.update({n: out["aesthetics"][:, i] for i, n in enumerate(aest_names)})
        return terms

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        """In a photographer's words: the composition the CKE sees in the winner (its most likely class), then
        the aesthetic element on which it stands furthest above the other candidates (z > STAND_OUT) -- its
        praise when the AKE calls it good, else nothing (a winner is not explained by a fault)."""
        from intentcrop.models.clipcropping import AESTHETIC_ELEMENTS, COMPOSITION_ELEMENTS

        reasons = []
        comp = [(winner[e.name], e) for e in COMPOSITION_ELEMENTS if e.name in winner]
        if comp:
            reasons.append(max(comp, key=lambda pair: pair[0])[1].praise)
        good = [e for e in AESTHETIC_ELEMENTS if winner.get(e.name, 0.0) > 0.5]  # a fault never explains a winner
        best = standout_element(good, winner, all_terms, STAND_OUT)
        if best is not None:
            reasons.append(best.praise)
        return reasons


def top_composition(terms: dict[str, Any], row: int = 0) -> str:
    """The CKE class most likely for one candidate of a scorer's terms (for measurements and tests)."""
    from intentcrop.models.clipcropping import COMPOSITION_ELEMENTS

    return max(COMPOSITION_ELEMENTS, key=lambda e: float(np.asarray(terms[e.name])[row])).name


__all__ = ["ClipCroppingScorer", "WORLD_HEAD", "top_composition"]
