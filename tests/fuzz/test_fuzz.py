"""Fuzz harnesses (hypothesis): every parser and the image loader on arbitrary input; only IntentCropError may
escape. A few hundred examples each here, derandomized so the suite stays deterministic; the long campaign on
the same targets is benchmarks/fuzz_campaign.py (a plain seeded loop, millions of executions)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("hypothesis")  # a dev dependency (pyproject's dev extra)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_targets as ft  # noqa: E402
from intentcrop.errors import IntentCropError

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=40)

SEEDS = ft.image_seeds()
mutated = st.builds(ft.mutate_bytes, st.randoms(use_true_random=False), st.sampled_from(SEEDS), st.just(SEEDS))
images = st.one_of(mutated, st.binary(max_size=512), st.sampled_from(SEEDS))
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12)
numbers = st.one_of(st.integers(), st.floats(), st.sampled_from([10 ** 400, -(10 ** 400), np.int64(7),
                                                                np.float32("nan"), np.bool_(True), True]))
option_keys = st.one_of(st.sampled_from(ft._OPTION_NAMES), st.sampled_from(ft._GROUNDING_NAMES).map("grounding.{}".format),
                        st.text(max_size=12))
options = st.dictionaries(option_keys, st.one_of(json_like, numbers), max_size=4)
ratio_text = st.one_of(st.text(max_size=30), st.from_regex(r"\A\s*-?[0-9.eE٣]{0,6}\s*[:/xX×]?\s*-?[0-9.]{0,6}\s*\Z"))
words = st.lists(st.sampled_from(ft._WORDS), max_size=12).map(" ".join)
texts = st.one_of(st.text(max_size=120), words)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except IntentCropError:
        return None


@FUZZ
@given(images)
def test_load_image(data):
    _call(ft.t_load_image, data)


@FUZZ
@given(images)
def test_open_image(data):
    _call(ft.t_open_image, data)


@FEW
@given(mutated)
def test_crop_bytes(data):
    _call(ft.t_crop, data)


@FUZZ
@given(st.one_of(ratio_text, numbers, st.tuples(numbers, numbers), json_like))
def test_parse_ratio(value):
    ratio = _call(ft.parse_ratio, value)
    assert ratio is None or (isinstance(ratio, float) and math.isfinite(ratio) and ratio > 0)


@FUZZ
@given(st.one_of(ratio_text, st.tuples(numbers, numbers), json_like,
                 st.tuples(st.integers(-5, 10 ** 6), st.integers(-5, 10 ** 6)).map("{0[0]}x{0[1]}".format)))
def test_parse_size(value):
    size = _call(ft.parse_size, value)
    assert size is None or (all(isinstance(v, int) and v > 0 for v in size))


@FUZZ
@given(st.one_of(st.tuples(numbers, numbers, numbers, numbers), st.lists(numbers, max_size=5), json_like,
                 st.builds(ft.random_subject, st.randoms(use_true_random=False))))
def test_subject_to_box(subject):
    _call(ft.t_subject_to_box, subject)


@FUZZ
@given(st.one_of(st.builds(ft.random_box_text, st.randoms(use_true_random=False)),
                 st.from_regex(r"\A[-0-9., ]{0,30}\Z")))
def test_cli_subject(text):
    _call(ft.t_cli_subject, text)


@FUZZ
@given(st.one_of(options, st.builds(ft.random_options, st.randoms(use_true_random=False)), json_like))
def test_defaults_merged(value):
    _call(ft.t_defaults_merged, value)


@FUZZ
@given(st.one_of(st.lists(st.tuples(option_keys, json_like).map(lambda kv: f"{kv[0]}={json.dumps(kv[1])}"), max_size=3),
                 st.lists(st.text(max_size=30), max_size=3),
                 st.builds(ft.random_option_items, st.randoms(use_true_random=False))))
def test_parse_options(items):
    _call(ft.t_parse_options, items)


@FUZZ
@given(texts)
def test_phrase_parsers(text):
    ft.t_parse_relation(text)
    ft.t_parse_position(text)
    ft.t_rule_noun_phrases(text)


@FEW
@given(texts)
def test_grounding_queries(text):
    ft.t_grounding_queries(text)


@FUZZ
@given(st.one_of(st.builds(ft.random_intent_kwargs, st.randoms(use_true_random=False)),
                 st.fixed_dictionaries({}, optional={
                     "text": st.one_of(texts, json_like), "ratio": st.one_of(ratio_text, numbers, json_like),
                     "size": st.one_of(ratio_text, st.tuples(numbers, numbers), json_like),
                     "subject": st.one_of(st.tuples(numbers, numbers, numbers, numbers), json_like),
                     "k": numbers, "min_scale": numbers, "max_scale": numbers, "padding": numbers})))
def test_make_intent(kwargs):
    _call(ft.t_make_intent, kwargs)
