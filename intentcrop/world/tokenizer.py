"""A CLIP byte-level BPE tokenizer for the world's vocabulary, written in the standard files.

vocab.json holds the 256 byte symbols (alone and word-final, as CLIP's own vocabulary does, so any
text tokenizes without unknown tokens), one merge chain per world word, then <|startoftext|> and
<|endoftext|>. The end token gets the highest id because CLIP/OWL-ViT text towers pool at
`input_ids.argmax()`. Processors saved beside it make `CLIPProcessor.from_pretrained(folder)` and
`OwlViTProcessor.from_pretrained(folder)` work like for the published checkpoints.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from intentcrop.world.vocabulary import all_words

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
MAX_TEXT_LENGTH = 16  # OWL-ViT pads every query to this many tokens; world texts need about ten


@lru_cache(maxsize=1)
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def build_vocab_and_merges(words: list[str] | None = None) -> tuple[dict[str, int], list[str]]:
    words = all_words() if words is None else words
    symbols = list(_bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for s in symbols + [s + "</w>" for s in symbols]:
        vocab.setdefault(s, len(vocab))
    merges: list[str] = []
    seen: set[str] = set()
    for word in words:
        chars = list(word)
        chars[-1] += "</w>"
        current = chars[0]
        for nxt in chars[1:]:
            rule = f"{current} {nxt}"
            current = current + nxt
            if rule not in seen:
                seen.add(rule)
                merges.append(rule)
                vocab.setdefault(current, len(vocab))
    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)  # highest id: the text towers pool at argmax(input_ids)
    return vocab, merges


def write_tokenizer_files(folder: str | Path, words: list[str] | None = None) -> Path:
    """vocab.json + merges.txt in `folder` (CLIPTokenizer's slow-format files)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = build_vocab_and_merges(words)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return folder


def build_tokenizer(folder: str | Path | None = None):
    """A CLIPTokenizer over the world vocabulary (written to `folder`, or a temporary one)."""
    import tempfile

    from transformers import CLIPTokenizer

    vocab, merges = build_vocab_and_merges()
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="world-tokenizer-"))
    write_tokenizer_files(folder)
    return CLIPTokenizer(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], model_max_length=MAX_TEXT_LENGTH,
                         unk_token=EOS, bos_token=BOS, eos_token=EOS, pad_token=EOS)


def special_token_ids(tokenizer) -> dict[str, int]:
    """The ids a CLIP/OWL-ViT text config must name for this tokenizer."""
    return {"bos_token_id": tokenizer.convert_tokens_to_ids(BOS), "eos_token_id": tokenizer.convert_tokens_to_ids(EOS),
            "pad_token_id": tokenizer.convert_tokens_to_ids(EOS), "vocab_size": len(tokenizer)}


def build_owlvit_processor(image_size: int):
    from transformers import OwlViTImageProcessor, OwlViTProcessor

    image_processor = OwlViTImageProcessor(size={"height": image_size, "width": image_size},
                                           crop_size={"height": image_size, "width": image_size})
    return OwlViTProcessor(image_processor=image_processor, tokenizer=build_tokenizer())


def build_clip_processor(image_size: int):
    from transformers import CLIPImageProcessor, CLIPProcessor

    image_processor = CLIPImageProcessor(size={"shortest_edge": image_size},
                                         crop_size={"height": image_size, "width": image_size})
    return CLIPProcessor(image_processor=image_processor, tokenizer=build_tokenizer())
