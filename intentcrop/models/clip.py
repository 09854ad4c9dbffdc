"""CLIP / SigLIP wrapper (role: scoring): image, text and crop embeddings from one loaded model.

Crops are embedded in one of two ways:

* exact  -- cut each candidate out, preprocess it with the model's own processor, encode it (N forward
            passes, batched). The reference; cost grows with the number of candidates.
* pooled -- encode the whole image once, at the model's native token budget with its aspect kept
            (position embeddings interpolated), through all layers but the last; then per candidate run
            the last layer for the CLS token only, its attention restricted to the patch tokens inside
            the box ("attention", the default), or RoIAlign the last-layer patch tokens over the box
            ("roi_align"); either goes through the vision post-layernorm and projection as the CLS token
            does. One forward pass for any number of candidates; `benchmarks/bench_vlm.py` measures the
            Spearman rank agreement of both poolings with exact.

mode="auto" (the default) uses exact for at most `exact_max_candidates` (option `clip_exact_max_candidates`) candidates (where
it is cheap and best) and pooled above that (the ~90 candidates of a normal call). SigLIP has no CLS
token to stand in for, so it always uses exact.

The scorers that use it (clip_text, clip_prompts, clip_aesthetic, in `intentcrop.score`) and the grounder's
CLIP verification (`intentcrop.ground.verify`) share one encoder per model (`shared_encoder`).
"""

from __future__ import annotations

import math
import threading
from typing import Any, Sequence

import numpy as np
from PIL import Image

from intentcrop import defaults
from intentcrop.errors import IntentCropError
from intentcrop.models.registry import SCORING
from intentcrop.models.loading import _require_torch, tokenizer_lock

MODES = ("auto", "exact", "pooled")


MIN_CROP_SIDE = 8  # pixels: the least side of a crop CLIP is asked to encode


def encodable_window(xyxy, width: int, height: int, min_side: int = MIN_CROP_SIDE) -> tuple[int, int, int, int]:
    """The box in whole pixels, each side widened to at least min_side (or the image's side) around its centre
    and kept inside the image."""
    out = []
    for lo, hi, limit in ((xyxy[0], xyxy[2], width), (xyxy[1], xyxy[3], height)):
        lo, hi = int(round(lo)), int(round(hi))
        side = min(max(hi - lo, min_side), limit)
        start = min(max(int(round((lo + hi - side) / 2)), 0), limit - side)
        out.append((start, start + side))
    (x1, x2), (y1, y2) = out
    return x1, y1, x2, y2


class ClipEncoder:
    """Image / text / crop embeddings (unit norm, numpy float32) from one loaded CLIP or SigLIP model."""

    role = SCORING

    def __init__(self, model: Any = None, device: str | None = None, dtype: Any = None,
                 batch_size: int | None = None) -> None:
        from intentcrop.models.loading import load_clip_model

        self.loaded = load_clip_model(model, device=device, dtype=dtype)
        self.batch_size = int(batch_size) if batch_size is not None else None  # None: the clip_batch_size option
        self._text_cache: dict[str, np.ndarray] = {}

    # -- basics ---------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return f"{self.loaded.spec.source}|{self.loaded.device}|{self.loaded.dtype}"

    @property
    def architecture(self) -> str:
        return self.loaded.architecture

    @property
    def logit_scale(self) -> float:
        scale = getattr(self.loaded.model, "logit_scale", None)
        return float(scale.exp().item()) if scale is not None else 100.0

    @property
    def vision_config(self) -> Any:
        return self.loaded.model.config.vision_config

    def _to_device(self, tensor: Any) -> Any:
        tensor = tensor.to(self.loaded.device)
        return tensor.to(self.loaded.dtype) if tensor.is_floating_point() else tensor

    @staticmethod
    def _normalize(t: Any) -> np.ndarray:
        t = t.float()
        return (t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)).cpu().numpy().astype(np.float32)

    # -- text -----------------------------------------------------------------------------------
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(T, D) unit-norm text embeddings; each distinct text is encoded once per encoder."""
        torch = _require_torch()  # a clear "install the vlm extra" error, not an ImportError

        missing = [t for t in dict.fromkeys(texts) if t not in self._text_cache]
        if missing:
            tok = self.loaded.processor.tokenizer
            max_len = getattr(self.loaded.model.config.text_config, "max_position_embeddings", None)
            padding = "max_length" if self.architecture == "siglip" else True  # SigLIP was trained on padded text
            with tokenizer_lock(tok):  # a fast tokenizer sets its padding per call: not thread-safe
                batch = tok(missing, padding=padding, truncation=True, max_length=max_len, return_tensors="pt")
            with torch.inference_mode():
                model = self.loaded.model
                if self.architecture == "clip":
                    out = model.text_model(input_ids=self._to_device(batch["input_ids"]),
                                           attention_mask=self._to_device(batch["attention_mask"]))
                    feats = model.text_projection(out.pooler_output)
                else:
                    feats = _features(model.get_text_features(input_ids=self._to_device(batch["input_ids"])))
            for text, row in zip(missing, self._normalize(feats)):
                self._text_cache[text] = row
        return np.stack([self._text_cache[t] for t in texts]) if texts else np.zeros((0, self.embed_dim), np.float32)

    @property
    def embed_dim(self) -> int:
        config = self.loaded.model.config
        return int(getattr(config, "projection_dim", None) or config.vision_config.hidden_size)

    # -- images ---------------------------------------------------------------------------------
    def _pixel_values(self, images: Sequence[Image.Image], **kwargs: Any) -> Any:
        out = self.loaded.processor.image_processor(images=list(images), return_tensors="pt", **kwargs)
        return self._to_device(out["pixel_values"])

    def _project_cls(self, pixel_values: Any, interpolate: bool = False) -> Any:
        model = self.loaded.model
        if self.architecture == "clip":
            out = model.vision_model(pixel_values=pixel_values, interpolate_pos_encoding=interpolate)
            return model.visual_projection(out.pooler_output)
        return _features(model.get_image_features(pixel_values=pixel_values))

    def encode_images(self, images: Sequence[Image.Image], batch_size: int | None = None) -> np.ndarray:
        """(N, D) unit-norm embeddings of whole images, each preprocessed by the model's processor, `batch_size`
        per forward pass (None: this encoder's, else the clip_batch_size option)."""
        torch = _require_torch()  # a clear "install the vlm extra" error, not an ImportError

        batch = batch_size or self.batch_size or defaults.DEFAULTS.clip_batch_size
        rows = []
        with torch.inference_mode():
            for start in range(0, len(images), batch):
                chunk = images[start:start + batch]
                rows.append(self._normalize(self._project_cls(self._pixel_values(chunk))))
        return np.concatenate(rows) if rows else np.zeros((0, self.embed_dim), np.float32)

    def encode_crops_exact(self, image: Image.Image, xyxy: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Cut every box out and encode it (the reference embedding of a crop). A box thinner than MIN_CROP_SIDE
        pixels (a model's degenerate guess) is widened to it around its centre: the processor cannot resize a
        zero-pixel side."""
        boxes = np.asarray(xyxy).reshape(-1, 4)
        crops = [image.crop(encodable_window(box, image.width, image.height)) for box in boxes]
        return self.encode_images(crops, batch_size)

    # -- pooled ---------------------------------------------------------------------------------
    def pooled_input_size(self, width: int, height: int) -> tuple[int, int]:
        """(height, width) in pixels, multiples of the patch size, with about the model's native token
        count and the image's aspect: pooled encoding costs about what one crop's encoding costs."""
        vc = self.vision_config
        patch, side = int(vc.patch_size), int(vc.image_size)
        tokens = (side // patch) ** 2
        aspect = width / height
        grid_w = max(1, round(math.sqrt(tokens * aspect)))
        grid_h = max(1, round(math.sqrt(tokens / aspect)))
        return grid_h * patch, grid_w * patch

    def image_state(self, image: Image.Image) -> dict[str, Any]:
        """The whole image through all vision layers but the last, at the pooled input size: the per-image
        work that every candidate's pooled embedding shares. {'hidden': (1, 1 + gh*gw, C), 'grid': (gh, gw)}."""
        torch = _require_torch()  # a clear "install the vlm extra" error, not an ImportError

        if self.architecture != "clip":
            raise IntentCropError(f"pooled crop embeddings need a CLIP model, not {self.architecture}")
        h, w = self.pooled_input_size(*image.size)
        pixel_values = self._pixel_values([image], size={"height": h, "width": w}, do_center_crop=False)
        patch = int(self.vision_config.patch_size)
        vision = self.loaded.model.vision_model
        with torch.inference_mode():
            hidden = vision.pre_layrnorm(vision.embeddings(pixel_values, interpolate_pos_encoding=True))
            for layer in vision.encoder.layers[:-1]:
                out = layer(hidden, None)
                hidden = out[0] if isinstance(out, tuple) else out
        return {"hidden": hidden, "grid": (pixel_values.shape[-2] // patch, pixel_values.shape[-1] // patch)}

    def token_grid(self, state: dict[str, Any]) -> Any:
        """Last-layer patch tokens as a (C, gh, gw) tensor (before the post-layernorm), for RoIAlign pooling."""
        torch = _require_torch()  # a clear "install the vlm extra" error, not an ImportError

        with torch.inference_mode():
            out = self.loaded.model.vision_model.encoder.layers[-1](state["hidden"], None)
        tokens = (out[0] if isinstance(out, tuple) else out)[0, 1:, :]
        gh, gw = state["grid"]
        return tokens.reshape(gh, gw, -1).permute(2, 0, 1).contiguous()

    def pool_crops(self, state: dict[str, Any], xyxy: np.ndarray, width: int, height: int,
                   pooling: str | None = None, roi_samples: int | None = None) -> np.ndarray:
        """Pooled (N, D) embeddings of boxes (original pixels) from one `image_state`.

        pooling="attention" (default): the last layer runs for the CLS token alone, once per box, with its
        attention restricted to the patch tokens the box covers (each weighted by the share of its cell inside
        the box); then post-layernorm + projection as usual. For the whole-image box this is exactly the CLS
        embedding of the pooled input, so for a square image pooled equals exact there.
        pooling="roi_align": RoIAlign of the last-layer patch tokens over the box, then post-layernorm +
        projection (the patch tokens standing in for the CLS token)."""
        torch = _require_torch()  # a clear "install the vlm extra" error, not an ImportError

        pooling = pooling or defaults.DEFAULTS.clip_pooling
        roi_samples = roi_samples or defaults.DEFAULTS.clip_roi_samples
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        model = self.loaded.model
        vision = model.vision_model
        with torch.inference_mode():
            if pooling == "roi_align":
                grid = self.token_grid(state)
                feats = roi_align_tokens(grid.float(), xyxy, width, height, samples=roi_samples)
                cls = feats.to(self.loaded.dtype)
            elif pooling == "attention":
                coverage = torch.as_tensor(box_coverage(xyxy, width, height, *state["grid"]), dtype=torch.float32)
                cls = roi_attention_cls(vision.encoder.layers[-1], state["hidden"], coverage.to(state["hidden"].device))
            else:
                raise IntentCropError(f"unknown pooling {pooling!r}; use attention or roi_align")
            projected = model.visual_projection(vision.post_layernorm(cls))
        return self._normalize(projected)

    def encode_crops_pooled(self, image: Image.Image, xyxy: np.ndarray, pooling: str | None = None) -> np.ndarray:
        return self.pool_crops(self.image_state(image), xyxy, *image.size, pooling=pooling)

    def resolve_mode(self, mode: str, n: int, exact_max_candidates: int | None = None) -> str:
        if mode not in MODES:
            raise IntentCropError(f"unknown CLIP scoring mode {mode!r}; use one of {', '.join(MODES)}")
        if self.architecture != "clip":
            return "exact"
        if mode == "auto":
            limit = defaults.DEFAULTS.clip_exact_max_candidates if exact_max_candidates is None else exact_max_candidates
            return "exact" if n <= limit else "pooled"
        return mode


def _features(output: Any) -> Any:
    """get_*_features returns a tensor in transformers 4 and an output object in 5."""
    return output if hasattr(output, "norm") else output.pooler_output


def box_coverage(xyxy: np.ndarray, width: int, height: int, grid_h: int, grid_w: int) -> np.ndarray:
    """(N, grid_h * grid_w) share of each token's cell (the grid spans the whole image) inside each box."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    ex = np.linspace(0, width, grid_w + 1)
    ey = np.linspace(0, height, grid_h + 1)
    ox = np.clip(np.minimum(xyxy[:, 2:3], ex[None, 1:]) - np.maximum(xyxy[:, 0:1], ex[None, :-1]), 0, None) / np.diff(ex)
    oy = np.clip(np.minimum(xyxy[:, 3:4], ey[None, 1:]) - np.maximum(xyxy[:, 1:2], ey[None, :-1]), 0, None) / np.diff(ey)
    return (oy[:, :, None] * ox[:, None, :]).reshape(len(xyxy), grid_h * grid_w)


def roi_attention_cls(layer: Any, hidden: Any, coverage: Any) -> Any:
    """Run a CLIP encoder layer for the CLS token only, once per box: its attention sees the CLS token and the
    patch tokens weighted by `coverage` (N, P) (added as log-weights; uncovered tokens are masked out).
    hidden: (1, 1 + P, C), the layer's input. Returns (N, C), the layer's CLS output per box."""
    import torch

    attn = layer.self_attn
    n, c = coverage.shape[0], hidden.shape[-1]
    heads = attn.num_heads
    x = layer.layer_norm1(hidden)[0]  # (T, C)
    q = attn.q_proj(x[:1]).reshape(heads, -1)  # (H, d)
    k = attn.k_proj(x).reshape(x.shape[0], heads, -1).transpose(0, 1)  # (H, T, d)
    v = attn.v_proj(x).reshape(x.shape[0], heads, -1).transpose(0, 1)
    logits = torch.einsum("hd,htd->ht", q, k) * attn.scale  # (H, T)
    weights = torch.cat([torch.ones(n, 1, dtype=coverage.dtype, device=coverage.device), coverage], dim=1)
    bias = torch.log(weights.clamp_min(0)).to(logits.dtype)  # log 0 = -inf masks a token out
    probs = torch.softmax(logits[None] + bias[:, None, :], dim=-1)  # (N, H, T)
    out = attn.out_proj(torch.einsum("nht,htd->nhd", probs, v).reshape(n, c))
    cls = hidden[0, 0][None] + out
    return cls + layer.mlp(layer.layer_norm2(cls))


def roi_align_tokens(grid: Any, xyxy: np.ndarray, width: int, height: int, samples: int = 4) -> Any:
    """Average of samples x samples bilinear samples inside each box, on a (C, gh, gw) token grid that
    covers the whole width x height image. Returns (N, C). Token (i, j) is the centre of its patch."""
    import torch
    import torch.nn.functional as F

    boxes = torch.as_tensor(xyxy, dtype=torch.float32).reshape(-1, 4)
    n = boxes.shape[0]
    if n == 0:
        return grid.new_zeros((0, grid.shape[0]))
    steps = (torch.arange(samples, dtype=torch.float32) + 0.5) / samples  # bin centres in 0..1
    fx1, fx2 = boxes[:, 0:1] / width, boxes[:, 2:3] / width
    fy1, fy2 = boxes[:, 1:2] / height, boxes[:, 3:4] / height
    xs = fx1 + (fx2 - fx1) * steps  # (N, S) image fractions
    ys = fy1 + (fy2 - fy1) * steps
    # grid_sample with align_corners=False: -1 and 1 are the outer edges of the grid, as fractions 0 and 1 are.
    gx = (xs * 2 - 1)[:, None, :].expand(n, samples, samples)
    gy = (ys * 2 - 1)[:, :, None].expand(n, samples, samples)
    coords = torch.stack([gx, gy], dim=-1).reshape(1, n * samples, samples, 2)
    sampled = F.grid_sample(grid[None], coords.to(grid.device, grid.dtype), mode="bilinear", padding_mode="border",
                            align_corners=False)  # (1, C, N*S, S)
    return sampled[0].reshape(grid.shape[0], n, samples * samples).mean(dim=-1).transpose(0, 1)


_ENCODERS: dict[tuple, ClipEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def shared_encoder(model: Any = None, device: str | None = None, dtype: Any = None) -> ClipEncoder:
    """One ClipEncoder (and its text-embedding cache) per model per process; threads asking at once share one."""
    key = (str(model), str(device), str(dtype))
    encoder = _ENCODERS.get(key)
    if encoder is None:
        with _ENCODERS_LOCK:
            encoder = _ENCODERS.get(key)
            if encoder is None:
                encoder = _ENCODERS[key] = ClipEncoder(model, device=device, dtype=dtype)
    return encoder


__all__ = ["ClipEncoder", "MIN_CROP_SIDE", "MODES", "box_coverage", "encodable_window", "roi_align_tokens",
           "roi_attention_cls", "shared_encoder"]
