"""`intentcrop train clipcropping`: CLIPCropping's knowledge embeddings and cropping head, as the paper trains them.

Stage 1, knowledge: the two prompt learners on a frozen CLIP. CKE: cross-entropy over the five composition class
prompts at the CLIP's logit scale, against each image's class (CADB-like labels); AKE: per aesthetic element a
two-way cross-entropy of its good and bad prompts against the element's score in 0..1 as a soft target (AADB-like
scores, [-1, 1] mapped to 0..1). Image features: the CLIP's pooled embedding of the whole image.
Stage 2, the head, the prompt learners frozen: on scored candidate crops (GAICD-like MOS 1..5), Huber loss on the
MOS plus GAIC's pairwise ranking loss (for each pair, relu(|m_i - m_j| - sign(m_i - m_j)(p_i - p_j)), averaged).
The head kept is the one of the best validation SRCC.

Data (`--composition/--aesthetics/--crops`): a folder in the cadb / aadb / gaicd format (intentcrop.datasets), or
"world": composed scenes (intentcrop.world.composition; free-form world annotations for the crops, of composed and
of ordinary scenes), from seeds apart from every other world use (`intentcrop.train.clipcropping_world`).
Everything is deterministic given the seed (torch and numpy seeded, one thread is enough).
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from intentcrop.models.loading import _require_torch

HUBER_DELTA = 1.0  # MOS units
RANK_WEIGHT = 1.0


@dataclass
class LabelSample:
    image: Any  # PIL image
    composition: int | None = None  # index into COMPOSITION_ELEMENTS
    aesthetics: np.ndarray | None = None  # (5,) targets in 0..1, NaN where unknown


@dataclass
class CropCase:
    image: Any
    crops: np.ndarray  # (N, 4) pixels
    mos: np.ndarray  # (N,)
    annotators: np.ndarray | None = None  # (A, 4)


# -- losses ------------------------------------------------------------------------------------------------


def ranking_loss(pred: Any, mos: Any) -> Any:
    """GAIC's pairwise ranking loss over one image's candidates: mean over ordered pairs of
    relu(|m_i - m_j| - sign(m_i - m_j) * (p_i - p_j))."""
    torch = _require_torch()
    dm = mos[:, None] - mos[None, :]
    dp = pred[:, None] - pred[None, :]
    pairs = dm != 0
    if not bool(pairs.any()):
        return pred.sum() * 0
    return torch.relu(dm.abs() - torch.sign(dm) * dp)[pairs].mean()


def head_loss(pred: Any, mos: Any) -> Any:
    torch = _require_torch()
    return torch.nn.functional.huber_loss(pred, mos, delta=HUBER_DELTA) + RANK_WEIGHT * ranking_loss(pred, mos)


def knowledge_loss(model: Any, embeds: Any, composition: Any, aesthetics: Any) -> dict[str, Any]:
    """CKE cross-entropy over the class prompts (rows with a class, composition >= 0) and AKE soft two-way
    cross-entropy per element (entries not NaN)."""
    torch = _require_torch()
    f = torch.nn.functional
    comp_logits, aest_logits = model.knowledge_logits(embeds)
    zero = embeds.sum() * 0
    has = composition >= 0
    comp = f.cross_entropy(comp_logits[has], composition[has]) if bool(has.any()) else zero
    known = ~torch.isnan(aesthetics)
    if bool(known.any()):
        logp = aest_logits.log_softmax(-1)  # (B, 5, 2): good, bad
        target = torch.nan_to_num(aesthetics)
        nll = -(target * logp[..., 0] + (1 - target) * logp[..., 1])
        aest = nll[known].mean()
    else:
        aest = zero
    return {"loss": comp + aest, "cke": comp.detach(), "ake": aest.detach()}


# -- features ----------------------------------------------------------------------------------------------


def image_embeddings(model: Any, images: list[Any]) -> Any:
    """(B, D) pooled CLIP embeddings of whole images (the path crops are embedded by, at their full box)."""
    torch = _require_torch()
    enc = model.encoder
    rows = []
    for image in images:
        state = enc.image_state(image)
        rows.append(enc.pool_crops(state, np.array([[0, 0, image.width, image.height]], float), *image.size)[0])
    return torch.as_tensor(np.stack(rows))


def label_tensors(model: Any, samples: list[LabelSample]) -> tuple[Any, Any, Any]:
    torch = _require_torch()
    embeds = image_embeddings(model, [s.image for s in samples])
    comp = torch.tensor([-1 if s.composition is None else s.composition for s in samples], dtype=torch.long)
    aest = torch.tensor(np.stack([np.full(5, np.nan) if s.aesthetics is None else s.aesthetics for s in samples]),
                        dtype=torch.float32)
    return embeds, comp, aest


def knowledge_metrics(model: Any, embeds: Any, comp: Any, aest: Any) -> dict[str, float]:
    """Composition accuracy (argmax class) and aesthetic side accuracy (good prob > 0.5 vs target > 0.5)."""
    torch = _require_torch()
    with torch.no_grad():
        probs, good = model.knowledge(embeds)
    has = comp >= 0
    out = {"composition_acc": float((probs.argmax(1)[has] == comp[has]).float().mean()) if bool(has.any())
           else float("nan")}
    known = ~torch.isnan(aest) & ((aest - 0.5).abs() > 1e-6)
    out["aesthetics_acc"] = float(((good > 0.5) == (aest > 0.5))[known].float().mean()) if bool(known.any()) \
        else float("nan")
    return out


def case_features(model: Any, case: CropCase) -> dict[str, Any]:
    """The head's inputs of a case's candidates, with the frozen knowledge (composition, good) computed once."""
    torch = _require_torch()
    feats = model.crop_features(case.image, case.crops)
    with torch.no_grad():
        comp, good = model.knowledge(feats["embeds"])
    feats.update(comp=comp, good=good, mos=torch.as_tensor(case.mos, dtype=torch.float32))
    return feats


def head_metrics(model: Any, features: list[dict[str, Any]]) -> dict[str, float]:
    """Acc_1/5, Acc_1/10 (GAICD), mean SRCC and PCC of the head's scores over cases."""
    torch = _require_torch()
    from intentcrop.metrics.ranking import accuracy_at, correlations

    rows = []
    with torch.no_grad():
        for f in features:
            pred = model.score_features(f, model.knowledge_features(f["comp"], f["good"])).numpy()
            mos = f["mos"].numpy()
            srcc, pcc = correlations(pred, mos)
            rows.append((float(accuracy_at(pred, mos, (1,), 5)[0]), float(accuracy_at(pred, mos, (1,), 10)[0]),
                         srcc, pcc))
    a = np.nanmean(np.array(rows, dtype=np.float64), axis=0)
    return {"acc1/5": float(a[0]), "acc1/10": float(a[1]), "srcc": float(a[2]), "pcc": float(a[3])}


# -- the two stages ----------------------------------------------------------------------------------------


def train_knowledge(model: Any, train: tuple[Any, Any, Any], val: tuple[Any, Any, Any], steps: int, batch: int = 64,
                    lr: float = 2e-3, seed: int = 0, log: Callable[[str], None] = print, log_every: int = 100
                    ) -> list[float]:
    """Stage 1 (module docstring): AdamW on the two prompt learners only, cosine decay. Returns the losses."""
    torch = _require_torch()
    gen = torch.Generator().manual_seed(seed)
    params = list(model.module.cke.parameters()) + list(model.module.ake.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    embeds, comp, aest = train
    losses = []
    model.module.train()
    for step in range(steps):
        idx = torch.randint(len(embeds), (min(batch, len(embeds)),), generator=gen)
        out = knowledge_loss(model, embeds[idx], comp[idx], aest[idx])
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        sched.step()
        losses.append(float(out["loss"].detach()))
        if (step + 1) % log_every == 0 or step + 1 == steps:
            m = knowledge_metrics(model, *val)
            log(f"clipcropping knowledge: step {step + 1}/{steps} loss {np.mean(losses[-log_every:]):.3f} "
                f"(cke {float(out['cke']):.3f}, ake {float(out['ake']):.3f}) val composition acc "
                f"{m['composition_acc']:.3f} aesthetics acc {m['aesthetics_acc']:.3f}")
    model.module.eval()
    return losses


def train_head(model: Any, train: list[dict[str, Any]], val: list[dict[str, Any]], steps: int, batch: int = 8,
               lr: float = 1e-3, seed: int = 0, val_every: int = 100, log: Callable[[str], None] = print
               ) -> dict[str, Any]:
    """Stage 2 (module docstring): AdamW on the head only, cosine decay; the best-validation-SRCC head is kept
    (loaded back into `model`). Returns {'losses', 'history', 'best'}."""
    torch = _require_torch()
    gen = torch.Generator().manual_seed(seed + 1)
    module = model.module
    params = [p for name, p in module.named_parameters() if not name.startswith(("cke.", "ake."))]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
    knowledge = [model.knowledge_features(f["comp"], f["good"]) for f in train]
    best = {"step": 0, **head_metrics(model, val)}
    best_state = copy.deepcopy(module.state_dict())
    history = [dict(best)]
    log(f"clipcropping head: step 0 val SRCC {best['srcc']:.3f} Acc1/5 {best['acc1/5']:.3f}")
    losses: list[float] = []
    for step in range(steps):
        module.train()
        idx = torch.randint(len(train), (min(batch, len(train)),), generator=gen).tolist()
        loss = sum(head_loss(model.score_features(train[i], knowledge[i]), train[i]["mos"]) for i in idx) / len(idx)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if (step + 1) % val_every == 0 or step + 1 == steps:
            module.eval()
            m = head_metrics(model, val)
            history.append({"step": step + 1, "loss": float(np.mean(losses[-val_every:])), **m})
            log(f"clipcropping head: step {step + 1}/{steps} loss {history[-1]['loss']:.3f} val SRCC {m['srcc']:.3f} "
                f"PCC {m['pcc']:.3f} Acc1/5 {m['acc1/5']:.3f} Acc1/10 {m['acc1/10']:.3f}")
            if m["srcc"] > best["srcc"]:
                best = {"step": step + 1, **m}
                best_state = copy.deepcopy(module.state_dict())
    module.load_state_dict(best_state)
    module.eval()
    return {"losses": losses, "history": history, "best": best}


# -- the command -------------------------------------------------------------------------------------------


def train_clipcropping(clip: str | Path, out: str | Path, composition: str = "world", aesthetics: str = "world",
                       crops: str = "world", seed: int = 0, knowledge_steps: int = 1200, head_steps: int = 1000,
                       label_scenes: int = 2000, crop_scenes: int = 300, use_cke: bool = True, use_ake: bool = True,
                       lr: float = 5e-3, head_lr: float = 1e-3, val_every: int = 100,
                       knowledge_from: str | Path | None = None,
                       log: Callable[[str], None] = print) -> dict[str, Any]:
    """Both stages (module docstring); saves the model to `out` with training.json, returns the record.
    knowledge_from: a saved model whose prompt learners are taken as they are (stage 1 skipped: the ablations
    train only a head over the same knowledge)."""
    torch = _require_torch()
    from intentcrop.models.clip import ClipEncoder
    from intentcrop.models.clipcropping import ClipCropping, config_for
    from intentcrop.train import clipcropping_world as data

    start = time.time()
    torch.manual_seed(seed)
    np.random.seed(seed)
    encoder = ClipEncoder(str(clip), device="cpu")
    model = ClipCropping(config_for(encoder, use_cke=use_cke, use_ake=use_ake, clip=str(clip)), seed=seed)
    model.attach(encoder)

    labels_train, labels_val = data.label_samples(composition, aesthetics, label_scenes, seed)
    log(f"clipcropping: {len(labels_train)} labelled training images, {len(labels_val)} validation "
        f"(composition {composition}, aesthetics {aesthetics})")
    val_t = label_tensors(model, labels_val)
    before = knowledge_metrics(model, *val_t)
    if knowledge_from is not None:
        source = ClipCropping.from_pretrained(knowledge_from)
        model.module.cke.load_state_dict(source.module.cke.state_dict())
        model.module.ake.load_state_dict(source.module.ake.state_dict())
        knowledge_losses = [float("nan")]
        log(f"clipcropping: prompt learners taken from {knowledge_from}")
    else:
        train_t = label_tensors(model, labels_train)
        knowledge_losses = train_knowledge(model, train_t, val_t, knowledge_steps, lr=lr, seed=seed, log=log)
    after = knowledge_metrics(model, *val_t)
    log(f"clipcropping: knowledge val composition acc {before['composition_acc']:.3f} -> "
        f"{after['composition_acc']:.3f}, aesthetics acc {before['aesthetics_acc']:.3f} -> {after['aesthetics_acc']:.3f}")

    cases_train, cases_val = data.crop_cases(crops, crop_scenes, seed)
    log(f"clipcropping: {len(cases_train)} scored training images, {len(cases_val)} validation ({crops}); "
        f"{time.time() - start:.0f} s")
    feats_train = [case_features(model, c) for c in cases_train]
    feats_val = [case_features(model, c) for c in cases_val]
    head = train_head(model, feats_train, feats_val, head_steps, lr=head_lr, seed=seed, val_every=val_every, log=log)
    model.save_pretrained(out)
    record = {"seed": seed, "clip": str(clip), "composition": composition, "aesthetics": aesthetics, "crops": crops,
              "knowledge_steps": knowledge_steps, "head_steps": head_steps, "label_scenes": label_scenes,
              "crop_scenes": crop_scenes, "use_cke": use_cke, "use_ake": use_ake,
              "knowledge_from": None if knowledge_from is None else str(knowledge_from),
              "knowledge_val_before": before, "knowledge_val": after,
              "knowledge_loss": [round(knowledge_losses[0], 4), round(knowledge_losses[-1], 4)],
              "head_best": head["best"], "head_history": head["history"],
              "head_loss": [round(head["losses"][0], 4), round(head["losses"][-1], 4)] if head["losses"] else [],
              "seconds": round(time.time() - start, 1)}
    (Path(out) / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    log(f"clipcropping: kept head step {head['best']['step']} (val SRCC {head['best']['srcc']:.3f}); "
        f"{record['seconds']} s -> {out}")
    return record


__all__ = ["CropCase", "LabelSample", "case_features", "head_loss", "head_metrics", "knowledge_loss",
           "knowledge_metrics", "label_tensors", "ranking_loss", "train_clipcropping", "train_head", "train_knowledge"]
