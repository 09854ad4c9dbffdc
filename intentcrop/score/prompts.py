"""Prompt knowledge, CLIPCropping style (SCORERS "clip_prompts"): composition and aesthetic elements as
pairs of CLIP prompts, scored on each crop's embedding.

Each element has a positive and a negative prompt; its score for a crop is the probability CLIP gives
the positive one in a two-way softmax at the model's own logit scale -- 0..1, 0.5 meaning undecided.
Composition elements (center, rule of thirds, horizontal, vertical, curved) average into 'composition',
aesthetic elements (color, lighting, depth of field, emphasized object, interesting content) into
'aesthetics'; 'total' is their mean. Every element appears in the breakdown, so the explanation can
say which one made the winning crop stand out.

Inert prompts: an element whose two prompts the model cannot tell apart is left out (`encodable`): the two
prompts are the same token ids once the model's text length has cut them (the world CLIP's 16 tokens keep only
'a photo with the main subject' of both 'center' prompts), or most of the words that tell them apart (the
words in one prompt and not the other) are not in the model's vocabulary -- the tokenizer's unknown token, or
broken into more pieces than a known word would be (UNKNOWN_PIECES), or cut off by the text length. Such an
element scores by byte noise, not by meaning. When every element is left out the scorer is: 'total' is 0 for
every candidate (it moves no score and no explanation quotes it), the call's CropOutput.warnings says so, and
the process logs it once per model. A model that knows the words (any published CLIP) keeps every element.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.models.clip import shared_encoder
from intentcrop.models.registry import SCORING
from intentcrop.registry import SCORERS
from intentcrop.score.base import add_scorer_warning
from intentcrop.score.clip import crop_embeddings

log = logging.getLogger("intentcrop")


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


UNKNOWN_WORDS_SHARE = 0.5  # an element is inert when more than this share of its telling words is unknown


def _unknown_pieces(word: str) -> int:
    """More pieces than this and a word is not in the vocabulary: a known word is one token, a rare one two or
    three sub-words; one broken into near-single characters (a byte-level fallback) was never learned."""
    return max(2, math.ceil(len(word) / 4))


def _word_known(tokenizer: Any, word: str) -> bool:
    pieces = tokenizer.tokenize(word)
    unk = getattr(tokenizer, "unk_token", None)
    if not pieces or (unk is not None and unk in pieces and word != unk):
        return False
    return len(pieces) <= _unknown_pieces(word)


def _words(text: str) -> list[str]:
    return [w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if w]


def element_inert_reason(tokenizer: Any, element: "PromptElement", max_length: int | None) -> str | None:
    """Why the model cannot encode this element's prompts (module docstring), or None when it can."""
    def ids(text: str) -> list[int]:
        kwargs = {"truncation": True, "max_length": max_length} if max_length else {}
        return list(tokenizer(text, **kwargs)["input_ids"])

    if ids(element.positive) == ids(element.negative):
        return "its positive and negative prompts are the same tokens"
    pos, neg = _words(element.positive), _words(element.negative)
    telling = [w for w in pos if w not in neg] + [w for w in neg if w not in pos]
    if not telling:
        return None

    def reached(text: str) -> set[str]:
        """The words of `text` that survive the model's text length (whole words only)."""
        if not max_length:
            return set(_words(text))
        kept, used = set(), 2  # start and end tokens
        for w in _words(text):
            used += len(tokenizer.tokenize(w))
            if used > max_length:
                break
            kept.add(w)
        return kept

    surviving = reached(element.positive) | reached(element.negative)
    unknown = [w for w in telling if w not in surviving or not _word_known(tokenizer, w)]
    if len(unknown) > UNKNOWN_WORDS_SHARE * len(telling):
        return f"most of the words that tell its prompts apart are unknown to the model ({', '.join(unknown[:4])})"
    return None


_INERT: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
_INERT_LOCK = threading.Lock()
_LOGGED: set[tuple[str, str]] = set()


def inert_elements(encoder: Any, elements: "tuple[PromptElement, ...]") -> dict[str, str]:
    """{element name: why it is inert} for this encoder's model, computed once per model and element set."""
    key = (encoder.key, tuple(e.name + "|" + e.positive + "|" + e.negative for e in elements))
    found = _INERT.get(key)
    if found is None:
        tokenizer = encoder.loaded.processor.tokenizer
        text_config = getattr(encoder.loaded.model.config, "text_config", None)
        max_length = getattr(text_config, "max_position_embeddings", None)
        found = {}
        for e in elements:
            reason = element_inert_reason(tokenizer, e, max_length)
            if reason is not None:
                found[e.name] = reason
        with _INERT_LOCK:
            _INERT[key] = found
    return found


def standout_element(elements: Any, winner: dict[str, float], all_terms: dict[str, np.ndarray],
                     min_z: float) -> Any:
    """The element on which the winner stands furthest above the other candidates, in standard deviations of
    their scores (more than `min_z`), or None; elements not scored, or equal for every candidate, are skipped."""
    best, best_z = None, min_z
    for element in elements:
        values = all_terms.get(element.name)
        if values is None or element.name not in winner or len(values) < 2:
            continue
        std = float(values.std())
        if std < 1e-9:
            continue
        z = (winner[element.name] - float(values.mean())) / std
        if z > best_z:
            best, best_z = element, z
    return best


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

    def usable_elements(self, encoder: Any) -> "tuple[PromptElement, ...]":
        """The elements this encoder's model can encode (the others are inert: module docstring)."""
        inert = inert_elements(encoder, self.elements)
        return tuple(e for e in self.elements if e.name not in inert)

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        encoder = shared_encoder(self.model, self.device, self.dtype)
        elements = self.usable_elements(encoder)
        if not elements:  # nothing the model can encode: left out, with a warning
            inert = inert_elements(encoder, self.elements)
            first = self.elements[0].name
            message = (f"the {self.name} scorer was left out: the model cannot encode any of its "
                       f"{len(self.elements)} prompt pairs (e.g. {first!r}: {inert[first]})")
            add_scorer_warning(ctx, message)
            if (encoder.key, self.name) not in _LOGGED:
                _LOGGED.add((encoder.key, self.name))
                log.warning("%s (model %s)", message, encoder.loaded.spec.source)
            return {"total": np.zeros(len(candidates))}
        embeds = crop_embeddings(ctx, candidates, encoder, self.mode)
        positive = encoder.encode_text([e.positive for e in elements])
        negative = encoder.encode_text([e.negative for e in elements])
        probs = element_scores(embeds, positive, negative, encoder.logit_scale).astype(np.float64)
        terms = {e.name: probs[:, i] for i, e in enumerate(elements)}
        group_means = []
        for group in self.groups:
            cols = [i for i, e in enumerate(elements) if e.group == group]
            if cols:
                group_means.append(probs[:, cols].mean(axis=1))
                if len(self.groups) > 1:  # with one group its mean is the total already
                    terms[group] = group_means[-1]
        terms["total"] = np.mean(group_means, axis=0) if group_means else np.zeros(len(candidates))
        return terms

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        """The one element on which the winner stands furthest above the other candidates (z > 0.5)."""
        best = standout_element(self.elements, winner, all_terms, 0.5)
        return [best.praise] if best is not None else []
