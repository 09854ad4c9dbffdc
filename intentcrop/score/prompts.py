"""Prompt knowledge, CLIPCropping style (SCORERS "clip_prompts"): composition and aesthetic elements as
pairs of CLIP prompts, scored on each crop's embedding.

Each element has a positive and a negative prompt; its score for a crop is the probability CLIP gives
the positive one in a two-way softmax at the model's own logit scale -- 0..1, 0.5 meaning undecided.
Composition elements (center, rule of thirds, horizontal, vertical, curved) average into 'composition',
aesthetic elements (color, lighting, depth of field, emphasized object, interesting content) into
'aesthetics'; 'total' is their mean. Every element appears in the breakdown, so the explanation can
say which one made the winning crop stand out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.models.clip import shared_encoder
from intentcrop.models.registry import SCORING
from intentcrop.registry import SCORERS
from intentcrop.score.clip import crop_embeddings


@dataclass(frozen=True)
class PromptElement:
    name: str
    group: str  # "composition" or "aesthetics"
    positive: str
    negative: str
    praise: str  # what the explanation says when a crop stands out on this element


PROMPT_KNOWLEDGE: tuple[PromptElement, ...] = (
    PromptElement("center", "composition", "a photo with the main subject in the center",
                  "a photo with the main subject cut off at the edge", "puts the subject in the centre"),
    PromptElement("rule_of_thirds", "composition", "a photo composed with the rule of thirds",
                  "a photo with an unbalanced composition", "places the subject on a third"),
    PromptElement("horizontal", "composition", "a photo with a level horizontal composition",
                  "a tilted, cluttered photo", "keeps strong horizontal lines"),
    PromptElement("vertical", "composition", "a photo with a strong vertical composition",
                  "a photo with no clear structure", "uses strong vertical lines"),
    PromptElement("curved", "composition", "a photo with a curved leading line",
                  "a photo with distracting lines", "follows a leading curve"),
    PromptElement("color", "aesthetics", "a photo with harmonious colors", "a photo with dull, muddy colors",
                  "has harmonious colour"),
    PromptElement("lighting", "aesthetics", "a photo with beautiful lighting", "a photo with poor lighting",
                  "catches the light well"),
    PromptElement("depth_of_field", "aesthetics", "a photo with a shallow depth of field and a sharp subject",
                  "a blurry photo", "isolates a sharp subject"),
    PromptElement("emphasized_object", "aesthetics", "a photo that emphasizes one clear object",
                  "a photo with no clear subject", "gives the subject emphasis"),
    PromptElement("interesting_content", "aesthetics", "a photo with interesting content",
                  "a boring photo of empty space", "keeps the interesting content"),
)

GROUPS = ("composition", "aesthetics")


def element_scores(crop_embeds: np.ndarray, positive: np.ndarray, negative: np.ndarray, logit_scale: float) -> np.ndarray:
    """(N, E) probability of each element's positive prompt against its negative one."""
    pos = crop_embeds @ positive.T * logit_scale
    neg = crop_embeds @ negative.T * logit_scale
    return 1.0 / (1.0 + np.exp(np.clip(neg - pos, -60, 60)))


@SCORERS.register("clip_prompts")
class ClipPromptScorer:
    model_arguments = {"model": SCORING}

    def __init__(self, model: Any = None, device: str | None = None, dtype: Any = None, mode: str = "auto",
                 groups: "tuple[str, ...] | list[str] | str" = GROUPS,
                 elements: tuple[PromptElement, ...] = PROMPT_KNOWLEDGE) -> None:
        """groups: both (name "clip_prompts"), or only "composition" (name "clip_composition") or only
        "aesthetics" (name "clip_aesthetics"), so a pipeline can weigh the two groups separately."""
        self.model, self.device, self.dtype, self.mode = model, device, dtype, mode
        groups = (groups,) if isinstance(groups, str) else tuple(groups)
        unknown = set(groups) - set(GROUPS)
        if unknown or not groups:
            raise ValueError(f"unknown prompt groups {sorted(unknown)}; use {', '.join(GROUPS)}")
        self.groups = tuple(g for g in GROUPS if g in groups)
        self.elements = tuple(e for e in elements if e.group in self.groups)
        self.name = "clip_prompts" if len(self.groups) > 1 else f"clip_{self.groups[0]}"

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        encoder = shared_encoder(self.model, self.device, self.dtype)
        embeds = crop_embeddings(ctx, candidates, encoder, self.mode)
        positive = encoder.encode_text([e.positive for e in self.elements])
        negative = encoder.encode_text([e.negative for e in self.elements])
        probs = element_scores(embeds, positive, negative, encoder.logit_scale).astype(np.float64)
        terms = {e.name: probs[:, i] for i, e in enumerate(self.elements)}
        group_means = []
        for group in self.groups:
            cols = [i for i, e in enumerate(self.elements) if e.group == group]
            if cols:
                group_means.append(probs[:, cols].mean(axis=1))
                if len(self.groups) > 1:  # with one group its mean is the total already
                    terms[group] = group_means[-1]
        terms["total"] = np.mean(group_means, axis=0) if group_means else np.zeros(len(candidates))
        return terms

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        """The one element on which the winner stands furthest above the other candidates (z > 0.5)."""
        best, best_z = None, 0.5
        for element in self.elements:
            values = all_terms.get(element.name)
            if values is None or element.name not in winner or len(values) < 2:
                continue
            std = float(values.std())
            if std < 1e-9:
                continue
            z = (winner[element.name] - float(values.mean())) / std
            if z > best_z:
                best, best_z = element, z
        return [best.praise] if best is not None else []
