from __future__ import annotations

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import pairwise_iou
from intentcrop.core.candidates import Candidates


def select_top_k(candidates: Candidates, k: int, diversity_iou: float | None = None) -> list[int]:
    """Indices of up to k candidates per ratio group, best first, skipping any that overlaps an already
    chosen one of its group by more than `diversity_iou` (so alternatives are real alternatives; None:
    `defaults.DEFAULTS.diversity_iou`). Groups come in the order their ratio first appears; free-form
    candidates form one group."""
    diversity_iou = defaults.DEFAULTS.diversity_iou if diversity_iou is None else diversity_iou
    if candidates.scores is None:
        raise ValueError("select_top_k needs scored candidates")
    keys = np.where(np.isnan(candidates.ratio), -1.0, candidates.ratio)
    _, first = np.unique(keys, return_index=True)
    chosen: list[int] = []
    for key in keys[np.sort(first)]:
        members = np.flatnonzero(keys == key)
        order = members[np.argsort(-candidates.scores[members], kind="stable")]
        picked: list[int] = []
        for idx in order:
            if len(picked) == k:
                break
            if picked and pairwise_iou(candidates.xyxy[idx], candidates.xyxy[picked]).max() > diversity_iou:
                continue
            picked.append(int(idx))
        if len(picked) < k:  # too few distinct ones: fill with the next best rather than return fewer
            rest = [int(i) for i in order if int(i) not in picked]
            picked += rest[: k - len(picked)]
        chosen += picked
    return chosen
