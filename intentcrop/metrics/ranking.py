"""Crop-ranking metrics of GAICD: how well a scorer's ranking of an image's candidate crops
agrees with the crops' mean opinion scores (MOS).

Source: Zeng, Li, Cao, Zhang, "Grid Anchor based Image Cropping: A New Benchmark and An Efficient
Model", TPAMI 2020 (and CVPR 2019), as computed by the authors' `TestAccuracy.py`
(github.com/HuiZeng/Grid-Anchor-based-Image-Cropping-Pytorch). Per image, with the crops sorted
best-first by the model (o_1, o_2, ...) and by MOS (g_1, g_2, ...), both with ties kept in the
annotation's order (a stable sort):

  Acc_K/N  = (1/K) * sum_{j=1..K} [ MOS(o_j) >= MOS(g_N) ]
             the share of the model's top-K crops that are at least as good as the N-th best crop.
  wAcc_K/N = (1/K) * sum_{j=1..K} [ r_(j) < N ] * exp(-(r_(j) - (j-1)) / N)
             where r_(1) <= ... <= r_(K) are the 0-based MOS ranks of the model's top-K crops,
             sorted; a hit is discounted by how far below its ideal place it sits.
  SRCC, PCC = Spearman's and Pearson's correlation between predicted scores and MOS.

Each is averaged over images; the papers report K = 1..4, N = 5 and 10, and the mean over K
(Acc_N, wAcc_N).
"""

from __future__ import annotations

import warnings
from typing import Iterable, Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr

GAICD_KS = (1, 2, 3, 4)
GAICD_NS = (5, 10)


def _best_first(values: np.ndarray) -> np.ndarray:
    """Indices best (highest) first; ties keep their original order, as Python's sorted(reverse=True)."""
    return np.argsort(-values, kind="stable")


def _check(scores, mos, need: int) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    mos = np.asarray(mos, dtype=np.float64).ravel()
    if scores.shape != mos.shape:
        raise ValueError(f"{scores.size} predicted scores for {mos.size} MOS values")
    if mos.size < need:
        raise ValueError(f"GAICD metrics need at least {need} crops per image (max K and N), got {mos.size}")
    if not (np.all(np.isfinite(scores)) and np.all(np.isfinite(mos))):
        raise ValueError("predicted scores and MOS must be finite")
    return scores, mos


def accuracy_at(scores, mos, ks: Sequence[int] = GAICD_KS, n: int = 5) -> np.ndarray:
    """Acc_K/N of one image for each K in `ks`: share of the top-K predictions with MOS >= the N-th best MOS."""
    ks = np.asarray(ks, dtype=int)
    scores, mos = _check(scores, mos, max(int(ks.max()), n))
    threshold = mos[_best_first(mos)[n - 1]]
    hits = mos[_best_first(scores)[: ks.max()]] >= threshold
    return np.cumsum(hits)[ks - 1] / ks


def weighted_accuracy_at(scores, mos, ks: Sequence[int] = GAICD_KS, n: int = 5) -> np.ndarray:
    """wAcc_K/N of one image for each K in `ks` (GAIC TPAMI): hits weighted by exp(-(rank - ideal rank) / N)."""
    ks = np.asarray(ks, dtype=int)
    scores, mos = _check(scores, mos, max(int(ks.max()), n))
    mos_rank = np.empty(mos.size, dtype=int)
    mos_rank[_best_first(mos)] = np.arange(mos.size)
    top_ranks = mos_rank[_best_first(scores)[: ks.max()]]
    out = np.empty(len(ks))
    for i, k in enumerate(ks):
        ranks = np.sort(top_ranks[:k])  # r_(1) <= ... <= r_(K)
        ideal = np.arange(k)
        weights = np.where(ranks < n, np.exp(-(ranks - ideal) / n), 0.0)
        out[i] = weights.sum() / k
    return out


def correlations(scores, mos) -> tuple[float, float]:
    """(SRCC, PCC) between one image's predicted scores and MOS; NaN when either is constant."""
    scores, mos = _check(scores, mos, 2)
    if np.ptp(scores) == 0 or np.ptp(mos) == 0:
        return float("nan"), float("nan")
    return float(spearmanr(scores, mos)[0]), float(pearsonr(scores, mos)[0])


def gaicd_image_metrics(scores, mos, ks: Sequence[int] = GAICD_KS, ns: Sequence[int] = GAICD_NS) -> dict:
    """All GAICD metrics of one image: {'acc': {N: (len(ks),)}, 'wacc': {N: ...}, 'srcc', 'pcc'}."""
    srcc, pcc = correlations(scores, mos)
    return {
        "acc": {n: accuracy_at(scores, mos, ks, n) for n in ns},
        "wacc": {n: weighted_accuracy_at(scores, mos, ks, n) for n in ns},
        "srcc": srcc,
        "pcc": pcc,
    }


def gaicd_metrics(
    images: Iterable[tuple["Sequence[float] | np.ndarray", "Sequence[float] | np.ndarray"]],
    ks: Sequence[int] = GAICD_KS,
    ns: Sequence[int] = GAICD_NS,
) -> dict[str, float]:
    """GAICD metrics averaged over images, from (predicted scores, MOS) pairs, one pair per image.

    Keys: 'acc{K}/{N}' and 'wacc{K}/{N}' for each K and N, 'acc/{N}' and 'wacc/{N}' (mean over K,
    the papers' Acc_N bar), 'srcc', 'pcc' (per-image correlations averaged over the images where they
    are defined) and 'n' (images). Accuracies are fractions 0..1 (papers print them in percent).
    """
    per_image = [gaicd_image_metrics(s, m, ks, ns) for s, m in images]
    if not per_image:
        raise ValueError("GAICD metrics need at least one image")
    out: dict[str, float] = {}
    for kind in ("acc", "wacc"):
        for n in ns:
            table = np.stack([img[kind][n] for img in per_image])  # (images, len(ks))
            mean_over_images = table.mean(axis=0)
            for k, value in zip(ks, mean_over_images):
                out[f"{kind}{k}/{n}"] = float(value)
            out[f"{kind}/{n}"] = float(mean_over_images.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN correlations (constant scores) -> NaN
        out["srcc"] = float(np.nanmean([img["srcc"] for img in per_image]))
        out["pcc"] = float(np.nanmean([img["pcc"] for img in per_image]))
    out["n"] = len(per_image)
    return out
