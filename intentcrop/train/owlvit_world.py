"""Train a tiny OWL-ViT (transformers `OwlViTForObjectDetection`) to ground world texts.

Each training image is a generated scene (or a crop around one of its objects, so that query-image
crops look familiar); each gets `queries_per_image` texts: descriptions of objects in it (positives:
'the small red circle', 'two blue stars', 'a photo of a triangle') and of absent objects that share
an attribute with present ones (hard negatives). As in OWL-ViT / DETR, every ground-truth object is
matched to one patch prediction by the Hungarian algorithm (scipy `linear_sum_assignment`) on a class
+ L1 + GIoU cost; matched patches learn the object's box (L1 + GIoU) and a positive logit for every
query that describes it, all other (patch, query) pairs a negative one (sigmoid focal loss).

The result is saved with `save_pretrained` beside an `OwlViTProcessor` (world tokenizer), so it loads
through `intentcrop.models.load_model(folder)` like google/owlvit-base-patch32.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from intentcrop.world.scenes import SCENE_SIZES, generate_scene
from intentcrop.train.towers import tower_configs
from intentcrop.world.tokenizer import MAX_TEXT_LENGTH, build_owlvit_processor, write_tokenizer_files
from intentcrop.world.vocabulary import (COLOURS, NUMBERS, PLURAL_TEMPLATES, SHAPES, SINGULAR_TEMPLATES, SIZES,
                                         phrase)

TRAIN_SEED_OFFSET = 1_000_000_000  # training scenes never reuse benchmark or test seeds
TRAIN_SCENE_SIZES = tuple((w // 2, h // 2) for w, h in SCENE_SIZES)


@dataclass
class OwlWorldConfig:
    image_size: int = 96
    patch_size: int = 8
    vision_width: int = 96
    vision_layers: int = 3
    text_width: int = 64
    text_layers: int = 2
    heads: int = 4
    steps: int = 6000
    refine_steps: int = 4000
    refine_lr: float = 3e-4
    refine_image_size: int = 128  # phase 2 input side: small shapes span 1-2 patches at 96 px, 2-3 at 128 px
    #                               (FixRes-style: train most steps cheaply at low resolution, fine-tune higher)
    batch_size: int = 16
    queries_per_image: int = 8
    lr: float = 1e-3
    warmup: int = 100
    crop_share: float = 0.2  # share of training images that are crops around one object (query-image look)
    seed: int = 0
    threads: int = 1
    log_every: int = 50


# -- model ------------------------------------------------------------------------------------


def build_model(cfg: OwlWorldConfig, tokenizer: Any):
    import torch
    from transformers import OwlViTConfig, OwlViTForObjectDetection

    torch.manual_seed(cfg.seed)
    text, vision = tower_configs(cfg, tokenizer)
    # The detection class head compares image class embeddings with projected text embeddings, so the
    # projection must have the text tower's width.
    config = OwlViTConfig(text_config=text, vision_config=vision, projection_dim=cfg.text_width)
    model = OwlViTForObjectDetection(config)
    init_detection_heads(model)
    return model


def init_detection_heads(model: Any) -> None:
    """Heads fit for training from scratch (transformers initialises them with std 1, which saturates
    every box at once): boxes start at each patch's own position (the box bias), and logits start low
    with a scale that lets a cosine similarity reach a confident score."""
    import torch

    with torch.no_grad():
        for layer in (model.box_head.dense0, model.box_head.dense1, model.class_head.dense0):
            torch.nn.init.xavier_uniform_(layer.weight)
            layer.bias.zero_()
        model.box_head.dense2.weight.zero_()
        model.box_head.dense2.bias.zero_()
        model.class_head.logit_shift.weight.zero_()
        model.class_head.logit_shift.bias.fill_(-0.3)
        model.class_head.logit_scale.weight.zero_()
        model.class_head.logit_scale.bias.fill_(9.0)  # ELU(9) + 1 = 10: cos 0.8 -> logit 5


def upscale_input(model: Any, image_size: int) -> Any:
    """A copy of `model` that takes image_size-px inputs: the patch position embeddings are interpolated
    (bicubic, as ViT fine-tuning at a higher resolution does) and the box head's per-patch bias is
    recomputed for the finer grid by the new model itself; every other weight is copied."""
    import torch
    from transformers import OwlViTForObjectDetection

    config = model.config
    if config.vision_config.image_size == image_size:
        return model
    new_config = copy.deepcopy(config)
    new_config.vision_config.image_size = image_size
    new = OwlViTForObjectDetection(new_config)
    state = model.state_dict()
    key = "owlvit.vision_model.embeddings.position_embedding.weight"
    old = state[key]
    side_old = int(round(math.sqrt(old.shape[0] - 1)))
    side_new = image_size // config.vision_config.patch_size
    grid = old[1:].reshape(1, side_old, side_old, -1).permute(0, 3, 1, 2)
    grid = torch.nn.functional.interpolate(grid, size=(side_new, side_new), mode="bicubic", align_corners=False)
    state[key] = torch.cat([old[:1], grid.permute(0, 2, 3, 1).reshape(side_new * side_new, -1)])
    new.load_state_dict(state)
    return new


# -- data -------------------------------------------------------------------------------------


def _describe(rng: np.random.Generator, colour: str | None, shape: str | None, size: str | None,
              count: int | None) -> str:
    if count is not None and count > 1:
        words = phrase(colour, shape, size, plural=True)
        template = str(rng.choice(PLURAL_TEMPLATES))
        return template.replace("{n}", NUMBERS.get(count, "")).replace("{}", words).replace("  ", " ").strip()
    return str(rng.choice(SINGULAR_TEMPLATES)).format(phrase(colour, shape, size))


def training_queries(objects: list[tuple[str, str, str]], rng: np.random.Generator,
                     n_queries: int) -> list[tuple[str, list[int]]]:
    """(text, indices of the objects it describes) for one image: positives first, then hard negatives.

    objects: (colour, shape, size) of each object in the image."""
    positives: dict[tuple, list[int]] = {}
    for i, (c, s, z) in enumerate(objects):
        for key in ((c, s, None), (c, s, z), (None, s, None), (c, None, None), (None, s, z)):
            positives.setdefault(key, []).append(i)
    # Weight full colour+shape(+size) descriptions: they are what the benchmark asks.
    keys = list(positives)
    weights = np.array([3.0 if k[0] and k[1] else 1.0 for k in keys])
    order = rng.choice(len(keys), size=min(len(keys), max(1, n_queries * 5 // 8)), replace=False,
                       p=weights / weights.sum()) if keys else []
    out: list[tuple[str, list[int]]] = []
    for k in order:
        c, s, z = keys[k]
        targets = positives[keys[k]]
        out.append((_describe(rng, c, s, z, len(targets) if rng.random() < 0.5 else None), targets))
    # Group texts ('the red circle and the blue square'), as grounders pass the user's full text too.
    singles = [k for k in keys if k[0] and k[1] and k[2] is None and len(positives[k]) == 1]
    if len(singles) >= 2 and rng.random() < 0.5:
        a, b = (singles[i] for i in rng.choice(len(singles), size=2, replace=False))
        out.append((f"{_describe(rng, *a, None)} and {_describe(rng, *b, None)}".replace("a photo of ", ""),
                    positives[a] + positives[b]))
    present = set(positives)
    colours, shapes, sizes = list(COLOURS), list(SHAPES), list(SIZES)
    tries = 0
    while len(out) < n_queries and tries < 100:
        tries += 1
        if objects and rng.random() < 0.8:  # hard negative: change one attribute of a present object
            c, s, z = objects[int(rng.integers(len(objects)))]
            which = rng.integers(3)
            if which == 0:
                key = (str(rng.choice(colours)), s, None)
            elif which == 1:
                key = (c, str(rng.choice(shapes)), None)
            else:
                key = (c, s, "small" if z == "large" else "large")
        else:
            key = (str(rng.choice(colours)), str(rng.choice(shapes)), None)
        if key in present:
            continue
        present.add(key)
        out.append((_describe(rng, *key, None), []))
    return out[:n_queries]


def training_image(seed: int, rng: np.random.Generator, crop_share: float) -> tuple[Any, np.ndarray, list]:
    """(PIL image, (G, 4) normalised cxcywh boxes, [(colour, shape, size)]) for one training sample."""
    # Half-size scenes: the model sees them at image_size anyway, and they draw six times faster.
    size = TRAIN_SCENE_SIZES[int(np.random.default_rng(seed).integers(len(TRAIN_SCENE_SIZES)))]
    scene = generate_scene(TRAIN_SEED_OFFSET + seed, size=size)
    boxes = scene.boxes()
    image = scene.image
    kinds = [(o.colour, o.shape, o.size) for o in scene.objects]
    if scene.objects and rng.random() < crop_share:
        # A crop around one object, as a query image is: objects mostly inside keep their clipped boxes.
        target = scene.objects[int(rng.integers(len(scene.objects)))].box
        grow = rng.uniform(0.1, 0.6)
        window = target.expand(grow).clip(scene.width, scene.height).round()
        x1, y1, x2, y2 = window.as_int_tuple()
        image = image.crop((x1, y1, x2, y2))
        clipped = np.stack([np.clip(boxes[:, 0], x1, x2), np.clip(boxes[:, 1], y1, y2),
                            np.clip(boxes[:, 2], x1, x2), np.clip(boxes[:, 3], y1, y2)], axis=1)
        area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
        keep = area(clipped) >= 0.6 * area(boxes)
        boxes = clipped[keep] - np.array([x1, y1, x1, y1], dtype=np.float64)
        kinds = [k for k, m in zip(kinds, keep) if m]
    w, h = image.size
    norm = boxes / np.array([w, h, w, h], dtype=np.float64)
    cxcywh = np.stack([(norm[:, 0] + norm[:, 2]) / 2, (norm[:, 1] + norm[:, 3]) / 2,
                       norm[:, 2] - norm[:, 0], norm[:, 3] - norm[:, 1]], axis=1) if len(norm) else np.zeros((0, 4))
    return image, cxcywh, kinds


def make_batch(processor: Any, seeds: list[int], rng: np.random.Generator, cfg: OwlWorldConfig) -> dict[str, Any]:
    import torch

    images, targets, texts, labels = [], [], [], []
    for s in seeds:
        image, boxes, kinds = training_image(s, rng, cfg.crop_share)
        queries = training_queries(kinds, rng, cfg.queries_per_image)
        while len(queries) < cfg.queries_per_image:  # tiny images may have few distinct negatives left
            queries.append(("a photo of a " + phrase(str(rng.choice(list(COLOURS))), "thing"), []))
        images.append(image)
        targets.append(torch.tensor(boxes, dtype=torch.float32))
        texts.append([q for q, _ in queries])
        lab = torch.zeros(len(kinds), cfg.queries_per_image)
        for qi, (_, objs) in enumerate(queries):
            for o in objs:
                lab[o, qi] = 1.0
        labels.append(lab)
    enc = processor(text=texts, images=images, return_tensors="pt", padding="max_length",
                    max_length=MAX_TEXT_LENGTH, truncation=True)
    return {"inputs": enc, "boxes": targets, "labels": labels}


# -- loss -------------------------------------------------------------------------------------


def cxcywh_to_xyxy(b):
    import torch

    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def generalized_iou(a, b):
    """(N, M) GIoU between xyxy boxes."""
    import torch

    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    iou = inter / union.clamp(min=1e-7)
    lt_c = torch.min(a[:, None, :2], b[None, :, :2])
    rb_c = torch.max(a[:, None, 2:], b[None, :, 2:])
    hull = (rb_c - lt_c).clamp(min=0).prod(-1)
    return iou - (hull - union) / hull.clamp(min=1e-7)


def hungarian_match(logits, pred_boxes, gt_boxes, gt_labels, class_weight: float = 2.0, l1_weight: float = 5.0,
                    giou_weight: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(patch indices, object indices) of the cheapest one-to-one assignment for one image."""
    import torch
    from scipy.optimize import linear_sum_assignment

    with torch.no_grad():
        prob = logits.sigmoid()  # (P, Q)
        n_pos = gt_labels.sum(1).clamp(min=1)  # (G,)
        # Class cost: minus the mean probability over the queries that describe the object.
        class_cost = -(prob @ gt_labels.T) / n_pos[None, :]  # (P, G)
        l1 = torch.cdist(pred_boxes, gt_boxes, p=1)
        giou = generalized_iou(cxcywh_to_xyxy(pred_boxes), cxcywh_to_xyxy(gt_boxes))
        cost = class_weight * class_cost + l1_weight * l1 - giou_weight * giou
        rows, cols = linear_sum_assignment(cost.cpu().numpy())
    return rows, cols


def patch_centres(num_patches: int, side: int):
    """(P, 2) normalised (x, y) centres of the patch grid, in the row-major order of OWL-ViT's outputs."""
    import torch

    coords = (torch.arange(side, dtype=torch.float32) + 0.5) / side
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)[:num_patches]


def assign_patches(logits, pred, gt_boxes, gt_labels, centre_share: float = 0.3):
    """(matched, owner): the Hungarian match (patch index per object) and, per patch, the object whose
    central region (|dx| < centre_share * w, |dy| < centre_share * h) holds the patch centre (-1: none;
    nearest object centre wins)."""
    import torch

    n_patches = logits.shape[0]
    side = int(round(math.sqrt(n_patches)))
    centres = patch_centres(n_patches, side)
    offset = (centres[:, None, :] - gt_boxes[None, :, :2]).abs() / gt_boxes[None, :, 2:].clamp(min=1e-6)  # (P, G, 2)
    inside = (offset < centre_share).all(-1)
    dist = torch.where(inside, offset.pow(2).sum(-1), torch.full_like(offset[..., 0], float("inf")))
    owner = torch.where(inside.any(1), dist.argmin(1), torch.full((n_patches,), -1, dtype=torch.long))
    rows, cols = hungarian_match(logits, pred, gt_boxes, gt_labels)
    rows, cols = torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long)
    owner[rows] = cols
    return rows, cols, owner


def detection_loss(outputs, boxes: list, labels: list, alpha: float = 0.25, gamma: float = 2.0) -> dict[str, Any]:
    """Sigmoid focal loss over (patch, query) pairs and L1 + GIoU box losses.

    Each object is matched one-to-one to a patch by the Hungarian algorithm (as OWL-ViT/DETR train): the
    matched patch gets a positive logit for every query describing the object, unmatched patches a
    negative one. The other patches at the object's centre are left out of the class loss (they look
    almost the same as the matched one) but learn the object's box too: dense box supervision lets a
    tiny model trained for minutes on a CPU learn boxes far faster."""
    import torch
    import torch.nn.functional as F

    logits, pred = outputs.logits, outputs.pred_boxes  # (B, P, Q), (B, P, 4) cxcywh in 0..1
    cls_target = torch.zeros_like(logits)
    cls_weight = torch.ones_like(logits[..., :1])
    pos_pred, pos_gt = [], []
    n_objects = 0
    for b in range(logits.shape[0]):
        if len(boxes[b]) == 0:
            continue
        rows, cols, owner = assign_patches(logits[b].detach(), pred[b].detach(), boxes[b], labels[b])
        cls_weight[b, owner >= 0] = 0.0
        cls_weight[b, rows] = 1.0
        cls_target[b, rows] = labels[b][cols]
        pos = (owner >= 0).nonzero().squeeze(1)
        pos_pred.append(pred[b, pos])
        pos_gt.append(boxes[b][owner[pos]])
        n_objects += len(rows)
    norm = max(n_objects, 1)
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, cls_target, reduction="none")
    p_t = p * cls_target + (1 - p) * (1 - cls_target)
    focal = ce * (1 - p_t) ** gamma * (alpha * cls_target + (1 - alpha) * (1 - cls_target))
    loss_cls = (focal * cls_weight).sum() / norm
    n_pos = sum(len(x) for x in pos_pred)
    if n_pos:
        mp, mg = torch.cat(pos_pred), torch.cat(pos_gt)
        loss_l1 = F.l1_loss(mp, mg, reduction="sum") / n_pos
        loss_giou = (1 - torch.diag(generalized_iou(cxcywh_to_xyxy(mp), cxcywh_to_xyxy(mg)))).sum() / n_pos
    else:
        loss_l1 = loss_giou = logits.sum() * 0
    total = 2.0 * loss_cls + 5.0 * loss_l1 + 2.0 * loss_giou
    return {"loss": total, "cls": loss_cls.detach(), "l1": loss_l1.detach(), "giou": loss_giou.detach()}


# -- training ---------------------------------------------------------------------------------


def _run_phase(model: Any, processor: Any, cfg: OwlWorldConfig, steps: int, lr: float, warmup: int,
               rng: np.random.Generator, seed_base: int, name: str, log: Callable[[str], None]) -> list[float]:
    """`steps` AdamW steps with linear warmup and cosine decay on fresh scenes seed_base + ...; the losses."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    history: list[float] = []
    t0 = time.time()
    running: dict[str, float] = {}
    for step in range(steps):
        seeds = [seed_base + step * cfg.batch_size + i for i in range(cfg.batch_size)]
        batch = make_batch(processor, seeds, rng, cfg)
        outputs = model(**batch["inputs"])
        losses = detection_loss(outputs, batch["boxes"], batch["labels"])
        opt.zero_grad()
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        for k, v in losses.items():
            running[k] = running.get(k, 0.0) + float(v.detach())
        history.append(float(losses["loss"].detach()))
        if (step + 1) % cfg.log_every == 0 or step + 1 == steps:
            n = cfg.log_every if (step + 1) % cfg.log_every == 0 else (step + 1) % cfg.log_every
            msg = " ".join(f"{k} {v / n:.3f}" for k, v in running.items())
            log(f"owlvit {name} step {step + 1}/{steps} {msg} ({time.time() - t0:.0f}s)")
            running = {}
    return history


def train_owlvit(out_dir: str | Path | None, cfg: OwlWorldConfig | None = None,
                 log: Callable[[str], None] = print, resume_from: str | Path | None = None) -> dict[str, Any]:
    """Train from `cfg.seed` (phase 1: `steps` at `lr`; phase 2: `refine_steps` more at `refine_lr` on new
    scenes), save to `out_dir` (if given); returns the model, processor, losses and timing.

    resume_from: a folder holding the phase-1 model of the same config and seed (a saved `train_owlvit`
    result with refine_steps=0); phase 1 is then loaded instead of trained. Each phase starts from its own
    seeded generators, so resuming gives the same model as training both phases in one run."""
    import torch
    from transformers import OwlViTForObjectDetection

    cfg = cfg or OwlWorldConfig()
    torch.set_num_threads(cfg.threads)
    processor = build_owlvit_processor(cfg.image_size)
    t0 = time.time()
    if resume_from is not None:
        model = OwlViTForObjectDetection.from_pretrained(resume_from)
        history = list(json.loads((Path(resume_from) / "training.json").read_text()).get("losses", []))
        log(f"owlvit: phase 1 loaded from {resume_from}")
    else:
        model = build_model(cfg, processor.tokenizer)
        model.train()
        history = _run_phase(model, processor, cfg, cfg.steps, cfg.lr, cfg.warmup, np.random.default_rng(cfg.seed),
                             cfg.seed * 10_000_000, "phase 1", log)
    model.train()
    if cfg.refine_steps:
        # A second, gentler schedule on unseen scenes, at a higher input resolution, sharpens shape and
        # attribute discrimination (the small shapes are what the 96-px model confuses).
        if cfg.refine_image_size and cfg.refine_image_size != cfg.image_size:
            model = upscale_input(model, cfg.refine_image_size)
            processor = build_owlvit_processor(cfg.refine_image_size)
            model.train()
            log(f"owlvit: phase 2 at {cfg.refine_image_size} px")
        history += _run_phase(model, processor, cfg, cfg.refine_steps, cfg.refine_lr, cfg.warmup,
                              np.random.default_rng(cfg.seed + 1000), cfg.seed * 10_000_000 + 5_000_000,
                              "phase 2", log)
    model.eval()
    result = {"config": asdict(cfg), "seconds": round(time.time() - t0, 1), "losses": history}
    if out_dir is not None:
        save(model, processor, out_dir, result)
    return {"model": model, "processor": processor, **result}


def save(model: Any, processor: Any, out_dir: str | Path, result: dict[str, Any]) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    write_tokenizer_files(out)  # the standard CLIP vocab.json + merges.txt beside tokenizer.json
    losses = result["losses"]
    summary = {"config": result["config"], "seconds": result["seconds"], "first_loss": losses[0] if losses else None,
               "last_loss": float(np.mean(losses[-50:])) if losses else None,
               "losses": [round(v, 4) for v in losses]}
    (out / "training.json").write_text(json.dumps(summary, indent=1))
    return out


def evaluate_grounding(model: Any, processor: Any, n_scenes: int = 60, seed: int = 1) -> dict[str, float]:
    """Top-1 accuracy (IoU >= 0.5 with the target) and mean IoU of the best box for single-object
    referring texts ('the red circle', 'the small red circle') on held-out benchmark-style scenes."""
    import torch

    from intentcrop.core.box import pairwise_iou
    from intentcrop.world.referring import benchmark_cases

    cases = benchmark_cases(n_scenes, seed=seed, kinds=("attribute", "size"))
    hits, ious = [], []
    with torch.no_grad():
        for case in cases:
            scene = case.scene
            enc = processor(text=[[case.referral.text]], images=scene.image, return_tensors="pt")
            out = model(**enc)
            k = int(out.logits[0, :, 0].argmax())
            cx, cy, w, h = out.pred_boxes[0, k].tolist()
            box = np.array([[(cx - w / 2) * scene.width, (cy - h / 2) * scene.height,
                             (cx + w / 2) * scene.width, (cy + h / 2) * scene.height]])
            iou = float(pairwise_iou(box, case.target_box.to_array()[None])[0, 0])
            ious.append(iou)
            hits.append(iou >= 0.5)
    return {"top1_accuracy": float(np.mean(hits)), "mean_iou": float(np.mean(ious)), "cases": len(cases)}


__all__ = ["OwlWorldConfig", "build_model", "detection_loss", "evaluate_grounding", "hungarian_match",
           "make_batch", "train_owlvit", "training_queries"]
