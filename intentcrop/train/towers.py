"""Text and vision tower configs shared by the world's CLIP and OWL-ViT (same fields, same shapes)."""

from __future__ import annotations

from typing import Any

from intentcrop.world.tokenizer import MAX_TEXT_LENGTH, special_token_ids


def tower_configs(cfg: Any, tokenizer: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(text_config, vision_config) kwargs from a training config with text_width/text_layers/vision_width/
    vision_layers/heads/image_size/patch_size, with the tokenizer's special ids (MLPs 4x wide, as CLIP's)."""
    ids = special_token_ids(tokenizer)
    text = dict(vocab_size=ids["vocab_size"], hidden_size=cfg.text_width, intermediate_size=4 * cfg.text_width,
                num_hidden_layers=cfg.text_layers, num_attention_heads=cfg.heads,
                max_position_embeddings=MAX_TEXT_LENGTH, bos_token_id=ids["bos_token_id"],
                eos_token_id=ids["eos_token_id"], pad_token_id=ids["pad_token_id"])
    vision = dict(hidden_size=cfg.vision_width, intermediate_size=4 * cfg.vision_width,
                  num_hidden_layers=cfg.vision_layers, num_attention_heads=cfg.heads, image_size=cfg.image_size,
                  patch_size=cfg.patch_size)
    return text, vision
