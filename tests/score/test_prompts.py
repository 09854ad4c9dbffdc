"""CLIPCropping-style prompt knowledge: per-element scores in the breakdown and the explanation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")
pytest.importorskip("transformers")

from intentcrop.core.candidates import Candidates  # noqa: E402
from intentcrop.core.context import CropContext  # noqa: E402
from intentcrop.core.intent import Intent  # noqa: E402
from intentcrop.score.prompts import PROMPT_KNOWLEDGE, ClipPromptScorer, element_scores  # noqa: E402

COMPOSITION = [e.name for e in PROMPT_KNOWLEDGE if e.group == "composition"]
AESTHETICS = [e.name for e in PROMPT_KNOWLEDGE if e.group == "aesthetics"]


def test_knowledge_covers_the_elements():
    assert COMPOSITION == ["center", "rule_of_thirds", "horizontal", "vertical", "curved"]
    assert AESTHETICS == ["color", "lighting", "depth_of_field", "emphasized_object", "interesting_content"]


def test_element_score_is_a_two_way_softmax():
    crops = np.array([[1.0, 0.0], [0.0, 1.0]])
    positive, negative = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    probs = element_scores(crops, positive, negative, logit_scale=10.0)
    np.testing.assert_allclose(probs[:, 0], [1 / (1 + np.exp(-10)), 1 / (1 + np.exp(10))])


@pytest.mark.parametrize(
    "groups, name, elements",
    [(("composition", "aesthetics"), "clip_prompts", COMPOSITION + AESTHETICS + ["composition", "aesthetics"]),
     (("composition",), "clip_composition", COMPOSITION), ("aesthetics", "clip_aesthetics", AESTHETICS)],
)
def test_scorer_terms(tiny_models, groups, name, elements):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (90, 160, 3), dtype=np.uint8))
    xyxy = np.array([[0, 0, 160, 90], [10, 5, 100, 80], [60, 0, 160, 60], [30, 30, 90, 90]], dtype=float)
    scorer = ClipPromptScorer(model=str(tiny_models["clip"]), groups=groups)
    terms = scorer.score(CropContext(image=image, intent=Intent()), Candidates.from_xyxy(xyxy))
    assert scorer.name == name and set(terms) == set(elements) | {"total"}
    element_cols = np.stack([terms[e] for e in elements if e not in ("composition", "aesthetics")], axis=1)
    assert ((element_cols > 0) & (element_cols < 1)).all()
    group_means = [element_cols[:, [i for i, e in enumerate(elements) if e in g]].mean(1)
                   for g in (COMPOSITION, AESTHETICS) if set(g) <= set(elements)]
    np.testing.assert_allclose(terms["total"], np.mean(group_means, axis=0))


def test_explanation_names_the_standout_element():
    scorer = ClipPromptScorer.__new__(ClipPromptScorer)
    scorer.elements = PROMPT_KNOWLEDGE
    all_terms = {e.name: np.array([0.5, 0.5, 0.5, 0.5]) for e in PROMPT_KNOWLEDGE}
    all_terms["lighting"] = np.array([0.9, 0.2, 0.2, 0.2])
    winner = {k: float(v[0]) for k, v in all_terms.items()}
    assert scorer.explain(winner, all_terms) == ["catches the light well"]
    flat = {k: np.full(4, 0.5) for k in all_terms}
    assert scorer.explain({k: 0.5 for k in flat}, flat) == []


def test_unknown_group():
    with pytest.raises(ValueError, match="unknown prompt groups"):
        ClipPromptScorer(groups=("style",))
