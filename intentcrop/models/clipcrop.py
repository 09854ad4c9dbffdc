"""ClipCrop's crop decoder (Zhong et al., "ClipCrop"): a DETR-like decoder over the grounder's image tokens.

M learnable queries, each added to the mean of the image tokens the grounder matched to the text and its
keywords (ClipCrop-base, the text-free variant, adds nothing), attend to all image tokens of the grounder
(keys/values) through 6 layers with 8 heads; each query outputs an offset from the union box of the grounded
regions (b_pred = b_u + offset, cx/cy/w/h in 0..1 of the image) and a quality score in 0..1.
The paper decodes at the grounder's width (768 for OWL-ViT B); ours is `width`, scaled to the grounder
(the world OWL-ViT is 64 wide), with the grounder's tokens projected to it.

Saved like the transformers models: a folder with config.json (model_type "clipcrop", the config as data)
and model.safetensors; `ClipCropDecoder.from_pretrained(folder)` reads it back.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from intentcrop.models.loading import _require_torch

MODEL_TYPE = "clipcrop"
MATCHED_BY = ("text", "text_and_keywords", "keywords")
FULL_IMAGE = (0.5, 0.5, 1.0, 1.0)  # the union box of ClipCrop-base: the whole image (cx, cy, w, h)


@dataclass(frozen=True)
class ClipCropConfig:
    token_dim: int = 64  # width of the grounder's image tokens (world OWL-ViT: 64; OWL-ViT B/32: 768)
    width: int = 64  # decoder width, scaled to the grounder's (the paper decodes at 768)
    layers: int = 6
    heads: int = 8
    queries: int = 90  # M in the paper
    ffn: int = 128  # feed-forward width (2x the decoder width)
    dropout: float = 0.0
    use_text: bool = True  # False: ClipCrop-base, queries and image tokens only
    # which of the grounder's queries pick the matched tokens: "text_and_keywords" (the paper's full model),
    # "text" (its "main" ablation; the default, as checkpoints saved without this field were trained),
    # "keywords" (its "key" ablation)
    matched_by: str = "text"

    def __post_init__(self) -> None:
        if self.matched_by not in MATCHED_BY:
            raise ValueError(f"matched_by must be one of {', '.join(MATCHED_BY)}, not {self.matched_by!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"model_type": MODEL_TYPE, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ClipCropConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def cxcywh_to_xyxy(boxes: Any) -> Any:
    torch = _require_torch()
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def xyxy_to_cxcywh(boxes: Any) -> Any:
    torch = _require_torch()
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=-1)


def _build_module(config: ClipCropConfig) -> Any:
    torch = _require_torch()
    nn = torch.nn

    class _Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = config
            self.token_proj = nn.Linear(config.token_dim, config.width)
            # token positions (patch centres in 0..1) -> an additive embedding, so any grid size works
            self.pos = nn.Sequential(nn.Linear(2, config.width), nn.ReLU(), nn.Linear(config.width, config.width))
            self.query_embed = nn.Embedding(config.queries, config.width)
            layer = nn.TransformerDecoderLayer(config.width, config.heads, config.ffn, config.dropout,
                                               batch_first=True, norm_first=True)
            self.decoder = nn.TransformerDecoder(layer, config.layers, norm=nn.LayerNorm(config.width))
            self.box_head = nn.Sequential(nn.Linear(config.width, config.width), nn.ReLU(),
                                          nn.Linear(config.width, 4))
            self.quality_head = nn.Linear(config.width, 1)
            # offsets start at zero: every query first predicts the union box itself
            nn.init.zeros_(self.box_head[-1].weight)
            nn.init.zeros_(self.box_head[-1].bias)

        def forward(self, tokens: Any, positions: Any, matched: Any = None, union: Any = None) -> tuple[Any, Any]:
            """tokens (B, N, token_dim); positions (B, N, 2); matched (B, N) weights of the tokens matched by the
            text and keywords (None or ignored for ClipCrop-base); union (B, 4) cx/cy/w/h.
            Returns boxes (B, M, 4) as x0/y0/x1/y1 in 0..1 and quality (B, M) in 0..1."""
            memory = self.token_proj(tokens) + self.pos(positions)
            batch = tokens.shape[0]
            queries = self.query_embed.weight.unsqueeze(0).expand(batch, -1, -1)
            if config.use_text and matched is not None:
                weights = matched.to(memory.dtype)
                mean = (weights.unsqueeze(-1) * memory).sum(1) / weights.sum(1, keepdim=True).clamp_min(1e-6)
                queries = queries + mean.unsqueeze(1)
            if union is None or not config.use_text:
                union = memory.new_tensor(FULL_IMAGE).expand(batch, 4)
            hidden = self.decoder(queries, memory)
            box = union.unsqueeze(1) + self.box_head(hidden)
            cx, cy = box[..., 0], box[..., 1]
            w, h = box[..., 2].clamp(0.02, 1.0), box[..., 3].clamp(0.02, 1.0)
            xyxy = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1).clamp(0.0, 1.0)
            quality = torch.sigmoid(self.quality_head(hidden)).squeeze(-1)
            return xyxy, quality

    return _Decoder()


def grid_positions(grid: int, batch: int = 1) -> Any:
    """Patch centres of a square grid, row-major like the grounder's tokens: (batch, grid*grid, 2) as (x, y)."""
    torch = _require_torch()
    c = (torch.arange(grid, dtype=torch.float32) + 0.5) / grid
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xx.flatten(), yy.flatten()], dim=-1).unsqueeze(0).expand(batch, -1, -1)


class ClipCropDecoder:
    """The decoder with its config; `module` is the torch module (train it, or call `predict`)."""

    def __init__(self, config: ClipCropConfig | None = None, seed: int = 0, module: Any = None) -> None:
        torch = _require_torch()
        self.config = config or ClipCropConfig()
        if module is None:
            torch.manual_seed(seed)
            module = _build_module(self.config)
        self.module = module.eval()

    def predict(self, tokens: Any, positions: Any, matched: Any = None, union: Any = None) -> tuple[Any, Any]:
        torch = _require_torch()
        with torch.inference_mode():
            return self.module(tokens, positions, matched, union)

    def save_pretrained(self, folder: "str | os.PathLike") -> Path:
        from intentcrop.models.loading import save_model_folder

        return save_model_folder(folder, self.config.to_dict(), self.module)

    @classmethod
    def from_pretrained(cls, folder: "str | os.PathLike", device: str | None = None, dtype: Any = None
                        ) -> "ClipCropDecoder":
        from intentcrop.models.loading import load_folder_weights, select_device, select_dtype

        folder = Path(folder)
        data = json.loads((folder / "config.json").read_text())
        if data.get("model_type") != MODEL_TYPE:
            raise ValueError(f"{folder}: model_type {data.get('model_type')!r} is not {MODEL_TYPE!r}")
        decoder = cls(ClipCropConfig.from_dict(data))
        load_folder_weights(folder, decoder.module)
        dev = select_device(device)
        decoder.module.to(dev, select_dtype(dtype, dev))
        return decoder


__all__ = ["ClipCropConfig", "ClipCropDecoder", "cxcywh_to_xyxy", "grid_positions", "xyxy_to_cxcywh"]
