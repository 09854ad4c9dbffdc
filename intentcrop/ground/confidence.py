"""How sure a grounding is that it found what was asked for: `Grounding.confidence`, 0..1, calibrated.

The evidence is the best kept match's probability after CLIP's verification (for a relation or a position, the
best match of its subject, twin or not: the relation picks among things that are there). Raw detector
probabilities are not probabilities of being right (the world OWL-ViT gives a present target 0.3 and an absent
one 0.1; a real model on a photo gives a sofa 0.05 for "the white dog"), so the evidence goes through a Platt map
measured in the world,

    confidence = sigmoid(a * logit(evidence) + b),      (a, b) = GroundingConfig.calibration,

fitted on held-out world cases (seeds 1 and 2, never the benchmark's seed 0): every referring text of the
benchmark's kinds (label: every target lies inside the kept region) and as many texts naming an object the scene
does not hold (label 0). a > 0, so the map is monotone: a higher match score never means less confidence.
`calibration=(1, 0)` is the identity (confidence = the evidence). Measurements: docs/experiments.md.

Below `GroundingConfig.min_confidence` the pipeline returns the free-form crop with a warning
(`intentcrop.pipeline.Pipeline.run`).
"""

from __future__ import annotations

import math
from typing import Sequence

from intentcrop.core.context import Grounding

_EPS = 1e-6


def logit(p: float) -> float:
    p = min(max(float(p), _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def calibrate(evidence: float, calibration: Sequence[float]) -> float:
    """The Platt map sigmoid(a * logit(evidence) + b) of a match probability; 0 for no evidence."""
    if evidence <= 0:
        return 0.0
    a, b = (float(v) for v in calibration)
    z = a * logit(evidence) + b
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


def evidence(grounding: Grounding, kind: str = "plain") -> float:
    """The match probability the confidence is read from: the best kept match's; for a relation or a position
    (kind), the best of its subject's matches, kept or ruled out by the relation (`Grounding.rejected`)."""
    if grounding.region is None:
        return 0.0
    scores = list(grounding.scores)
    if kind in ("relation", "position"):
        scores += list(grounding.rejected_scores)
    return max(scores, default=0.0)


def fit_platt(evidence: Sequence[float], labels: Sequence[int], iterations: int = 100) -> tuple[float, float]:
    """(a, b) of the logistic fit labels ~ sigmoid(a * logit(evidence) + b) (Newton's method on the log-loss):
    how `GroundingConfig.calibration` was measured."""
    import numpy as np

    x = np.array([logit(max(float(e), _EPS)) for e in evidence])
    y = np.asarray(labels, dtype=np.float64)
    ab = np.array([1.0, 0.0])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(ab[0] * x + ab[1], -60, 60)))
        gradient = np.array([np.sum((p - y) * x), np.sum(p - y)])
        w = p * (1 - p) + 1e-9
        hessian = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        ab = ab - step
        if np.abs(step).max() < 1e-10:
            break
    return float(ab[0]), float(ab[1])


def grounding_confidence(grounding: Grounding, calibration: Sequence[float], kind: str = "plain") -> float:
    return calibrate(evidence(grounding, kind), calibration)


__all__ = ["calibrate", "evidence", "fit_platt", "grounding_confidence", "logit"]
