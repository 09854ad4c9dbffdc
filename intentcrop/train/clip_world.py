"""Contrastive training of a tiny CLIP (transformers `CLIPModel`) on world region-caption pairs.

A training pair is a crop of a generated scene around one object (with a random margin, so
neighbours are often partly inside) and a caption of that object at a random level of detail
('a photo of a small red circle', 'the red circle', 'a star'). Captions in a batch repeat and one
crop can match several captions, so the InfoNCE targets are soft: crop i and caption j are a
positive pair whenever an object lying wholly inside crop i fits caption j.

Saved with `save_pretrained` beside a `CLIPProcessor` (world tokenizer), so it loads through
`intentcrop.models.load_model(folder)` like openai/clip-vit-base-patch32.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from intentcrop.train.owlvit_world import TRAIN_SCENE_SIZES
from intentcrop.world.scenes import generate_scene
from intentcrop.train.towers import tower_configs
from intentcrop.world.tokenizer import MAX_TEXT_LENGTH, build_clip_processor, write_tokenizer_files
from intentcrop.world.vocabulary import SINGULAR_TEMPLATES, phrase

TRAIN_SEED_OFFSET = 2_000_000_000  # CLIP training scenes: apart from OWL-ViT's, the benchmark's and the tests'


@dataclass
class ClipWorldConfig:
    image_size: int = 64
    patch_size: int = 8
    vision_width: int = 64
    vision_layers: int = 3
    text_width: int = 64
    text_layers: int = 2
    heads: int = 4
    projection_dim: int = 64
    steps: int = 5000  # objects only, 1000 steps named a held-out object's shape for 0.78 of objects, 3000 for
    #                    0.98 (evaluate_shape_naming; CLIP verification only helps the grounder once it knows
    #                    shapes); with composed scenes taking a quarter of each batch 3000 -> 0.91, 5000 -> 0.96
    batch_size: int = 48
    lr: float = 1e-3
    warmup: int = 50
    seed: int = 0
    threads: int = 1
    log_every: int = 50
    composed_share: float = 0.25  # share of each batch that is a whole composed scene with a composition /
    #                               aesthetic caption (intentcrop.world.composition); 0 trains objects only


def build_model(cfg: ClipWorldConfig, tokenizer: Any):
    import torch
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(cfg.seed)
    text, vision = tower_configs(cfg, tokenizer)
    return CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=cfg.projection_dim))


# A caption's detail level: which attributes it names.
_LEVELS = (("colour", "shape"), ("size", "colour", "shape"), ("shape",), ("colour", "shape"))


def _caption(obj: tuple[str, str, str], level: tuple[str, ...], rng: np.random.Generator) -> tuple[str, tuple]:
    colour, shape, size = obj
    key = (colour if "colour" in level else None, shape if "shape" in level else None,
           size if "size" in level else None)
    return str(rng.choice(SINGULAR_TEMPLATES)).format(phrase(key[0], key[1], key[2])), key


def _fits(obj: tuple[str, str, str], key: tuple) -> bool:
    return all(k is None or k == v for k, v in zip(key, obj))


def make_pairs(seeds: list[int], rng: np.random.Generator,
               composed_share: float = 0.0) -> tuple[list, list[str], np.ndarray]:
    """(crops, captions, positives matrix) for one batch: region crops with object captions, and the last
    `composed_share` of the seeds whole composed scenes with composition / attribute captions. A composed scene
    fits an object caption when it holds such an object; a region crop never fits a composition caption."""
    from intentcrop.world.composition import caption as composed_caption, caption_fits, compose_scene

    n_composed = int(round(len(seeds) * composed_share))
    region_seeds, composed_seeds = seeds[:len(seeds) - n_composed], seeds[len(seeds) - n_composed:]
    crops, captions, keys, inside_lists = [], [], [], []
    scenes: list[Any] = []  # the composed scene of each row, None for region crops
    for s in region_seeds:
        size = TRAIN_SCENE_SIZES[int(np.random.default_rng(s).integers(len(TRAIN_SCENE_SIZES)))]
        scene = generate_scene(TRAIN_SEED_OFFSET + s, size=size)
        if not scene.objects:
            continue
        focus = int(rng.integers(len(scene.objects)))
        box = scene.objects[focus].box
        grow = rng.uniform(0.05, 1.0)
        window = box.expand(grow).translate(*(rng.uniform(-0.3, 0.3, size=2) * grow * np.array([box.width, box.height])))
        window = window.union(box).clip(scene.width, scene.height).round()
        crops.append(scene.image.crop(window.as_int_tuple()))
        inside = [(o.colour, o.shape, o.size) for o in scene.objects if window.contains(o.box, tolerance=0.5)]
        inside_lists.append(inside)
        o = scene.objects[focus]
        caption, key = _caption((o.colour, o.shape, o.size), _LEVELS[int(rng.integers(len(_LEVELS)))], rng)
        captions.append(caption)
        keys.append(key)
        scenes.append(None)
    for s in composed_seeds:
        scene = compose_scene(TRAIN_SEED_OFFSET + s)
        crops.append(scene.image)
        inside_lists.append([(o.colour, o.shape, o.size) for o in scene.objects])
        text, key = composed_caption(scene, rng)
        captions.append(text)
        keys.append(("composed", key))
        scenes.append(scene)

    def fits(row: int, key: tuple) -> bool:
        if key[0] == "composed":
            return scenes[row] is not None and caption_fits(scenes[row], key[1])
        return any(_fits(obj, key) for obj in inside_lists[row])

    positives = np.array([[fits(i, key) for key in keys] for i in range(len(crops))], dtype=np.float32)
    return crops, captions, positives


def soft_clip_loss(logits_per_image, positives):
    """Symmetric InfoNCE with several positives per row/column (targets spread evenly over them)."""
    import torch.nn.functional as F

    row_t = positives / positives.sum(1, keepdim=True).clamp(min=1)
    col_t = positives / positives.sum(0, keepdim=True).clamp(min=1)
    loss_i = -(row_t * F.log_softmax(logits_per_image, dim=1)).sum(1).mean()
    loss_t = -(col_t * F.log_softmax(logits_per_image, dim=0)).sum(0).mean()
    return (loss_i + loss_t) / 2


def train_clip(out_dir: str | Path | None, cfg: ClipWorldConfig | None = None,
               log: Callable[[str], None] = print) -> dict[str, Any]:
    import torch

    cfg = cfg or ClipWorldConfig()
    torch.set_num_threads(cfg.threads)
    processor = build_clip_processor(cfg.image_size)
    model = build_model(cfg, processor.tokenizer)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps)))
    rng = np.random.default_rng(cfg.seed)
    history: list[float] = []
    t0 = time.time()
    running = 0.0
    for step in range(cfg.steps):
        seeds = [cfg.seed * 10_000_000 + step * cfg.batch_size + i for i in range(cfg.batch_size)]
        crops, captions, positives = make_pairs(seeds, rng, cfg.composed_share)
        enc = processor(text=captions, images=crops, return_tensors="pt", padding="max_length",
                        max_length=MAX_TEXT_LENGTH, truncation=True)
        out = model(**enc)
        loss = soft_clip_loss(out.logits_per_image, torch.from_numpy(positives))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        history.append(float(loss.detach()))
        running += history[-1]
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            n = cfg.log_every if (step + 1) % cfg.log_every == 0 else (step + 1) % cfg.log_every
            log(f"clip step {step + 1}/{cfg.steps} loss {running / n:.3f} ({time.time() - t0:.0f}s)")
            running = 0.0
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
    write_tokenizer_files(out)
    losses = result["losses"]
    summary = {"config": result["config"], "seconds": result["seconds"], "first_loss": losses[0] if losses else None,
               "last_loss": float(np.mean(losses[-50:])) if losses else None}
    (out / "training.json").write_text(json.dumps(summary, indent=2))
    return out


def evaluate_retrieval(model: Any, processor: Any, n_scenes: int = 60, seed: int = 1) -> dict[str, float]:
    """Share of held-out target crops whose best caption among the scene's attribute texts is its own."""
    import torch

    from intentcrop.world.referring import benchmark_cases, query_crop

    hits = []
    with torch.no_grad():
        for case in benchmark_cases(n_scenes, seed=seed, kinds=("attribute",)):
            scene = case.scene
            names = sorted({o.describe() for o in scene.objects})
            crop = query_crop(scene, case.targets[0])
            enc = processor(text=[f"a photo of a {n}" for n in names], images=crop, return_tensors="pt",
                            padding="max_length", max_length=MAX_TEXT_LENGTH, truncation=True)
            best = names[int(model(**enc).logits_per_image[0].argmax())]
            hits.append(best == scene.objects[case.targets[0]].describe())
    return {"top1_accuracy": float(np.mean(hits)), "cases": len(hits)}


def evaluate_shape_naming(model: Any, processor: Any, n_scenes: int = 40, seed: int = 1) -> dict[str, float]:
    """Share of held-out objects whose crop (as a query image is cut) matches 'a photo of a <its colour> <shape>'
    best with its own shape among the five: what CLIP verification asks of the model (which of the red
    things is the circle?), and what `evaluate_retrieval`, whose captions mostly differ in colour, hardly tests."""
    import torch

    from intentcrop.world.referring import benchmark_cases, query_crop
    from intentcrop.world.vocabulary import COLOURS, SHAPES

    # every colour's five captions in one batch with all of a scene's crops: one forward pass per scene
    captions = [f"a photo of a {colour} {shape}" for colour in COLOURS for shape in SHAPES]
    hits = []
    with torch.no_grad():
        for case in benchmark_cases(n_scenes, seed=seed):
            scene = case.scene
            enc = processor(text=captions, images=[query_crop(scene, i) for i in range(len(scene.objects))],
                            return_tensors="pt", padding="max_length", max_length=MAX_TEXT_LENGTH, truncation=True)
            logits = model(**enc).logits_per_image.reshape(len(scene.objects), len(COLOURS), len(SHAPES))
            for obj, row in zip(scene.objects, logits):
                hits.append(SHAPES[int(row[list(COLOURS).index(obj.colour)].argmax())] == obj.shape)
    return {"top1_accuracy": float(np.mean(hits)), "objects": len(hits)}


def evaluate_composition_naming(model: Any, processor: Any, n_scenes: int = 60, seed: int = 1) -> dict[str, float]:
    """On held-out composed scenes: share whose best of the six 'a photo <composition>' captions is their class
    (chance 1/6), and share of (scene, attribute) pairs whose 'a photo with <high>' vs '... <low>' choice is the
    labelled one (chance 1/2)."""
    import torch

    from intentcrop.world.composition import (ATTRIBUTE_PHRASES, ATTRIBUTES, COMPOSITION_PHRASES, COMPOSITIONS,
                                              attribute_phrase, compose_scene)

    texts = [f"a photo {COMPOSITION_PHRASES[c]}" for c in COMPOSITIONS]
    texts += [f"a photo with {p}" for a in ATTRIBUTES for p in ATTRIBUTE_PHRASES[a]]
    comp_hits, attr_hits = [], []
    scenes = [compose_scene(HELD_OUT_COMPOSED_OFFSET + seed * 10_000 + i, COMPOSITIONS[i % len(COMPOSITIONS)])
              for i in range(n_scenes)]
    with torch.no_grad():
        for start in range(0, len(scenes), 16):
            batch = scenes[start:start + 16]
            enc = processor(text=texts, images=[s.image for s in batch], return_tensors="pt", padding="max_length",
                            max_length=MAX_TEXT_LENGTH, truncation=True)
            logits = model(**enc).logits_per_image
            for scene, row in zip(batch, logits):
                comp_hits.append(COMPOSITIONS[int(row[:len(COMPOSITIONS)].argmax())] == scene.labels["composition"])
                for k, name in enumerate(ATTRIBUTES):
                    pair = row[len(COMPOSITIONS) + 2 * k: len(COMPOSITIONS) + 2 * k + 2]
                    attr_hits.append(ATTRIBUTE_PHRASES[name][int(pair.argmax())] == attribute_phrase(scene, name))
    return {"composition_top1": float(np.mean(comp_hits)), "attribute_accuracy": float(np.mean(attr_hits)),
            "scenes": len(scenes)}


HELD_OUT_COMPOSED_OFFSET = 1_500_000_000  # held-out composed scenes: apart from the training seeds

__all__ = ["ClipWorldConfig", "build_model", "evaluate_composition_naming", "evaluate_retrieval",
           "evaluate_shape_naming", "make_pairs",
           "soft_clip_loss", "train_clip"]
