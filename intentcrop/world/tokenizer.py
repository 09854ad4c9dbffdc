"""A CLIP byte-level BPE tokenizer for the world's vocabulary, written in the standard files.

The files are built by `intentcrop.models.tokenizer` (byte alphabet + one merge chain per world word).
Processors saved beside it make `CLIPProcessor.from_pretrained(folder)` and
`OwlViTProcessor.from_pretrained(folder)` work like for the published checkpoints.
"""

from __future__ import annotations

from pathlib import Path

from intentcrop.models import tokenizer as models_tokenizer
from intentcrop.models.tokenizer import BOS, EOS
from intentcrop.world.vocabulary import all_words

MAX_TEXT_LENGTH = 16  # OWL-ViT pads every query to this many tokens; world texts need about ten


def build_vocab_and_merges(words: list[str] | None = None) -> tuple[dict[str, int], list[str]]:
    return models_tokenizer.build_vocab_and_merges(all_words() if words is None else words)


def write_tokenizer_files(folder: str | Path, words: list[str] | None = None) -> Path:
    """vocab.json + merges.txt for the world's words in `folder`."""
    return models_tokenizer.write_tokenizer_files(folder, all_words() if words is None else words)


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
