"""`intentcrop train clipcrop`: the crop decoder trained on world cases (scored crops) over the world OWL-ViT.

Each training sample: a world case (scene seed >= TRAIN_FIRST_SEED, apart from the benchmark's scenes), or a
mosaic of several (text and ground truth from one tile), grounded by the grounder on its text; the grounder's
image tokens (class embeddings) are the decoder's keys/values, the tokens whose match probability is at least
MATCH_THRESHOLD (at least the best one) are the matched tokens, and the union of their boxes is b_u.
Grounding is the costly part (about 0.5 s a sample on 2 cores), so a pool of `pool` samples (each case once, then
mosaics and flips drawn from the training cases) is grounded once up front and the steps draw their batches
from it: thousands of cheap steps instead of a few dozen that each ground anew.
Validation: mean IoU of the best-scored prediction to the best annotated crop on held-out cases, every
`val_every` steps; the decoder saved is the one of the best validation step.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from intentcrop.models.loading import _require_torch
from intentcrop.train.clipcrop import Tile, hflip, mosaic, train_steps

MATCH_THRESHOLD = 0.1  # a token counts as matched by the text at this match probability
TRAIN_FIRST_SEED = 900000  # training scenes: far from the benchmark's (seed*100000 + i, i < a few hundred)
VAL_FIRST_SEED = 950000


def matching_queries(text: str, matched_by: str = "text") -> list[str]:
    """The grounder's queries whose matches make the decoder's matched tokens: the full text, its keywords (noun
    phrases, `ground.phrases.grounding_queries`; the text itself when it has none), or both."""
    from intentcrop.ground.phrases import grounding_queries

    queries = grounding_queries(text) if text else [text]
    if matched_by == "text":
        return queries[:1]
    if matched_by == "keywords":
        return queries[1:] or queries[:1]
    return queries


def grounder_inputs(owl: Any, image: Any, text: str, matches: Any = None,
                    matched_by: str = "text") -> dict[str, Any]:
    """The decoder's inputs from one grounding pass: tokens (N, D), positions (N, 2), matched (N,), union (4,)
    cx/cy/w/h, all in 0..1 of the image; plus the matched boxes (K, 4) x0/y0/x1/y1 in 0..1. matched_by: which
    queries pick the matched tokens (`matching_queries`). `matches`: a pass the grounder already ran on this
    image with those queries among its own (its image tokens do not depend on the queries), else the grounder
    is run on them."""
    queries = matching_queries(text, matched_by)
    if matches is None or any(q not in matches.queries for q in queries) or matches.token_features is None:
        matches = owl.detect_text(image, queries)
    width, height = image.size
    grid = int(round(np.sqrt(len(matches))))
    c = (np.arange(grid) + 0.5) / grid
    yy, xx = np.meshgrid(c, c, indexing="ij")
    positions = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
    prob = matches.scores[:, [list(matches.queries).index(q) for q in queries]].max(1)
    matched = (prob >= MATCH_THRESHOLD) | (prob == prob.max())
    boxes = (matches.xyxy[matched] / [width, height, width, height]).clip(0, 1)
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
    union = np.array([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dtype=np.float32)
    return {"tokens": np.asarray(matches.token_features, dtype=np.float32), "positions": positions,
            "matched": matched.astype(np.float32), "union": union, "boxes": boxes.astype(np.float32)}


def _case_tile(case: Any) -> Tile:
    from intentcrop.world.annotate import annotate_case

    ann = annotate_case(case)
    scale = np.array([ann.width, ann.height, ann.width, ann.height], dtype=np.float32)
    box = case.target_box
    target = (np.array([box.x1, box.y1, box.x2, box.y2], dtype=np.float32) / scale).reshape(1, 4)
    return Tile(np.asarray(case.scene.image.convert("RGB")), (ann.crops_xyxy / scale).astype(np.float32),
                ann.mos.astype(np.float32), target, case.referral.text)


def world_tiles(n_scenes: int, first_seed: int) -> list[Tile]:
    from intentcrop.world.referring import benchmark_cases

    # benchmark_cases numbers its scenes seed*100000 + i; a shifted seed keeps training apart from the benchmark
    cases = benchmark_cases(n_scenes, seed=first_seed // 100000)
    return [_case_tile(c) for c in cases]


def _sample(tile: Tile, owl: Any, matched_by: str = "text") -> dict[str, Any]:
    from PIL import Image

    inputs = grounder_inputs(owl, Image.fromarray(tile.image), tile.text, matched_by=matched_by)
    inputs["crops"], inputs["mos"] = tile.crops, tile.mos
    return inputs


def _stack(samples: list[dict[str, Any]]) -> tuple[Any, ...]:
    torch = _require_torch()
    t = lambda key: torch.as_tensor(np.stack([s[key] for s in samples]))  # noqa: E731
    return (t("tokens"), t("positions"), t("matched"), t("union"),
            [torch.as_tensor(s["crops"]) for s in samples], [torch.as_tensor(s["mos"]) for s in samples])


def validate(decoder: Any, samples: list[dict[str, Any]]) -> float:
    """Mean IoU of the best-scored prediction to the best-MOS crop."""
    from intentcrop.train.clipcrop import box_iou_giou

    torch = _require_torch()
    tokens, positions, matched, union, crops, mos = _stack(samples)
    was_training = decoder.module.training
    decoder.module.eval()
    boxes, quality = decoder.predict(tokens, positions, matched, union)
    decoder.module.train(was_training)
    ious = []
    for i in range(len(samples)):
        best = boxes[i, int(quality[i].argmax())].unsqueeze(0)
        truth = crops[i][int(mos[i].argmax())].unsqueeze(0)
        ious.append(float(box_iou_giou(best, truth)[0][0, 0]))
    return float(np.mean(ious))


def train_clipcrop_world(grounder: str | Path, out: str | Path, seed: int = 0, n_scenes: int = 120,
                         steps: int = 1500, batch: int = 16, lr: float = 1e-3, use_mosaic: bool = True,
                         pool: int = 360, val_every: int = 100, config: Any = None,
                         matched_by: str | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Ground a pool of samples once, train, validate every `val_every` steps, save the best-validation decoder
    to `out` and return the training record."""
    import copy
    import dataclasses
    import json

    torch = _require_torch()
    from intentcrop.models.clipcrop import ClipCropConfig, ClipCropDecoder
    from intentcrop.models.owlvit import OwlVit

    start = time.time()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    owl = OwlVit(str(grounder), device="cpu")
    tiles = world_tiles(n_scenes, TRAIN_FIRST_SEED)
    # the samples are grounded as the saved config says they were: one matched_by for both
    if config is not None and matched_by is not None:
        config = dataclasses.replace(config, matched_by=matched_by)
    matched_by = config.matched_by if config is not None else (matched_by or ClipCropConfig.matched_by)
    ClipCropConfig(matched_by=matched_by)  # an unknown choice fails here, before the grounding pass
    val = [_sample(t, owl, matched_by) for t in world_tiles(max(n_scenes // 4, 8), VAL_FIRST_SEED)]
    # every case once as itself, the rest of the pool mosaics (or plain cases for the no-mosaic ablation),
    # half of everything flipped
    drawn = list(tiles)[:pool] + [mosaic(tiles, rng) if use_mosaic else tiles[rng.randrange(len(tiles))]
                                  for _ in range(max(pool - len(tiles), 0))]
    samples = [_sample(hflip(t) if rng.random() < 0.5 else t, owl, matched_by) for t in drawn]
    log(f"clipcrop: grounded {len(samples)} training samples and {len(val)} validation in "
        f"{time.time() - start:.0f} s")
    # the decoder's width is the grounder's class-embedding width (the tokens it reads), as the paper decodes
    # at OWL-ViT's width
    dim = val[0]["tokens"].shape[1]
    config = config or ClipCropConfig(token_dim=dim, width=dim, ffn=2 * dim, matched_by=matched_by)
    decoder = ClipCropDecoder(config, seed=seed)
    log(f"clipcrop: {len(tiles)} training cases, {len(val)} validation; decoder {config}")
    best = {"step": 0, "val_iou": validate(decoder, val)}
    best_state = copy.deepcopy(decoder.module.state_dict())
    log(f"clipcrop: step 0 val IoU {best['val_iou']:.3f}")
    history: list[dict[str, float]] = [{"step": 0, "loss": float("nan"), "val_iou": best["val_iou"]}]

    def batches(step: int) -> tuple[Any, ...]:
        return _stack([samples[rng.randrange(len(samples))] for _ in range(batch)])

    recent: list[float] = []

    def progress(step: int, loss: float) -> bool:
        recent.append(loss)
        if (step + 1) % val_every == 0 or step + 1 == steps:
            iou = validate(decoder, val)
            mean = float(np.mean(recent))
            recent.clear()
            history.append({"step": step + 1, "loss": mean, "val_iou": iou})
            log(f"clipcrop: step {step + 1}/{steps} loss {mean:.3f} val IoU {iou:.3f} "
                f"({time.time() - start:.0f} s)")
            if iou > best["val_iou"]:
                best.update(step=step + 1, val_iou=iou)
                best_state.clear()
                best_state.update(copy.deepcopy(decoder.module.state_dict()))
        return False

    losses = train_steps(decoder, batches, steps, lr=lr, seed=seed, progress=progress)
    decoder.module.load_state_dict(best_state)
    decoder.save_pretrained(out)
    record = {"seed": seed, "steps": steps, "batch": batch, "mosaic": use_mosaic, "matched_by": matched_by,
              "n_scenes": n_scenes,
              "pool": len(samples), "lr": lr, "best_step": best["step"], "best_val_iou": best["val_iou"],
              "seconds": round(time.time() - start, 1), "final_loss": losses[-1], "history": history}
    (Path(out) / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    log(f"clipcrop: kept step {best['step']} (val IoU {best['val_iou']:.3f})")
    return record


__all__ = ["grounder_inputs", "train_clipcrop_world", "validate", "world_tiles"]
