"""A captioning model's negative log-likelihood of a text over image tensors, differentiable in the pixels
(CAGIC's caption loss, caption kind "captioner").

Any transformers image-text-to-text model the registry loads for the generation role (hub id or folder; in the
world the small LLaVA in fixtures/world/vlm) serves: the prompt is one user turn of the image and
`CAPTION_PROMPT`, the text is the assistant's answer, and the loss is the mean NLL of the answer's tokens. The
pixels are fed as `pixel_values` directly (resized and normalised as the model's image processor does, in
torch), so gradients reach whatever produced them, e.g. CAGIC's crop sampler.

Order-free, as the paper makes its caption loss: the text is split into phrases (`phrases`) and the NLL is the
mean over `orders` of those phrases (cyclic rotations, at most `MAX_ORDERS`), so "a red cup, a plate" and
"a plate, a red cup" cost the same.
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn.functional as F

CAPTION_PROMPT = "Describe the image."  # ours: the user turn the caption answers
MAX_ORDERS = 4  # ours: phrase orders averaged (cyclic rotations; all orders grow factorially)
_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bwith\b|\bnext to\b|\bbeside\b)\s*", re.IGNORECASE)


def phrases(text: str) -> list[str]:
    """The text's phrases: split at commas, semicolons and joining words ("and", "with", "next to", "beside");
    a stand-in for noun-phrase chunking that needs no parser."""
    parts = [p.strip() for p in _SPLIT.split(text.strip()) if p and p.strip()]
    return parts or [text.strip()]


def orders(text: str, max_orders: int = MAX_ORDERS) -> list[str]:
    """Up to `max_orders` cyclic rotations of the text's phrases, joined by ", " (one order for one phrase)."""
    ps = phrases(text)
    n = min(len(ps), max_orders)
    return [", ".join(ps[i:] + ps[:i]) for i in range(n)]


class CaptionerNLL:
    """NLL(text | image) for a LoadedModel of the generation role; `__call__(pixels (K, 3, h, w) in [0, 1])`
    -> (K,) mean token NLL averaged over the text's phrase orders."""

    def __init__(self, loaded: Any, text: str, prompt: str = CAPTION_PROMPT, max_orders: int = MAX_ORDERS) -> None:
        from PIL import Image

        self.loaded = loaded
        self.model, processor = loaded.model, loaded.processor
        image_processor = getattr(processor, "image_processor", None)
        if image_processor is None:
            raise ValueError(f"{loaded.spec.describe()}: its processor has no image processor")
        size = getattr(image_processor, "size", None) or {}
        get = size.get if hasattr(size, "get") else (lambda k, d=None: getattr(size, k, d))
        side = get("shortest_edge")
        self.size = (int(get("height") or side), int(get("width") or side))
        if None in self.size or 0 in self.size:
            raise ValueError(f"{loaded.spec.describe()}: its image processor gives no fixed input size")
        dev, dt = loaded.device, next(self.model.parameters()).dtype
        self.mean = torch.tensor(image_processor.image_mean, device=dev, dtype=torch.float32)[None, :, None, None]
        self.std = torch.tensor(image_processor.image_std, device=dev, dtype=torch.float32)[None, :, None, None]
        self.dtype = dt
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        chat = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        # the processor expands the image token to the model's image sequence; a blank image stands in, its
        # pixel_values are replaced by the crops'
        blank = Image.new("RGB", (self.size[1], self.size[0]))
        enc = processor(text=[chat], images=[[blank]], return_tensors="pt")
        prefix = enc["input_ids"][0]
        tok = processor.tokenizer
        self.sequences = []  # (input_ids, labels) per phrase order
        for answer in orders(text, max_orders):
            ids = tok(answer, add_special_tokens=False)["input_ids"]
            if tok.eos_token_id is not None:
                ids = ids + [tok.eos_token_id]
            ids_t = torch.cat([prefix, torch.tensor(ids, dtype=prefix.dtype)])
            labels = torch.cat([torch.full_like(prefix, -100), torch.tensor(ids, dtype=prefix.dtype)])
            self.sequences.append((ids_t.to(dev), labels.to(dev)))

    def pixel_values(self, pixels: torch.Tensor) -> torch.Tensor:
        """(K, 3, h, w) in [0, 1] -> the model's pixel_values: resized to its input size and normalised."""
        if tuple(pixels.shape[-2:]) != self.size:
            pixels = F.interpolate(pixels, size=self.size, mode="bilinear", align_corners=False)
        return ((pixels.float() - self.mean) / self.std).to(self.dtype)

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        values = self.pixel_values(pixels.to(self.loaded.device))
        k = values.shape[0]
        total = 0
        for ids, labels in self.sequences:
            out = self.model(input_ids=ids[None].expand(k, -1), attention_mask=torch.ones_like(ids)[None].expand(k, -1),
                             pixel_values=values)
            logits = out.logits[:, :-1].float()
            target = labels[1:][None].expand(k, -1)
            nll = F.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100, reduction="none")
            total = total + nll.sum(dim=1) / (target != -100).sum()
        return total / len(self.sequences)
