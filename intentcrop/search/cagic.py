"""CAGIC (Horanyi et al., "Repurposing Existing Deep Networks for Caption and Aesthetic-Guided Image Cropping"):
the crop is optimised directly, not picked from a grid (SEARCHERS "cagic").

The crop is a few unconstrained numbers mapped onto boxes that hold every constraint by construction
(`BoxParam`: inside the image, the asked ratio exact, the grounded region inside, min/max scale); a bilinear
sampler (`sample_crops`, `torch.nn.functional.grid_sample`) reads the crop out of a blurred image pyramid at the
objective model's input size, so a model's loss is differentiable in the box. The objective is
caption loss + lambda * aesthetic loss (`CagicObjective`); `optimise` runs it with scale annealing, K restarts
and L-BFGS (or Adam) and returns each restart's best box. Defaults and their sources: `CagicConfig`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from intentcrop.core.box import Box
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext
from intentcrop.models.registry import GENERATION, QUALITY, SCORING
from intentcrop.registry import SEARCHERS


@dataclass(frozen=True)
class CagicConfig:
    """Every CAGIC default in one place; "paper" = the setting issue 26 quotes from Horanyi et al., "ours" = not
    given there (or not checked against the paper text, which was not available in this session)."""

    pyramid: tuple[float, ...] = (0.25, 1 / 3, 0.5, 1.0)  # paper: sampling scales of the blurred pyramid
    anneal: float = 0.98  # paper: the crop's scale is multiplied by this after every step (1.0: no annealing)
    restarts: int = 4  # ours: K (the paper's K not checked); each restart gives one candidate optimum
    init_noise: float = 0.3  # ours: std of the restarts' initial noise on the unconstrained parameters
    steps: int = 12  # ours: optimiser steps per restart
    lam: float = 1.0  # ours: lambda weighting the aesthetic loss (paper's value not checked)
    optimizer: str = "lbfgs"  # paper: L-BFGS; "adam" is our option
    lr: float = 0.5  # ours: step size (L-BFGS lr / Adam lr) on the unconstrained parameters
    lbfgs_max_iter: int = 3  # ours: inner iterations of torch.optim.LBFGS per step
    input_size: int = 224  # the objective model's input side (CLIP's); only used when a term samples pixels
    fd_step: float = 0.01  # ours: finite-difference step (share of the image side) for the non-torch quality term
    caption: str = "auto"  # "captioner" (paper: a captioner's NLL of the text), "clip" (ours), "auto": the
    # captioner when a captioning model is given, else CLIP


# -- the crop parametrisation ------------------------------------------------------------------------------

class BoxParam:
    """Unconstrained theta (K, 3 or 4) -> boxes (K, 4) in pixels that always hold the constraints.

    theta = (tx, ty, ts[, ta]): scale s = lo + (hi - lo) * sigmoid(ts) of the largest box of the ratio that fits;
    free-form crops have a 4th parameter, the aspect, as log(w/h) in a sigmoid range. The box's left edge is a
    sigmoid mix of its least and greatest allowed value (in the image, holding the region), likewise the top.
    """

    def __init__(self, width: int, height: int, ratio: float | None, min_scale: float, max_scale: float,
                 region: tuple[float, float, float, float] | None = None) -> None:
        self.W, self.H = float(width), float(height)
        self.ratio = None if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)) else float(ratio)
        self.region = region
        self.min_scale, self.max_scale = float(min_scale), float(max_scale)
        self.n = 3 if self.ratio is not None else 4

    def _base(self, aspect: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Largest (w, h) of the given aspect that fits the image."""
        w = torch.minimum(torch.full_like(aspect, self.W), self.H * aspect)
        return w, w / aspect

    def boxes(self, theta: torch.Tensor) -> torch.Tensor:
        if self.ratio is not None:
            aspect = torch.full_like(theta[:, 0], self.ratio)
        else:  # free-form: aspect within 3x of the image's (ours), and only where min/max scale can both hold
            a0 = self.W / self.H
            lo_a = max(a0 / 3, a0 * self.min_scale / self.max_scale)
            hi_a = min(a0 * 3, a0 * self.max_scale / self.min_scale)
            aspect = torch.exp(math.log(lo_a) + math.log(hi_a / lo_a) * torch.sigmoid(theta[:, 3]))
        bw, bh = self._base(aspect)
        # the least scale: the user's min side, and enough to hold the region
        lo = torch.full_like(bw, self.min_scale)
        if self.ratio is None:  # free-form min/max scale are per side of the image
            lo = torch.maximum(lo * self.W / bw, lo * self.H / bh)
            hi = torch.minimum(self.max_scale * self.W / bw, self.max_scale * self.H / bh)
        else:
            hi = torch.full_like(bw, self.max_scale)
        if self.region is not None:
            rx1, ry1, rx2, ry2 = self.region
            lo = torch.maximum(lo, torch.maximum((rx2 - rx1) / bw, (ry2 - ry1) / bh))
        hi = torch.clamp(hi, max=1.0)
        lo = torch.minimum(lo, hi)
        s = lo + (hi - lo) * torch.sigmoid(theta[:, 2])
        w, h = s * bw, s * bh
        x_lo, x_hi = torch.zeros_like(w), self.W - w
        y_lo, y_hi = torch.zeros_like(h), self.H - h
        if self.region is not None:
            x_lo, x_hi = torch.maximum(x_lo, rx2 - w), torch.minimum(x_hi, torch.full_like(w, rx1))
            y_lo, y_hi = torch.maximum(y_lo, ry2 - h), torch.minimum(y_hi, torch.full_like(h, ry1))
            x_hi, y_hi = torch.maximum(x_hi, x_lo), torch.maximum(y_hi, y_lo)
        x1 = x_lo + (x_hi - x_lo) * torch.sigmoid(theta[:, 0])
        y1 = y_lo + (y_hi - y_lo) * torch.sigmoid(theta[:, 1])
        return torch.stack([x1, y1, x1 + w, y1 + h], dim=1)

    def scale_logit(self, theta: torch.Tensor, factor: float) -> torch.Tensor:
        """theta with the scale's sigmoid share multiplied by `factor` (annealing), the rest unchanged."""
        share = torch.sigmoid(theta[:, 2]) * factor
        out = theta.clone()
        out[:, 2] = torch.logit(share.clamp(1e-4, 1 - 1e-4))
        return out


# -- the differentiable sampler ---------------------------------------------------------------------------

def blurred_pyramid(image: torch.Tensor, scales: tuple[float, ...]) -> list[torch.Tensor]:
    """(1, 3, H, W) -> one level per scale, each downsampled with area averaging (the blur)."""
    _, _, h, w = image.shape
    return [image if s >= 1 else F.interpolate(image, size=(max(2, round(h * s)), max(2, round(w * s))),
                                              mode="area") for s in scales]


def sample_crops(levels: list[torch.Tensor], boxes: torch.Tensor, width: float, height: float,
                 size: "int | tuple[int, int]") -> torch.Tensor:
    """Boxes (K, 4) in pixels -> (K, 3, h, w) crops (size = side or (h, w)), bilinear, the mean over the
    pyramid's levels (coarse levels smooth the objective far from an optimum); differentiable in the boxes."""
    k = boxes.shape[0]
    sh, sw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    tx = torch.linspace(0, 1, sw, dtype=boxes.dtype, device=boxes.device)
    ty = torch.linspace(0, 1, sh, dtype=boxes.dtype, device=boxes.device)
    gx = (boxes[:, 0:1] + (boxes[:, 2:3] - boxes[:, 0:1]) * tx) / width * 2 - 1  # align_corners=False grid
    gy = (boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * ty) / height * 2 - 1
    grid = torch.stack([gx[:, None, :].expand(k, sh, sw), gy[:, :, None].expand(k, sh, sw)], dim=-1).contiguous()
    out = 0
    for level in levels:
        out = out + F.grid_sample(level.to(boxes.dtype).expand(k, -1, -1, -1).contiguous(), grid, mode="bilinear",
                                  padding_mode="border", align_corners=False)
    return out / len(levels)


# -- the objective ----------------------------------------------------------------------------------------

class _FiniteDiff(torch.autograd.Function):
    """A numpy box score made usable by gradient optimisers: central differences on the box (ours; the quality
    model's features are numpy summed-area lookups)."""

    @staticmethod
    def forward(ctx, boxes, fn, step):
        b = boxes.detach().cpu().double().numpy()
        value = fn(b)
        grads = np.zeros_like(b)
        for j in range(4):
            d = np.zeros(4)
            d[j] = step
            grads[:, j] = (fn(b + d) - fn(b - d)) / (2 * step)
        ctx.save_for_backward(torch.as_tensor(grads, dtype=boxes.dtype, device=boxes.device))
        return torch.as_tensor(value, dtype=boxes.dtype, device=boxes.device)

    @staticmethod
    def backward(ctx, grad_out):
        (grads,) = ctx.saved_tensors
        return grad_out[:, None] * grads, None, None


class CagicObjective:
    """Loss per box (lower is better) and its terms: caption + lam * aesthetic.

    caption (when the intent has a text), one kind: "captioner" (the paper's) = a captioning model's mean token NLL
    of the text over the sampled crop, order-free (intentcrop.models.captioner); "clip" (our variant) =
    1 - cosine(CLIP image embedding of the sampled crop, text embedding). aesthetic: "quality" = minus the
    offline crop-quality model's score (no download), differentiated by finite differences.
    """

    def __init__(self, ctx: CropContext, config: CagicConfig, quality: Any = None, clip: Any = None,
                 device: str | None = None, dtype: Any = None, captioner: Any = None) -> None:
        from intentcrop.models.captioner import CaptionerNLL

        self.ctx, self.config = ctx, config
        self.quality = quality
        self.clip = clip if captioner is None else None  # one caption kind per objective
        self.device = torch.device(device or "cpu")
        self.dtype = dtype or torch.float32
        self.text = ctx.intent.text if (clip is not None or captioner is not None) else None
        self.levels = None
        self.captioner = CaptionerNLL(captioner, self.text) if (captioner is not None and self.text) else None
        if self.text:
            rgb = torch.as_tensor(np.array(ctx.image.convert("RGB")), dtype=torch.float32) / 255.0
            self.levels = blurred_pyramid(rgb.permute(2, 0, 1)[None].to(self.device), config.pyramid)
            if self.captioner is None:
                self.text_embedding = torch.as_tensor(clip.encode_text([self.text])[0], device=self.device)

    def _quality(self, b: np.ndarray) -> np.ndarray:
        b = np.clip(b, 0, [self.ctx.width, self.ctx.height, self.ctx.width, self.ctx.height])
        return self.quality.score(self.ctx, Candidates.from_xyxy(b))["total"]

    def terms(self, boxes: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        if self.quality is not None:
            step = self.config.fd_step * max(self.ctx.width, self.ctx.height)
            out["aesthetic"] = -_FiniteDiff.apply(boxes, self._quality, step)
        if self.captioner is not None:  # sampled at the captioner's own input size, normalised by it
            h, w = self.captioner.size
            crops = sample_crops(self.levels, boxes.to(self.device), self.ctx.width, self.ctx.height, (h, w))
            out["caption"] = self.captioner(crops).to(boxes.dtype).to(boxes.device)
        elif self.text:
            size = int(getattr(self.clip.vision_config, "image_size", None) or self.config.input_size)  # the model's own
            crops = sample_crops(self.levels, boxes.to(self.device), self.ctx.width, self.ctx.height, size)
            mean = torch.tensor([0.48145466, 0.4578275, 0.40821073], device=self.device)[None, :, None, None]
            std = torch.tensor([0.26862954, 0.26130258, 0.27577711], device=self.device)[None, :, None, None]
            model_dtype = next(self.clip.loaded.model.parameters()).dtype
            emb = self.clip._project_cls(((crops - mean) / std).to(model_dtype)).float()
            emb = emb / emb.norm(dim=-1, keepdim=True)
            out["caption"] = (1 - emb @ self.text_embedding.float()).to(boxes.dtype).to(boxes.device)
        return out

    def loss(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        total = 0
        if "caption" in terms:
            total = total + terms["caption"]
        if "aesthetic" in terms:
            total = total + self.config.lam * terms["aesthetic"]
        return total


# -- the optimiser ----------------------------------------------------------------------------------------

def optimise(param: BoxParam, loss_terms: Callable[[torch.Tensor], dict[str, torch.Tensor]],
             combine: Callable[[dict], torch.Tensor], config: CagicConfig, init: torch.Tensor | None = None,
             seed: int = 0) -> list[dict[str, Any]]:
    """K restarts, each annealed and optimised; per restart its best box over the trajectory (the aggregation:
    best objective seen) with that box's terms. `init` (n,) is restart 0's start (e.g. the best grid crop)."""
    gen = torch.Generator().manual_seed(seed)
    starts = torch.randn(config.restarts, param.n, generator=gen, dtype=torch.float64) * config.init_noise
    starts[:, 2] += 3.0  # restarts begin near the largest crop and are annealed inwards (ours)
    if init is not None:
        starts[0] = init
    results = []
    for r in range(config.restarts):
        theta = starts[r : r + 1].clone().requires_grad_(True)
        if config.optimizer == "lbfgs":
            opt = torch.optim.LBFGS([theta], lr=config.lr, max_iter=config.lbfgs_max_iter)
        elif config.optimizer == "adam":
            opt = torch.optim.Adam([theta], lr=config.lr)
        else:
            raise ValueError(f"unknown optimizer {config.optimizer!r}; use 'lbfgs' or 'adam'")
        best: dict[str, Any] | None = None
        for _ in range(config.steps + 1):
            with torch.no_grad():
                box = param.boxes(theta)
                terms = loss_terms(box)
                value = float(combine(terms)[0])
            if best is None or value < best["loss"]:
                best = {"loss": value, "box": box[0].numpy().copy(),
                        "terms": {k: float(v[0]) for k, v in terms.items()}}

            def closure():
                opt.zero_grad()
                loss = combine(loss_terms(param.boxes(theta))).sum()
                loss.backward()
                return loss

            opt.step(closure)
            if config.anneal != 1.0:
                with torch.no_grad():
                    theta.copy_(param.scale_logit(theta, config.anneal))
        results.append(best)
    return results


def inverse_param(param: BoxParam, box: np.ndarray, iters: int = 200) -> torch.Tensor:
    """theta whose box is nearest to `box` (a few Adam steps; used to start a restart from a grid crop)."""
    theta = torch.zeros(1, param.n, dtype=torch.float64, requires_grad=True)
    target = torch.as_tensor(box, dtype=torch.float64)[None]
    opt = torch.optim.Adam([theta], lr=0.1)
    for _ in range(iters):
        opt.zero_grad()
        loss = ((param.boxes(theta) - target) ** 2).sum() / (param.W * param.H)
        loss.backward()
        opt.step()
    return theta.detach()[0]


@SEARCHERS.register("cagic")
class CagicSearch:
    """The optimiser as the pipeline's search stage: per ratio group, K restarts (restart 0 from the group's best
    candidate); each restart's optimum becomes a candidate, ranked by minus the CAGIC loss, with the objective's
    terms in its breakdown ("cagic.loss", "cagic.caption", "cagic.aesthetic")."""

    model_arguments = {"clip_model": SCORING, "quality_model": QUALITY, "captioner_model": GENERATION}

    def __init__(self, clip_model: Any = None, quality_model: Any = None, captioner_model: Any = None,
                 device: str | None = None, dtype: Any = None, **config: Any) -> None:
        from intentcrop.score.quality import QualityScorer

        self.config = CagicConfig(**config)
        if self.config.caption not in ("auto", "captioner", "clip"):
            raise ValueError(f"unknown caption kind {self.config.caption!r}; use 'auto', 'captioner' or 'clip'")
        if self.config.caption == "captioner" and captioner_model is None:
            raise ValueError("caption kind 'captioner' needs a captioning model (captioner_model: a hub id or folder "
                             "of an image-text-to-text model, e.g. --model fixtures/world/vlm)")
        self.captioner_model = None if self.config.caption == "clip" else captioner_model
        self._captioner = None
        self.device, self.dtype = device, dtype
        self.quality = QualityScorer(quality_model)
        self.clip_model = clip_model
        self._clip = None

    def clip(self) -> Any:
        if self._clip is None:
            from intentcrop.models.clip import shared_encoder

            self._clip = shared_encoder(self.clip_model, device=self.device, dtype=self.dtype)
        return self._clip

    def captioner(self) -> Any:
        if self._captioner is None:
            from intentcrop.models.loading import load_vlm

            self._captioner = load_vlm(self.captioner_model, device=self.device, dtype=self.dtype)
        return self._captioner

    def search(self, ctx: CropContext, candidates: Candidates, score: Callable[[Candidates], Candidates]) -> Candidates:
        use_captioner = bool(ctx.intent.text) and self.captioner_model is not None
        objective = CagicObjective(ctx, self.config, quality=self.quality,
                                   clip=self.clip() if ctx.intent.text and not use_captioner else None,
                                   captioner=self.captioner() if use_captioner else None,
                                   device=self.device, dtype=self.dtype)
        region = ctx.grounding.region if ctx.grounding is not None else None
        region_t = None if region is None else (lambda b: (b.x1, b.y1, b.x2, b.y2))(region.clip(ctx.width, ctx.height))
        keys = np.where(np.isnan(candidates.ratio), -1.0, candidates.ratio)
        parts = []
        for key in np.unique(keys):
            members = np.flatnonzero(keys == key)
            ratio = None if key < 0 else float(key)
            param = BoxParam(ctx.width, ctx.height, ratio, ctx.min_scale, ctx.intent.max_scale, region_t)
            init = None
            if candidates.scores is not None and len(members):
                init = inverse_param(param, candidates.xyxy[members[np.argmax(candidates.scores[members])]])
            found = optimise(param, objective.terms, objective.loss, self.config, init=init)
            # scored as returned: on integer pixels, exact at the ratio (the pipeline's own rounding)
            boxes = np.array([Box.from_xyxy(f["box"]).to_pixels(ratio, ctx.width, ctx.height).to_list()
                              for f in found])
            part = score(Candidates.from_xyxy(boxes, source="cagic", ratio=ratio))
            part.scores = -np.array([f["loss"] for f in found])
            part.breakdown["cagic.loss"] = np.array([f["loss"] for f in found])
            for name in ("caption", "aesthetic"):
                if name in found[0]["terms"]:
                    part.breakdown[f"cagic.{name}"] = np.array([f["terms"][name] for f in found])
            parts.append(part)
        return Candidates.merge(parts)
