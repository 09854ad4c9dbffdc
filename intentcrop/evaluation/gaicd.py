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


INTENTS = ("none", "text", "image", "subject")


def sample_intent(sample: GAICDSample, intent: str = "none") -> Any:
    """The Intent a sample's row gives: "none" (free-form), "text" (its text), "image" (its "query_image" file) or
    "subject" (its "subject_mask" file, as the world's exports write them). A row without what is asked is
    judged free-form."""
    from PIL import Image

    from intentcrop.core.intent import Intent

    if intent not in INTENTS:
        raise EvaluationError(f"unknown intent {intent!r}; use one of {', '.join(INTENTS)}")
    if intent == "text":
        return Intent(text=sample.text)
    if intent == "image":
        path = sample.extra_path("query_image")
        return Intent(query_image=None if path is None else str(path))
    if intent == "subject":
        path = sample.extra_path("subject_mask")
        if path is None:
            return Intent()
        with Image.open(path) as mask:
            return Intent(subject=np.asarray(mask.convert("L")))
    return Intent()


def pipeline_scorer(pipeline: str = "default", use_text: bool = False, intent: str | None = None,
                    model: Any = None, device: str | None = None, **overrides: Any) -> CropScoreFn:
    """Scores from a named pipeline's scorers (the weighted total `Pipeline.score` ranks by, through
    `Pipeline.score_boxes`); `overrides` replace top-level config keys as in `create_pipeline` (e.g. scorers=[...]).

    use_text: give the image's description as the intent's text (ClipCrop's text-conditioned protocol);
    off by default, so the crops are judged free-form. intent: "none", "text", "image" or "subject"
    (`sample_intent`; overrides use_text). model / device: as `intentcrop.crop`'s (e.g. the world's models).
    """
    from intentcrop.pipeline import PIPELINE_CONFIGS, create_pipeline

    if model is not None or device is not None:
        from intentcrop.models.routing import model_overrides

        if pipeline not in PIPELINE_CONFIGS:
            raise KeyError(f"unknown pipeline {pipeline!r}; known: {', '.join(sorted(PIPELINE_CONFIGS))}")
        base = dict(PIPELINE_CONFIGS[pipeline], **overrides)
        overrides = {**overrides, **model_overrides(base, model, device)}
    pipe = create_pipeline(pipeline, **overrides)
    chosen = intent if intent is not None else ("text" if use_text else "none")
    if chosen not in INTENTS:
        raise EvaluationError(f"unknown intent {chosen!r}; use one of {', '.join(INTENTS)}")

    def score(sample: GAICDSample) -> np.ndarray:
        ctx = pipe.preprocess(sample.image_path, sample_intent(sample, "none"))
        if (ctx.width, ctx.height) != (sample.width, sample.height):
            raise EvaluationError(
                f"{sample.filename}: image is {ctx.width}x{ctx.height} upright but annotated as "
                f"{sample.width}x{sample.height}"
            )
        return pipe.score_boxes(ctx.source, sample.crops_xyxy, sample_intent(sample, chosen))

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
