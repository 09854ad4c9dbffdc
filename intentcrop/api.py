"""The one-call API: `intentcrop.crop(image, ...)`."""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

from intentcrop.core.intent import Intent, _show
from intentcrop.core.result import CropResult
from intentcrop.defaults import Defaults
from intentcrop.errors import CropWarning, InvalidIntentError
from intentcrop.pipeline import PIPELINE_CONFIGS, CropOutput, create_pipeline


def make_intent(
    text: str | None = None,
    query_image: Any = None,
    subject: Any = None,
    ratio: "str | float | Sequence | None" = None,
    size: "str | tuple[int, int] | None" = None,
    k: int | None = None,
    min_scale: float | None = None,
    max_scale: float = 1.0,
    padding: float | None = None,
) -> Intent:
    if ratio is None:
        ratios = None
    elif not isinstance(ratio, (str, int, float, tuple, list)) or isinstance(ratio, bool):
        raise InvalidIntentError(f"ratio must be a ratio ('16:9', 1.5, (16, 9)) or a list of them, got "
                                 f"{type(ratio).__name__} {_show(ratio):.80}")
    elif isinstance(ratio, (str, int, float)) or (isinstance(ratio, tuple) and len(ratio) == 2
                                                  and all(isinstance(v, (int, float)) for v in ratio)):
        ratios = [ratio]
    else:
        ratios = list(ratio)
    return Intent(text=text, query_image=query_image, subject=subject, ratios=ratios, size=size, k=k,
                  min_scale=min_scale, max_scale=max_scale, padding=padding)


def choose_method(intent: Intent) -> str:
    """The method `crop()` uses when none is given: "vlm" for a text or query image, "subject" for a subject
    alone, else "default"."""
    if intent.text is not None or intent.query_image is not None:
        return "vlm"
    return "subject" if intent.subject is not None else "default"


def crop(
    image: Any,
    text: str | None = None,
    *,
    query_image: Any = None,
    subject: Any = None,
    ratio: "str | float | Sequence | None" = None,
    size: "str | tuple[int, int] | None" = None,
    k: int | None = None,
    min_scale: float | None = None,
    max_scale: float = 1.0,
    padding: float | None = None,
    method: str | None = None,
    options: "Mapping[str, Any] | None" = None,
    model: "str | Sequence[str] | None" = None,
    device: str | None = None,
    return_output: bool = False,
    pipeline: str | None = None,
    **pipeline_overrides: Any,
) -> "list[CropResult] | CropOutput":
    """Crop `image` (path, bytes, PIL image or array) the way the intent asks.

    ratio: '16:9', 1.5, 'original', or a list of them (k crops are returned for each).
    size:  exact output size, '1080x1350' or (1080, 1350); the crop has its ratio and
           `result.crop(image)` is resized to it.
    k:     crops per ratio (None: the options' k, 3 by default).
    method: a name in PIPELINE_CONFIGS ("default", "subject", "vlm"); None picks "vlm" when there is a text or
            query image, "subject" for a subject alone, else "default". `pipeline=` is its old name.
    options: tunables for this call, fields of `intentcrop.defaults.Defaults` by name, e.g.
             {"grid_bins": 10, "grounding": {"tie_score": 0.9}} (or "grounding.tie_score": 0.9); they override the
             method's own options, which override `defaults.DEFAULTS`. An unknown name or a wrong type is an
             InvalidIntentError naming it.
    model: a model for the vision-language stages, or a list of them (one per role): a short name
           ("owlvit-b32", "owlv2-b16", "clip-b32", "clip-l14"), a hub id, or a folder saved with
           save_pretrained. OWL-ViT/OWLv2 models replace the grounder's, CLIP/SigLIP ones the scorers'.
    device: "cpu", "cuda", "cuda:N", "mps" or "auto" for every model-backed stage (default: auto).
    Returns the crops best first (a `CropOutput` with candidates, timings and options if return_output).
    """
    for name, value in (("method", method), ("pipeline", pipeline), ("device", device)):
        if value is not None and not isinstance(value, str):
            raise InvalidIntentError(f"{name} must be a string, got {type(value).__name__} {_show(value):.80}")
    if model is not None:
        names = [model] if isinstance(model, str) or hasattr(model, "__fspath__") else model
        if not isinstance(names, (list, tuple)) or not all(isinstance(m, str) or hasattr(m, "__fspath__")
                                                            for m in names):
            raise InvalidIntentError(f"model must be a model name, hub id or folder, or a list of them, got "
                                     f"{type(model).__name__} {_show(model):.80}")
    if options is not None and not isinstance(options, (Mapping, Defaults)):
        raise InvalidIntentError(f"options must be a mapping of option names to values, got "
                                 f"{type(options).__name__} {_show(options):.80}")
    if pipeline is not None:
        if method is not None:
            raise InvalidIntentError(f"give method= (or its old name pipeline=), not both: method={_show(method)}, "
                                     f"pipeline={_show(pipeline)}")
        warnings.warn("intentcrop.crop(pipeline=...) is now method=...", DeprecationWarning, stacklevel=2)
        method = pipeline
    intent = make_intent(text, query_image, subject, ratio, size, k, min_scale, max_scale, padding)
    if method is None:
        method = choose_method(intent)
    elif method not in PIPELINE_CONFIGS:
        raise InvalidIntentError(f"unknown method {_show(method)}; known: {', '.join(sorted(PIPELINE_CONFIGS))}")
    if model is not None or device is not None:
        from intentcrop.models.routing import model_overrides

        base = dict(PIPELINE_CONFIGS.get(method, {}), **pipeline_overrides)
        pipeline_overrides = {**pipeline_overrides, **model_overrides(base, model, device)}
    output = create_pipeline(method, **pipeline_overrides).run(image, intent, options=options)
    if return_output:
        return output
    for message in output.warnings:  # without the output object, the caller would never see them
        warnings.warn(message, CropWarning, stacklevel=2)
    return output.results
