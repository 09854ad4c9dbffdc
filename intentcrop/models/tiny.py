"""Tiny models of the real architectures (CLIP, OWL-ViT, OWLv2), saved like real checkpoints.

Each builder makes a transformers model from a config with tiny sizes (random weights, built in
about a second), writes it with `save_pretrained` together with its processor and a small CLIP
byte-level BPE tokenizer (vocab.json / merges.txt from `intentcrop.models.tokenizer`), and returns the folder. The folder
then loads through the public path, `intentcrop.models.load_model(folder)`, exactly as a downloaded
checkpoint does -- so tests exercise the real loading, preprocessing and postprocessing code, and
small models trained from these configs (`tiny_clip_config()` etc.) can be saved and used the same way.

Not built: SigLIP (its tokenizer needs sentencepiece model files).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from intentcrop.models.loading import _require_torch
from intentcrop.models.tokenizer import build_vocab_and_merges, write_tokenizer_files

# A handful of whole-word merges so prompt words are single tokens; everything else falls back to bytes.
_TINY_WORDS = ("the", "a", "photo", "of", "dog", "cat", "boat", "woman", "red", "car", "person", "with", "and", "in")


def write_tiny_clip_tokenizer_files(folder: "str | os.PathLike") -> int:
    """Write vocab.json and merges.txt of a small CLIP BPE tokenizer into `folder`; return the vocab size."""
    vocab, _ = build_vocab_and_merges(_TINY_WORDS)
    write_tokenizer_files(folder, _TINY_WORDS)
    return len(vocab)


def _tokenizer_from_files(folder: Path) -> tuple[Any, int]:
    from transformers import CLIPTokenizer

    size = write_tiny_clip_tokenizer_files(folder)
    vocab = json.loads((folder / "vocab.json").read_text())
    merges = [tuple(line.split()) for line in (folder / "merges.txt").read_text().splitlines()[1:] if line.strip()]
    return CLIPTokenizer(vocab=vocab, merges=merges), size


def _text_config(vocab_size: int, max_positions: int, width: int) -> dict[str, Any]:
    return dict(vocab_size=vocab_size, hidden_size=width, intermediate_size=2 * width, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=max_positions, bos_token_id=vocab_size - 2,
                eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)


def _vision_config(image_size: int, patch_size: int, width: int) -> dict[str, Any]:
    return dict(hidden_size=width, intermediate_size=2 * width, num_hidden_layers=2, num_attention_heads=2,
                image_size=image_size, patch_size=patch_size)


def tiny_clip_config(vocab_size: int, image_size: int = 32, patch_size: int = 8, width: int = 32,
                     projection_dim: int = 16) -> Any:
    from transformers import CLIPConfig

    return CLIPConfig(text_config=_text_config(vocab_size, 77, width),
                      vision_config=_vision_config(image_size, patch_size, width), projection_dim=projection_dim)


def tiny_owlvit_config(vocab_size: int, image_size: int = 64, patch_size: int = 16, width: int = 32,
                       v2: bool = False) -> Any:
    """OWL-ViT's class head maps image tokens to the text width, so projection_dim equals it (512 in the real B/32)."""
    from transformers import Owlv2Config, OwlViTConfig

    cls = Owlv2Config if v2 else OwlViTConfig
    return cls(text_config=_text_config(vocab_size, 16, width),
               vision_config=_vision_config(image_size, patch_size, width), projection_dim=width)


def _save(folder: Path, model: Any, processor: Any) -> Path:
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build_tiny_clip(folder: "str | os.PathLike", seed: int = 0, **config_kwargs: Any) -> Path:
    """A tiny CLIPModel (32 px input, 4x4 patch grid, 16-d embeddings) + CLIPProcessor saved in `folder`."""
    torch = _require_torch()
    from transformers import CLIPImageProcessorPil, CLIPModel, CLIPProcessor

    folder = Path(folder)
    tokenizer, vocab_size = _tokenizer_from_files(folder)
    config = tiny_clip_config(vocab_size, **config_kwargs)
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    side = config.vision_config.image_size
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    return _save(folder, model, CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer))


def build_tiny_owlvit(folder: "str | os.PathLike", seed: int = 0, v2: bool = False, **config_kwargs: Any) -> Path:
    """A tiny OWL-ViT (or OWLv2 with v2=True): 64 px input, 4x4 patch grid, saved with its processor in `folder`."""
    torch = _require_torch()
    from transformers import (Owlv2ForObjectDetection, Owlv2ImageProcessorPil, Owlv2Processor,
                              OwlViTForObjectDetection, OwlViTImageProcessorPil, OwlViTProcessor)

    folder = Path(folder)
    tokenizer, vocab_size = _tokenizer_from_files(folder)
    config = tiny_owlvit_config(vocab_size, v2=v2, **config_kwargs)
    torch.manual_seed(seed)
    side = config.vision_config.image_size
    if v2:
        model = Owlv2ForObjectDetection(config).eval()
        processor = Owlv2Processor(image_processor=Owlv2ImageProcessorPil(size={"height": side, "width": side}),
                                   tokenizer=tokenizer)
    else:
        model = OwlViTForObjectDetection(config).eval()
        image_processor = OwlViTImageProcessorPil(size={"height": side, "width": side},
                                                  crop_size={"height": side, "width": side})
        processor = OwlViTProcessor(image_processor=image_processor, tokenizer=tokenizer)
    # Random box-head outputs saturate the sigmoid (zero-size boxes); scaled down, each token predicts about its
    # own patch (the box bias), which is what a trained model's boxes start from.
    with torch.no_grad():
        model.box_head.dense2.weight.mul_(0.01)
        model.box_head.dense2.bias.zero_()
    return _save(folder, model, processor)


def build_tiny_owlv2(folder: "str | os.PathLike", seed: int = 0, **config_kwargs: Any) -> Path:
    return build_tiny_owlvit(folder, seed=seed, v2=True, **config_kwargs)


__all__ = [
    "build_tiny_clip", "build_tiny_owlv2", "build_tiny_owlvit", "tiny_clip_config", "tiny_owlvit_config",
    "write_tiny_clip_tokenizer_files",
]
