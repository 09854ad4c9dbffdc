"""Learn the crop-quality model (the scorer "quality") from human crops (FCDB train), with no downloaded weights.

Recipe (deterministic given the seed):
1. For every training image, propose candidates as `intentcrop crop` does: the free-form set, and
   the exact-ratio set at the human crop's own aspect ratio (so the model also ranks ratio windows).
   Compute the hand-crafted features of each candidate and its IoU with the human crop. Features
   are cached on disk, keyed by the feature list, proposal defaults and image list.
2. Train a ranker with a listwise loss (ListNet, Cao et al. 2007): within each image the target
   distribution is softmax(IoU / tau), so crops near the human crop rank above crops far from it.
   Parameters are fitted with L-BFGS (scipy) from a seeded initialisation. The scorer's fixed face
   rule (`score.quality.face_rule`) is part of every score during training and evaluation, so the model
   learns what the rule leaves over and CV measures what `intentcrop crop` ships.
3. Choose the model shape and regularisation by k-fold cross-validation on train (top-1 IoU of
   the free-form ranking), printing each fold's validation numbers; refit the chosen one on all
   of train and save it with its metadata (seed, command, CV numbers).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from scipy.optimize import minimize

from intentcrop import defaults
from intentcrop.core.box import pairwise_iou
from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent
from intentcrop.errors import IntentCropError
from intentcrop.io.image import load_image
from intentcrop.propose.proposer import GridProposer
from intentcrop.score.features import FEATURE_NAMES, features_for
from intentcrop.score.quality import CropQualityModel, face_rule, hinge_basis

FEATURE_VERSION = "features-v6"  # bump when features.py or the cached lists change meaning, to invalidate caches


# -- data -------------------------------------------------------------------------------------------


def read_split(data_dir: "str | Path", split: str) -> list[dict[str, Any]]:
    """Rows of FCDB's {split}.jsonl: filename, width, height, crop_xywh."""
    path = Path(data_dir) / f"{split}.jsonl"
    if not path.exists():
        raise IntentCropError(f"{path} does not exist: --data must be an FCDB folder with {split}.jsonl and images/")
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def human_box(row: dict[str, Any]) -> np.ndarray:
    """The human crop as xyxy, clamped to the image (19 FCDB crops overshoot by 1-2 px)."""
    x, y, w, h = (float(v) for v in row["crop_xywh"])
    W, H = float(row["width"]), float(row["height"])
    return np.array([max(0.0, x), max(0.0, y), min(W, x + w), min(H, y + h)])


def displacement(xyxy: np.ndarray, target: np.ndarray, width: float, height: float) -> np.ndarray:
    """FCDB's boundary displacement: mean over the four edges of |edge error| / image side."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    d = np.abs(xyxy - np.asarray(target, dtype=np.float64).reshape(1, 4))
    return ((d[:, 0] + d[:, 2]) / width + (d[:, 1] + d[:, 3]) / height) / 4


@dataclass
class CandidateList:
    """One image's candidates of one kind ('free' or 'ratio') with features and their match to the human crop."""

    image: str
    kind: str
    xyxy: np.ndarray  # (N, 4)
    features: np.ndarray  # (N, F) float32
    iou: np.ndarray  # (N,)
    disp: np.ndarray  # (N,)
    target: np.ndarray  # (4,) the human crop, xyxy
    size: tuple[int, int]  # (width, height) of the image


def image_lists(image_path: "str | Path", row: dict[str, Any], proposer: GridProposer) -> list[CandidateList]:
    """The free-form and human-ratio candidate lists for one image (features share one set of maps)."""
    image = load_image(image_path)
    target = human_box(row)
    # FCDB boxes are in pixels of the stored image; a stray EXIF rotation would break that.
    sx, sy = image.size[0] / float(row["width"]), image.size[1] / float(row["height"])
    if abs(sx - 1) > 0.01 or abs(sy - 1) > 0.01:
        target = target * np.array([sx, sy, sx, sy])
    W, H = image.size
    ctx = CropContext(image=image, intent=Intent())
    out = []
    ratio = (target[2] - target[0]) / max(target[3] - target[1], 1.0)
    for kind, intent in (("free", Intent()), ("ratio", Intent(ratios=[ratio]))):
        ctx.intent = intent
        xyxy = proposer.propose(ctx).xyxy
        out.append(
            CandidateList(
                image=str(row["filename"]), kind=kind, xyxy=xyxy,
                features=features_for(ctx, xyxy).astype(np.float32),
                iou=pairwise_iou(xyxy, target[None])[:, 0], disp=displacement(xyxy, target, W, H),
                target=target, size=(W, H),
            )
        )
    return out


def _cache_key(rows: Sequence[dict[str, Any]]) -> str:
    h = hashlib.sha1()
    h.update(f"{FEATURE_VERSION}/lists-v2".encode())
    h.update(",".join(FEATURE_NAMES).encode())
    for name in ("analysis_side", "grid_bins", "grid_max_offset_bins", "grid_min_area", "grid_max_aspect_change",
                 "ratio_scales", "ratio_positions", "min_scale"):  # upper-case as before: old caches stay valid
        h.update(f"{name.upper()}={getattr(defaults.DEFAULTS, name)}".encode())
    for r in rows:
        h.update(f"{r['filename']}:{r['crop_xywh']}".encode())
    return h.hexdigest()[:16]


def build_lists(
    data_dir: "str | Path",
    split: str = "train",
    limit: int | None = None,
    cache_dir: "str | Path | None" = None,
    progress: bool = True,
) -> list[CandidateList]:
    """Candidate lists for the first `limit` rows of a split, from the cache when it matches."""
    from tqdm import tqdm

    data_dir = Path(data_dir)
    rows = read_split(data_dir, split)[: limit or None]
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"fcdb-{split}-{len(rows)}-{_cache_key(rows)}.npz"
        if cache_file.exists():
            return _load_lists(cache_file)
    proposer = GridProposer()
    lists: list[CandidateList] = []
    for row in tqdm(rows, desc=f"features ({split})", disable=not progress, file=sys.stderr, unit="img"):
        path = data_dir / "images" / row["filename"]
        lists += image_lists(path, row, proposer)
    if cache_file is not None:
        _save_lists(cache_file, lists)
    return lists


def _save_lists(path: Path, lists: list[CandidateList]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(c.iou) for c in lists])
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        np.savez(
            fh,
            image=np.array([c.image for c in lists]), kind=np.array([c.kind for c in lists]), lengths=lengths,
            xyxy=np.concatenate([c.xyxy for c in lists]), features=np.concatenate([c.features for c in lists]),
            iou=np.concatenate([c.iou for c in lists]), disp=np.concatenate([c.disp for c in lists]),
            target=np.stack([c.target for c in lists]), size=np.array([c.size for c in lists]),
        )
    tmp.replace(path)


def _load_lists(path: Path) -> list[CandidateList]:
    with np.load(path, allow_pickle=False) as d:
        bounds = np.concatenate([[0], np.cumsum(d["lengths"])])
        xyxy, feats, iou, disp = d["xyxy"], d["features"], d["iou"], d["disp"]
        return [
            CandidateList(str(im), str(kd), xyxy[a:b], feats[a:b], iou[a:b], disp[a:b], t, (int(s[0]), int(s[1])))
            for im, kd, a, b, t, s in zip(d["image"], d["kind"], bounds[:-1], bounds[1:], d["target"], d["size"])
        ]


# -- the listwise ranker -------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    kind: str = "linear"  # "linear", "additive", "mlp"
    l2: float = 1e-4  # weight decay on all weights
    tau: float = 0.1  # temperature of the IoU target distribution
    knots: int = 5  # additive: hinge knots per feature, at quantiles of the training values
    hidden: int = 16  # mlp: hidden units
    max_per_list: int = 300  # candidates kept per list for training (the best ones always kept)
    iterations: int = 300  # L-BFGS iterations

    def label(self) -> str:
        shape = {"additive": f"additive(knots={self.knots})", "mlp": f"mlp(hidden={self.hidden})"}.get(self.kind, self.kind)
        return f"{shape} l2={self.l2:g} tau={self.tau:g}"


class _Batch:
    """Training lists concatenated, with segment bookkeeping for per-list softmax."""

    def __init__(self, lists: Sequence[CandidateList], cfg: ModelConfig, rng: np.random.Generator) -> None:
        feats, targets, lengths, offsets = [], [], [], []
        for c in lists:
            idx = np.arange(len(c.iou))
            if len(idx) > cfg.max_per_list:
                best = np.argsort(-c.iou, kind="stable")[: cfg.max_per_list // 5]
                rest = rng.choice(np.setdiff1d(idx, best), cfg.max_per_list - len(best), replace=False)
                idx = np.sort(np.concatenate([best, rest]))
            feats.append(c.features[idx].astype(np.float64))
            offsets.append(rule_offset(c.features[idx]))
            t = c.iou[idx] / cfg.tau
            t = np.exp(t - t.max())
            targets.append(t / t.sum())
            lengths.append(len(idx))
        self.features = np.concatenate(feats)
        self.offset = np.concatenate(offsets)  # the fixed face rule, added to every learned score
        self.target = np.concatenate(targets)
        self.lengths = np.array(lengths)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        self.n_lists = len(lists)

    def listnet(self, scores: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean over lists of cross-entropy(target, softmax(scores)) and its gradient w.r.t. scores."""
        scores = scores + self.offset
        seg_max = np.maximum.reduceat(scores, self.starts)
        shifted = scores - np.repeat(seg_max, self.lengths)
        e = np.exp(shifted)
        seg_sum = np.add.reduceat(e, self.starts)
        log_p = shifted - np.repeat(np.log(seg_sum), self.lengths)
        loss = -float((self.target * log_p).sum()) / self.n_lists
        grad = (np.exp(log_p) - self.target) / self.n_lists
        return loss, grad


def rule_offset(features: np.ndarray) -> np.ndarray:
    """The scorer's fixed face rule for rows of all `FEATURE_NAMES` columns (zeros for other column sets)."""
    if features.shape[1] != len(FEATURE_NAMES):
        return np.zeros(len(features))
    return face_rule(features)


def _knots(z: np.ndarray, count: int) -> np.ndarray:
    if count <= 0:
        return np.zeros((z.shape[1], 0))
    qs = np.linspace(0, 100, count + 2)[1:-1]
    return np.percentile(z, qs, axis=0).T  # (F, K)


def fit_model(
    lists: Sequence[CandidateList],
    cfg: ModelConfig,
    seed: int = 0,
    feature_names: Sequence[str] = FEATURE_NAMES,
    log: "list[float] | None" = None,
) -> CropQualityModel:
    """Fit one ranker on `lists`; `log` (if given) receives the training loss at each iteration."""
    rng = np.random.default_rng(seed)
    batch = _Batch(lists, cfg, rng)
    x = batch.features
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-9, std, 1.0)  # a constant feature (e.g. no faces anywhere) gets weight ~0
    z = (x - mean) / std
    F = z.shape[1]

    if cfg.kind in ("linear", "additive"):
        knots = _knots(z, cfg.knots if cfg.kind == "additive" else 0)
        basis = hinge_basis(z, knots).reshape(len(z), -1)
        P = basis.shape[1]

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            loss, g = batch.listnet(basis @ theta)
            return loss + cfg.l2 * float(theta @ theta), basis.T @ g + 2 * cfg.l2 * theta

        theta0 = rng.normal(0, 0.01, P)
        unpack = lambda th: {"knots": knots, "weights": th.reshape(F, -1)}  # noqa: E731
    elif cfg.kind == "mlp":
        H = cfg.hidden
        sizes = [(F, H), (H,), (H,)]

        def split(theta: np.ndarray) -> list[np.ndarray]:
            out, i = [], 0
            for s in sizes:
                n = int(np.prod(s))
                out.append(theta[i:i + n].reshape(s))
                i += n
            return out

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w1, b1, w2 = split(theta)
            hidden = np.tanh(z @ w1 + b1)
            loss, g = batch.listnet(hidden @ w2)
            dh = np.outer(g, w2) * (1 - hidden**2)
            grad = np.concatenate([(z.T @ dh).ravel(), dh.sum(axis=0), hidden.T @ g])
            reg = np.concatenate([split(theta)[0].ravel(), np.zeros(H), split(theta)[2]])
            return loss + cfg.l2 * float(reg @ reg), grad + 2 * cfg.l2 * reg

        theta0 = np.concatenate([rng.normal(0, 1 / math.sqrt(F), F * H), np.zeros(H), rng.normal(0, 1 / math.sqrt(H), H)])
        unpack = lambda th: dict(zip(("w1", "b1", "w2"), split(th)))  # noqa: E731
    else:
        raise IntentCropError(f"unknown model kind {cfg.kind!r}; use linear, additive or mlp")

    if log is not None:
        log.append(objective(theta0)[0])

    def callback(intermediate_result) -> None:  # scipy passes an OptimizeResult with the accepted point's loss
        if log is not None:
            log.append(float(intermediate_result.fun))

    result = minimize(objective, theta0, jac=True, method="L-BFGS-B", callback=callback,
                      options={"maxiter": cfg.iterations})
    return CropQualityModel(
        kind=cfg.kind, feature_names=tuple(feature_names), mean=mean, std=std, params=unpack(result.x),
        meta={"config": cfg.__dict__ | {"label": cfg.label()}, "train_loss": float(result.fun)},
    )


def evaluate_lists(model: CropQualityModel, lists: Iterable[CandidateList]) -> dict[str, dict[str, float]]:
    """Quality of the model's pick, per list kind: IoU, Disp, alpha-recall (IoU >= 0.75) of the consensus crop
    that the default pipeline returns (`search.consensus`), the same for the top-1 candidate alone, and the
    best candidate's IoU (the proposal set's upper bound)."""
    from intentcrop.search.consensus import snap_free, snap_ratio, weighted_box

    cols = model.feature_index()
    per: dict[str, list[tuple[float, ...]]] = {}
    for c in lists:
        scores = model.score(c.features[:, cols]) + rule_offset(c.features)
        best = int(np.argmax(scores))
        W, H = c.size
        box = weighted_box(c.xyxy, scores, defaults.DEFAULTS.consensus_top,
                           defaults.DEFAULTS.consensus_temperature)
        if c.kind == "ratio":
            ratio = (c.target[2] - c.target[0]) / max(c.target[3] - c.target[1], 1.0)  # the asked ratio
            snapped = snap_ratio(box, ratio, W, H)
            box = c.xyxy[best] if snapped is None else snapped
        else:
            box = snap_free(box, W, H)
        iou = float(pairwise_iou(box[None], c.target[None])[0, 0])
        disp = float(displacement(box, c.target, W, H)[0])
        per.setdefault(c.kind, []).append((iou, disp, float(c.iou[best]), float(c.disp[best]), float(c.iou.max())))
    out = {}
    for kind, vals in per.items():
        arr = np.array(vals)
        out[kind] = {"iou": float(arr[:, 0].mean()), "disp": float(arr[:, 1].mean()),
                     "alpha_recall": float((arr[:, 0] >= 0.75).mean()),
                     "top1_iou": float(arr[:, 2].mean()), "top1_disp": float(arr[:, 3].mean()),
                     "upper_bound_iou": float(arr[:, 4].mean()), "images": len(arr)}
    return out


def cross_validate(
    lists: Sequence[CandidateList], cfg: ModelConfig, folds: int, seed: int, progress: bool = True
) -> dict[str, Any]:
    """k-fold CV by image: returns mean validation numbers per list kind and the per-fold numbers."""
    from tqdm import tqdm

    images = sorted({c.image for c in lists})
    order = np.random.default_rng(seed).permutation(len(images))
    fold_of = {images[i]: k % folds for k, i in enumerate(order)}
    per_fold = []
    bar = tqdm(range(folds), desc=f"cv {cfg.label()}", disable=not progress, file=sys.stderr, leave=False)
    for k in bar:
        train = [c for c in lists if fold_of[c.image] != k]
        valid = [c for c in lists if fold_of[c.image] == k]
        model = fit_model(train, cfg, seed=seed + k)
        numbers = evaluate_lists(model, valid)
        per_fold.append(numbers)
        bar.set_postfix_str(f"fold {k}: IoU {numbers['free']['iou']:.3f} Disp {numbers['free']['disp']:.4f}")
    mean = {
        kind: {m: float(np.mean([f[kind][m] for f in per_fold])) for m in per_fold[0][kind]}
        for kind in per_fold[0]
    }
    return {"mean": mean, "folds": per_fold}


# Model shapes and regularisation compared by cross-validation (small on purpose: 2-core budget).
DEFAULT_GRID: tuple[ModelConfig, ...] = (
    ModelConfig(kind="linear", l2=1e-4, tau=0.1),
    ModelConfig(kind="linear", l2=1e-3, tau=0.1),
    ModelConfig(kind="linear", l2=1e-4, tau=0.05),
    ModelConfig(kind="additive", l2=1e-4, tau=0.1, knots=3, iterations=600),
)

def train_quality(
    data_dir: "str | Path",
    out: "str | Path",
    seed: int = 0,
    folds: int = 5,
    limit: int | None = None,
    cache_dir: "str | Path | None" = None,
    grid: Sequence[ModelConfig] = DEFAULT_GRID,
    command: str = "",
    progress: bool = True,
    echo=print,
) -> tuple[CropQualityModel, dict[str, Any]]:
    """The whole recipe: features, CV model selection on train, refit on all of train, save to `out`."""
    started = time.perf_counter()
    lists = build_lists(data_dir, "train", limit=limit, cache_dir=cache_dir, progress=progress)
    n_images = len({c.image for c in lists})
    echo(f"{n_images} training images, {sum(len(c.iou) for c in lists)} candidates "
         f"({len(FEATURE_NAMES)} features each)")
    cv_results = []
    for cfg in grid:
        res = cross_validate(lists, cfg, folds, seed, progress=progress) if folds >= 2 else None
        cv_results.append((cfg, res))
        if res is not None:
            f, r = res["mean"]["free"], res["mean"].get("ratio", {})
            echo(f"  cv {cfg.label():38s} free IoU {f['iou']:.4f} Disp {f['disp']:.4f} "
                 f"alpha {f['alpha_recall']:.3f} (top-1 alone {f['top1_iou']:.4f}) | ratio IoU {r.get('iou', float('nan')):.4f} "
                 f"Disp {r.get('disp', float('nan')):.4f}")
    if folds >= 2:
        best_cfg, best_res = max(cv_results, key=lambda cr: cr[1]["mean"]["free"]["iou"])
    else:
        best_cfg, best_res = grid[0], None
    echo(f"chosen: {best_cfg.label()}; refitting on all {n_images} training images")
    losses: list[float] = []
    model = fit_model(lists, best_cfg, seed=seed, log=losses)
    train_numbers = evaluate_lists(model, lists)
    model.meta.update(
        {
            "trained_on": f"FCDB train ({n_images} images)",
            "seed": seed,
            "folds": folds,
            "command": command,
            "feature_version": FEATURE_VERSION,
            "cv": None if best_res is None else best_res["mean"],
            "cv_grid": [{"config": c.label(), "cv": None if r is None else r["mean"]} for c, r in cv_results],
            "train_fit": train_numbers,
            "loss_first_last": [losses[0], losses[-1]] if losses else None,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    model.save(out)
    echo(f"train fit: free IoU {train_numbers['free']['iou']:.4f} Disp {train_numbers['free']['disp']:.4f}; "
         f"saved {out} ({time.perf_counter() - started:.0f} s)")
    return model, model.meta
