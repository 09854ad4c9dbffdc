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
def test_scorer_terms(tiny_models, groups, name, elements, monkeypatch):
    # the tiny random CLIP's vocabulary lacks the prompt words, so its prompts would be left out as inert; these
    # are the terms of a model that encodes them
    monkeypatch.setattr("intentcrop.score.prompts.inert_elements", lambda encoder, elements: {})
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


# -- inert prompts: the model cannot encode them ---------------------------------------------------------------

WORLD = __import__("pathlib").Path(__file__).resolve().parents[2] / "fixtures" / "world"
needs_world = pytest.mark.skipif(not (WORLD / "owlvit").exists(), reason="fixtures/world/owlvit absent")


def test_a_clip_without_the_words_cannot_encode_the_prompts(tiny_models):
    """The tiny CLIP's vocabulary lacks the words that tell each element's prompts apart ('centered', 'harmonious',
    'muddy', ...), as the world CLIP's did before it was trained on composed scenes."""
    from transformers import AutoTokenizer

    from intentcrop.score.prompts import element_inert_reason

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["clip"]))
    reasons = {e.name: element_inert_reason(tokenizer, e, 77) for e in PROMPT_KNOWLEDGE}
    assert all(r is not None for r in reasons.values())
    assert "unknown" in reasons["color"] and "harmonious" in reasons["color"]


@pytest.mark.skipif(not (WORLD / "clip").exists(), reason="fixtures/world/clip absent")
def test_the_world_clip_encodes_every_prompt():
    """The world CLIP saw composition and aesthetic captions (intentcrop.world.composition): no element is inert."""
    from transformers import AutoTokenizer

    from intentcrop.score.prompts import element_inert_reason

    tokenizer = AutoTokenizer.from_pretrained(str(WORLD / "clip"))
    assert {e.name: element_inert_reason(tokenizer, e, 16) for e in PROMPT_KNOWLEDGE} == \
        {e.name: None for e in PROMPT_KNOWLEDGE}


class _WordTokenizer:
    """A tokenizer that knows `known` words as one token each and spells every other word letter by letter."""

    unk_token = None

    def __init__(self, known):
        self.known = set(known)

    def tokenize(self, word):
        from intentcrop.score.prompts import _words

        return [p for w in _words(word) for p in ([w] if w in self.known else list(w))]

    def __call__(self, text, truncation=False, max_length=None):
        body = [sum(map(ord, p)) * 31 + len(p) for p in self.tokenize(text)]
        if truncation and max_length:  # as CLIP's tokenizers cut: the start and end tokens stay
            body = body[: max_length - 2]
        return {"input_ids": [0] + body + [1]}


def test_a_vocabulary_that_knows_the_words_keeps_the_elements():
    from intentcrop.score.prompts import _words, element_inert_reason

    words = {w for e in PROMPT_KNOWLEDGE for text in (e.positive, e.negative) for w in _words(text)}
    tokenizer = _WordTokenizer(words)
    assert {e.name: element_inert_reason(tokenizer, e, 77) for e in PROMPT_KNOWLEDGE} == \
        {e.name: None for e in PROMPT_KNOWLEDGE}
    # the same words cut to 8 tokens: both 'center' prompts keep only 'a photo with the main subject'
    same = "its positive and negative prompts are the same tokens"
    assert element_inert_reason(tokenizer, PROMPT_KNOWLEDGE[0], 8) == same
    # without 'harmonious', 'dull' and 'muddy' (spelt out), 'color' cannot be told apart
    color = next(e for e in PROMPT_KNOWLEDGE if e.name == "color")
    tokenizer = _WordTokenizer(words - {"harmonious", "dull", "muddy"})
    assert "unknown" in element_inert_reason(tokenizer, color, 77)
    # one unknown telling word of four is not most of them
    rule = next(e for e in PROMPT_KNOWLEDGE if e.name == "rule_of_thirds")
    assert element_inert_reason(_WordTokenizer(words - {"composed"}), rule, 77) is None


def test_inert_scorer_is_left_out_with_a_warning_and_never_explains(tiny_models):
    from intentcrop.core.context import CropContext
    from intentcrop.score.base import SCORER_WARNINGS

    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    xyxy = np.array([[0, 0, 128, 96], [10, 5, 100, 80], [60, 0, 128, 60]], dtype=float)
    ctx = CropContext(image=image, intent=Intent())
    scorer = ClipPromptScorer(model=str(tiny_models["clip"]), groups=("composition",))
    terms = scorer.score(ctx, Candidates.from_xyxy(xyxy))
    assert set(terms) == {"total"} and not terms["total"].any()
    assert len(ctx.cache[SCORER_WARNINGS]) == 1 and "clip_composition scorer was left out" in \
        ctx.cache[SCORER_WARNINGS][0]


@needs_world
def test_vlm_crop_with_a_clip_lacking_the_words_warns_and_its_explanation_quotes_no_prompt(tiny_models):
    import intentcrop
    from intentcrop.world.referring import benchmark_cases

    case = benchmark_cases(1, seed=0)[0]
    out = intentcrop.crop(case.scene.image, text=case.referral.text, k=2, return_output=True,
                          model=[str(WORLD / "owlvit"), str(tiny_models["clip"])], device="cpu")
    assert any("clip_composition scorer was left out" in w for w in out.warnings)
    assert any("clip_aesthetics scorer was left out" in w for w in out.warnings)
    praise = [e.praise for e in PROMPT_KNOWLEDGE]
    for result in out.results:
        assert result.explanation and not any(p in result.explanation for p in praise)
