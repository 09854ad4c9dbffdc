"""A CLIP byte-level BPE tokenizer for a closed word list, written in CLIPTokenizer's standard files.

vocab.json holds the 256 byte symbols (alone and word-final, as CLIP's own vocabulary does, so any
text tokenizes without unknown tokens), one merge chain per word (so each listed word is one token),
then <|startoftext|> and <|endoftext|>. The end token gets the highest id because CLIP/OWL-ViT text
towers pool at `input_ids.argmax()`. Used by the tiny test models and by the world models.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Sequence

BOS, EOS = "<|startoftext|>", "<|endoftext|>"


@lru_cache(maxsize=1)
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table (the BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def build_vocab_and_merges(words: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Byte alphabet plus left-to-right merges that make each word one token ("t h" -> "th", "th e</w>" -> "the</w>")."""
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


def write_tokenizer_files(folder: "str | Path", words: Sequence[str]) -> Path:
    """vocab.json + merges.txt in `folder` (CLIPTokenizer's slow-format files)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = build_vocab_and_merges(words)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return folder
