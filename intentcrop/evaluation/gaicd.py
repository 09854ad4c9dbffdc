"""Crop-ranking (GAICD-style) evaluation: score each image's annotated candidate crops, compare with MOS."""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from intentcrop.datasets.gaicd import GAICDDataset, GAICDSample
from intentcrop.evaluation.fcdb import EvaluationError, describe_error
from intentcrop.metrics.ranking import GAICD_KS, GAICD_NS, gaicd_metrics

# score_fn(sample) -> (N,) scores for sample.crops_xyxy, higher is better.
CropScoreFn = Callable[[GAICDSample], "np.ndarray"]


def pipeline_scorer(pipeline: str = "default", use_text: bool = False, **overrides: Any) -> CropScoreFn:
    """Scores from a named pipeline's scorers (the weighted total `Pipeline.score` ranks by);
    `overrides` replace top-level config keys as in `create_pipeline` (e.g. scorers=[...]).

    use_text: give the image's description as the intent's text (ClipCrop's text-conditioned protocol);
    off by default, so the crops are judged free-form.
    """
    from intentcrop.core.candidates import Candidates
    from intentcrop.core.intent import Intent
    from intentcrop.pipeline import create_pipeline

    pipe = create_pipeline(pipeline, **overrides)

    def score(sample: GAICDSample) -> np.ndarray:
        intent = Intent(text=sample.text if use_text else None)
        ctx = pipe.preprocess(sample.image_path, intent)
        if (ctx.width, ctx.height) != (sample.width, sample.height):
            raise EvaluationError(
                f"{sample.filename}: image is {ctx.width}x{ctx.height} upright but annotated as "
                f"{sample.width}x{sample.height}"
            )
        ctx.grounding = pipe.ground(ctx)
        candidates = Candidates.from_xyxy(sample.crops_xyxy, source="gaicd")
        return np.asarray(pipe.score(ctx, candidates).scores, dtype=np.float64)

    return score


def evaluate_gaicd(
    score_fn: CropScoreFn, dataset: GAICDDataset, *, method: str = "scorer",
    ks=GAICD_KS, ns=GAICD_NS,
) -> dict[str, Any]:
    """GAICD metrics of `score_fn` over `dataset`: Acc_K/N, wAcc_K/N (and their means over K), SRCC, PCC,
    plus 'method', 'n' and 'seconds_per_image' (scoring time)."""
    if len(dataset) == 0:
        raise EvaluationError("the GAICD dataset has no images")
    pairs, seconds = [], 0.0
    for sample in dataset:
        start = time.perf_counter()
        try:
            scores = np.asarray(score_fn(sample), dtype=np.float64).ravel()
        except Exception as exc:  # noqa: BLE001 - any failure stops the run, naming the method and image
            raise EvaluationError(f"{method} failed on {sample.filename}: {describe_error(exc)}") from exc
        seconds += time.perf_counter() - start
        if scores.shape != sample.mos.shape:
            raise EvaluationError(
                f"{method} on {sample.filename}: {scores.size} scores for {sample.mos.size} crops"
            )
        pairs.append((scores, sample.mos))
    out: dict[str, Any] = {"method": method}
    out.update(gaicd_metrics(pairs, ks, ns))
    out["seconds_per_image"] = seconds / len(pairs)
    return out
