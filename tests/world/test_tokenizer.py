"""The world tokenizer: standard CLIP files, loadable by the public processor classes."""

from __future__ import annotations

import json

import pytest

transformers = pytest.importorskip("transformers")

from intentcrop.world.tokenizer import (BOS, EOS, build_clip_processor, build_owlvit_processor,  # noqa: E402
                                        build_vocab_and_merges, write_tokenizer_files)
from intentcrop.world.vocabulary import all_words  # noqa: E402


def test_vocab_files_and_end_token_has_the_highest_id(tmp_path):
    write_tokenizer_files(tmp_path)
    vocab = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    merges = (tmp_path / "merges.txt").read_text(encoding="utf-8").splitlines()
    assert merges[0].startswith("#version")
    assert vocab[EOS] == max(vocab.values()) == len(vocab) - 1  # CLIP text towers pool at argmax(input_ids)
    assert vocab[BOS] == len(vocab) - 2
    for rule in merges[1:]:
        a, b = rule.split(" ")
        assert a + b in vocab


@pytest.mark.parametrize("builder,cls", [(build_owlvit_processor, "OwlViTProcessor"),
                                         (build_clip_processor, "CLIPProcessor")])
def test_processor_round_trip(tmp_path, builder, cls):
    builder(64).save_pretrained(tmp_path)
    loaded = getattr(transformers, cls).from_pretrained(tmp_path)
    ids = loaded.tokenizer("the small green triangle")["input_ids"]
    assert ids[0] == loaded.tokenizer.convert_tokens_to_ids(BOS)
    assert ids[-1] == loaded.tokenizer.convert_tokens_to_ids(EOS) == max(ids)
    assert loaded.tokenizer.decode(ids, skip_special_tokens=True).strip() == "the small green triangle"


def test_every_world_word_tokenizes_without_unknowns():
    vocab, merges = build_vocab_and_merges()
    tok = build_owlvit_processor(64).tokenizer
    eos = tok.convert_tokens_to_ids(EOS)
    for word in all_words() + ["Zebra!", "été"]:
        ids = tok(word, add_special_tokens=False)["input_ids"]
        assert ids and eos not in ids, word  # unknown pieces would map to the end token


@pytest.mark.parametrize("fixture", ["clip", "owlvit"])
def test_old_word_ids_are_unchanged(fixture):
    """The vocabulary grew (composition words, appended): the committed models' token ids keep their meaning."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "fixtures" / "world" / fixture
    old = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    new, _ = build_vocab_and_merges()
    assert len(new) >= len(old)
    assert {t: i for t, i in old.items() if t not in (BOS, EOS)} == {t: new[t] for t in old if t not in (BOS, EOS)}
