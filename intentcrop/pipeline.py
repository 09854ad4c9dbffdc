"""The pipeline: preprocess -> ground -> propose -> score -> search -> select, each stage a registered backend.

preprocess loads the image and merges the call's options; ground finds the region the intent names (a subject's
box, or a model's boxes for a text or query image); propose makes candidate crops that hold that region; score
rates them with the config's weighted scorers; search refines the best ones; select (`postprocess`) returns the
k best, mutually different crops per ratio.

Configs are data (a dict per named pipeline -- a "method" in `intentcrop.crop(method=...)` -- as open_clip keeps
model configs), `create_pipeline` is the one factory, and `Pipeline.__call__` keeps preprocess / forward /
postprocess apart so the stages can be batched or moved to a device without touching each other.

Not found: a text or query image the grounder did not find with confidence (`Grounding.confidence` below the
option grounding.min_confidence, or no match at all) is not cropped around: the call returns the free-form crop of
the same image (the "default" method; "subject" when the intent also has a subject) with a warning in
`CropOutput.warnings` saying so, and the grounding that was found, for reference.

Options: every tunable is a field of `intentcrop.defaults.Defaults`. A config's "options" and the call's
`options=` are merged over `defaults.DEFAULTS` in that order (DEFAULTS <- config options <- create_pipeline
options <- run options) into `ctx.options`, which the stages read when they run.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from intentcrop import defaults
from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext, Grounding
from intentcrop.core.intent import Intent, check_text
from intentcrop.core.result import CropResult, focal_point_dict
from intentcrop.defaults import Defaults
from intentcrop.errors import IntentCropError, InvalidIntentError, StageFailedError
from intentcrop.io.image import open_image
from intentcrop.propose.geometry import at_least, floor_size
from intentcrop.propose.heads import keep_heads
from intentcrop.registry import GROUNDERS, PROPOSERS, SCORERS, SEARCHERS
from intentcrop.score.base import SCORER_WARNINGS, zscore
from intentcrop.select import select_top_k
from intentcrop.select.phrases import match_box
from intentcrop.select.verdict import decide as decide_verdict

# Named pipelines (the methods of `intentcrop.crop(method=...)`); "summary" is the one line users see (the service's
# GET /methods, the web page's method list). Each scorer entry is (registered name, weight,
# constructor arguments); with several scorers each one's total is z-scored within the image, then weighted.
# "options" (optional) override fields of intentcrop.defaults.Defaults for this pipeline; a call's options
# override them in turn. Weights and options were chosen on the world benchmark's tuning seeds 1 and 2
# (measurements: docs/experiments.md).
PIPELINE_CONFIGS: dict[str, dict[str, Any]] = {
    # Offline, no downloads: the learned crop-quality model (a missing or unreadable model file raises
    # ModelNotAvailableError saying how to train one; the scorer "heuristic" is the model-free alternative).
    "default": {
        "summary": "offline learned crop quality over grid candidates, with box voting (no downloads)",
        "proposer": ("grid", {}),
        "grounders": {"text": ("owlvit", {}), "query_image": ("owlvit", {}), "subject": ("subject", {})},
        "scorers": [("quality", 1.0, {})],
        "searcher": ("consensus", {}),  # box voting over the top candidates (intentcrop.search.consensus)
    },
    # Subject intents (chosen by `crop()` automatically): crop quality, plus how the subject fills the crop, so a
    # small subject becomes the picture's subject instead of a detail of the free-form crop, and what else the
    # crop holds (isolation), so the room around the subject goes to background rather than to its neighbours.
    "subject": {
        "summary": "keeps the given subject whole and makes it the picture's subject",
        "proposer": ("grid", {}),
        "grounders": {"subject": ("subject", {})},
        "scorers": [
            ("quality", 1.0, {}),
            ("framing", 1.0, {}),  # quality alone keeps FCDB-sized crops around a small subject
            ("isolation", 3.0, {}),  # more leaves more neighbours out (0: 0.58, 4: 0.79); framed crops drop at 4
        ],
        "searcher": ("consensus", {}),
        # A user's subject is exact and every candidate holds it, so a border can only cut a neighbour, and
        # avoiding that keeps whole neighbours in: no border-cut cost here.
        "options": {"isolation_cut_weight": 0.0},
    },
    # Text / query-image intents (chosen by `crop()` automatically): OWL-ViT grounding with its candidates
    # verified by the same CLIP model (intentcrop.ground.verify), then CLIP content, the offline quality scorer,
    # CLIP composition and aesthetics, framing and isolation. Every candidate already holds the grounded region,
    # so the question is how much room to leave and where: isolation (leave the look-alikes and other
    # eye-catching things out) carries most weight, framing keeps the region's fill in range, what was asked for
    # comes next, and quality (which likes large crops), composition and aesthetics break ties.
    "vlm": {
        "summary": "text or query-image intents: OWL-ViT grounding verified by CLIP, then CLIP and framing scores",
        "proposer": ("grid", {}),
        "grounders": {"text": ("owlvit", {"verify": True}), "query_image": ("owlvit", {"verify": True}),
                      "subject": ("subject", {})},
        "scorers": [
            ("clip_text", 1.0, {}),
            ("quality", 0.3, {}),  # 0.5 -> 0.3 with framing 0.3 -> 2.0 left more look-alikes out at equal all-in
            ("clip_prompts", 0.3, {"groups": ("composition",)}),
            ("clip_prompts", 0.3, {"groups": ("aesthetics",)}),
            ("framing", 2.0, {}),
            ("isolation", 4.0, {}),  # 2..6 tried: 4 balances targets kept and things left out best on both seeds
        ],
        "searcher": None,
    },
    # ClipCrop (Zhong et al.; docs/methods.md): OWL-ViT grounds the text, a DETR-like decoder over the grounder's
    # image tokens proposes M crops (offsets from the grounded union box) and scores them; the k best are kept.
    # Its decoder is the world checkpoint (fixtures/world/clipcrop) unless `--model FOLDER` gives another.
    "clipcrop": {
        "summary": "ClipCrop: OWL-ViT grounding, then a crop decoder over its tokens proposes and scores crops",
        "proposer": ("clipcrop", {}),
        # verified by CLIP as vlm's is when a CLIP is given (ours: the paper's OWL-ViT-B goes unchecked; the
        # world's tiny one misses targets unchecked, docs/experiments.md)
        "grounders": {"text": ("owlvit", {"verify": "if_given"}), "subject": ("subject", {})},
        "scorers": [("clipcrop", 1.0, {})],
        "searcher": None,
    },
    # CLIPCropping (Yuan, Li, Chen; docs/methods.md): grid candidates scored by a head that fuses each crop's
    # RoIAlign / RoDAlign features with composition and aesthetic knowledge learned on CLIP (CKE, AKE); the head
    # and CLIP are the world checkpoint (fixtures/world/clipcropping, and the CLIP it records) unless
    # `--model FOLDER` gives others. Text and query images are grounded first; candidates hold the region.
    "clipcropping": {
        "summary": "CLIPCropping: grid candidates scored by a head fusing region features with learned CLIP "
                   "composition and aesthetic knowledge",
        "proposer": ("grid", {}),
        "grounders": {"text": ("owlvit", {}), "query_image": ("owlvit", {}), "subject": ("subject", {})},
        "scorers": [("clipcropping", 1.0, {})],
        "searcher": None,
    },
    # Cropper (Lee et al., 2024; docs/methods.md): a VLM proposes crops in context (examples retrieved from an
    # example bank), the paper's three scorers judge them (aesthetics = the offline quality model, content =
    # similarity of the crop to the whole image (+ to the text, ours), area), and the VLM refines them for
    # cropper_rounds rounds. The VLM's settings are the proposer's arguments (`intentcrop crop --vlm-url ...`)
    # or the environment (INTENTCROP_VLM_URL, INTENTCROP_VLM_MODEL, OPENAI_API_KEY). A VLM that fails gives the
    # default method's crop with a warning (Pipeline.run).
    "cropper": {
        "summary": "Cropper: a vision-language model proposes crops from retrieved examples and refines them",
        "proposer": ("cropper", {}),
        "grounders": {"text": ("deferred", {}), "subject": ("subject", {})},  # the VLM reads the text itself
        "scorers": [("quality", 1.0, {}), ("content", 1.0, {}), ("area", 0.5, {})],
        "searcher": ("cropper_refine", {}),
    },
    # CAGIC (Horanyi et al.; docs/methods.md): the crop optimised directly (intentcrop.search.cagic): caption
    # loss (CLIP text similarity, our variant) + lambda * aesthetic loss (the offline quality model), annealed,
    # K restarts, L-BFGS; the grid only seeds restart 0. Defaults: intentcrop.search.cagic.CagicConfig.
    "cagic": {
        "summary": "CAGIC: the crop box optimised directly for caption + aesthetic losses (L-BFGS, restarts)",
        "proposer": ("grid", {}),
        "grounders": {"text": ("deferred", {}), "subject": ("subject", {})},  # the caption loss reads the text
        "scorers": [("quality", 1.0, {})],
        "searcher": ("cagic", {}),
    },
}


def describe_methods() -> list[dict[str, Any]]:
    """Every method with its one-line summary and the intents it can take (JSON-serialisable)."""
    return [{"name": name, "summary": config.get("summary", ""),
             "intents": ["free-form", *sorted(k.replace("_", " ") for k in config.get("grounders", {}))]}
            for name, config in PIPELINE_CONFIGS.items()]


@dataclass
class CropOutput:
    """Everything one call produced: the chosen crops and, for debugging, what they were chosen from."""

    results: list[CropResult]
    candidates: Candidates
    grounding: Grounding | None
    image_size: tuple[int, int]
    timings: dict[str, float] = field(default_factory=dict)
    options: Defaults | None = None  # the options the call ran with (not in to_dict)
    # What the user should know about how the crops were made: above all that the intent was not found with
    # confidence and the crops are the free-form ones ("'the white dog' was not found with confidence (0.04); ...")
    warnings: list[str] = field(default_factory=list)
    # free-form intents: "keep" when the photo needs no crop, else "crop" (None for any other intent), and why
    verdict: str | None = None
    verdict_reason: str | None = None

    @property
    def focal_point(self) -> tuple[float, float] | None:
        """The point the call is about, (x, y) in original pixels: the grounded region's centre, else the first
        crop's focal point (free-form: its saliency centre; see intentcrop.core.result)."""
        if self.grounding is not None and self.grounding.region is not None:
            return self.grounding.region.clip(*self.image_size).center
        return self.results[0].focal_point if self.results else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "image": {"width": self.image_size[0], "height": self.image_size[1]},
            "warnings": list(self.warnings),
            "crops": [r.to_dict() for r in self.results],
            "candidates_scored": len(self.candidates),
            "verdict": self.verdict,
            "timings_ms": {k: round(v * 1000, 2) for k, v in self.timings.items()},
        }
        if self.focal_point is not None:
            out["focal_point"] = focal_point_dict(self.focal_point, self.image_size)
        if self.verdict_reason is not None:
            out["verdict_reason"] = self.verdict_reason
        if self.grounding is not None:
            out["grounding"] = self.grounding.to_dict()
        return out


_SHARED_BACKENDS: dict[tuple, Any] = {}
_BACKENDS_LOCK = threading.RLock()  # threads that ask at once for a new backend get one instance, made once


def _backend(registry, name: str, args: dict[str, Any]) -> Any:
    """One instance per (stage, name, args) per process: models are loaded once and shared (thread-safe)."""
    key = (registry.stage, name, repr(sorted(args.items())))
    backend = _SHARED_BACKENDS.get(key)
    if backend is None:
        with _BACKENDS_LOCK:
            backend = _SHARED_BACKENDS.get(key)
            if backend is None:
                backend = _SHARED_BACKENDS[key] = registry.create(name, **args)
    return backend


def _takes_options(method: Any) -> bool:
    """Whether a scorer's `explain` accepts the call's options (`explain(winner, all_terms, options=...)`)."""
    try:
        return "options" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


class Pipeline:
    def __init__(self, config: dict[str, Any], options: "Mapping[str, Any] | Defaults | None" = None) -> None:
        """`config` as in PIPELINE_CONFIGS; `options` override its "options" (both: fields of Defaults)."""
        self.config = config
        self.options = options
        self.resolve_options()  # an unknown or mistyped option fails here, not at the first image

    def resolve_options(self, options: "Mapping[str, Any] | Defaults | None" = None) -> Defaults:
        """DEFAULTS (as it is now) <- the config's "options" <- this pipeline's options <- `options`."""
        return defaults.DEFAULTS.merged(self.config.get("options")).merged(self.options).merged(options)

    # -- stages -------------------------------------------------------------------------------
    def preprocess(self, image: Any, intent: Intent, options: "Mapping[str, Any] | Defaults | None" = None
                   ) -> CropContext:
        # A file is only opened here (size, orientation): the analysis copy is decoded straight to its size and
        # the full-resolution image only if a stage asks for ctx.image (model-backed ones) or a crop is cut.
        resolved = self.resolve_options(options)
        check_limits(intent, resolved)  # before the image is opened or any text parsed
        return CropContext(image=open_image(image, max_pixels=resolved.max_image_pixels), intent=intent,
                           options=resolved)

    def ground(self, ctx: CropContext) -> Grounding | None:
        intent = ctx.intent
        kind = ("subject" if intent.subject is not None else "text" if intent.text is not None
                else "query_image" if intent.query_image is not None else None)
        if kind is None:
            return None
        grounders = self.config.get("grounders", {})
        if kind not in grounders:
            raise IntentCropError(f"this pipeline has no grounder for {kind.replace('_', ' ')} intents")
        name, args = grounders[kind]
        return _backend(GROUNDERS, name, dict(args)).ground(ctx)

    def propose(self, ctx: CropContext) -> Candidates:
        name, args = self.config["proposer"]
        return keep_heads(ctx, _backend(PROPOSERS, name, dict(args)).propose(ctx))  # heads: whole or out

    def scorers(self) -> list[tuple[Any, float]]:
        return [(_backend(SCORERS, name, dict(args)), float(w)) for name, w, args in self.config["scorers"]]

    def score(self, ctx: CropContext, candidates: Candidates) -> Candidates:
        """Fill candidates.breakdown with every scorer's terms and candidates.scores with the weighted sum.
        With one scorer its own total is used as is; with several, each total is z-scored within the image
        first so their weights mean what they say."""
        scorers = self.scorers()
        totals = []
        for scorer, weight in scorers:
            terms = scorer.score(ctx, candidates)
            if "total" not in terms:
                raise IntentCropError(f"scorer {scorer.name!r} returned no 'total'")
            for key, values in terms.items():
                name = scorer.name if key == "total" else f"{scorer.name}.{key}"
                candidates.with_score(name, values)
            totals.append((weight, np.asarray(terms["total"], dtype=np.float64)))
        if len(totals) == 1:
            candidates.scores = totals[0][0] * totals[0][1]
        else:
            candidates.scores = sum(w * zscore(t) for w, t in totals)
        return candidates

    def search(self, ctx: CropContext, candidates: Candidates) -> Candidates:
        if not self.config.get("searcher"):
            return candidates
        name, args = self.config["searcher"]
        return keep_heads(ctx, _backend(SEARCHERS, name, dict(args)).search(ctx, candidates, lambda c: self.score(ctx, c)))

    def postprocess(self, ctx: CropContext, candidates: Candidates, k: int | None = None) -> list[CropResult]:
        """The k best, mutually different crops per ratio (`select_top_k`), best first, as CropResults: rank is
        the place in its ratio's list, and each carries its focal point (intentcrop.core.result). A candidate
        below the crop floor (options.min_crop_side px; a searcher's move could make one) is never chosen while
        its ratio has one at or above it."""
        candidates = self._above_floor(ctx, candidates)
        chosen = select_top_k(candidates, ctx.k if k is None else k, ctx.options.diversity_iou)
        scorers = self.scorers()

        def own_terms(terms: dict, scorer) -> dict:
            """A scorer's own columns, keyed as it returned them ('total' for its bare name)."""
            return {k.split(".", 1)[1] if "." in k else "total": v for k, v in terms.items()
                    if k == scorer.name or k.startswith(scorer.name + ".")}

        all_terms_by_scorer = [own_terms(candidates.breakdown, scorer) for scorer, _ in scorers]
        # a scorer that did not move the score (weight 0, or the same total for every one of several candidates:
        # constant, or left out as inert) is never quoted in an explanation
        moved = [weight != 0 and (len(t.get("total", ())) < 2 or float(np.ptp(t["total"])) > 1e-12)
                 for (_, weight), t in zip(scorers, all_terms_by_scorer)]
        # exact to the pixel at the asked ratio: a searcher's optimum is a float box, and rounding each edge would
        # leave it a pixel off
        boxes = [candidates[idx].boxes()[0].to_pixels(None if np.isnan(candidates.ratio[idx])
                                                      else float(candidates.ratio[idx]), ctx.width, ctx.height)
                 for idx in chosen]
        focal = self._focal_points(ctx, boxes)
        results = []
        per_ratio_rank: dict[float, int] = {}
        for idx, box, point in zip(chosen, boxes, focal):
            row = candidates[idx]
            terms = {k: float(v[0]) for k, v in row.breakdown.items()}
            ratio = None if np.isnan(row.ratio[0]) else float(row.ratio[0])
            key = -1.0 if ratio is None else ratio
            per_ratio_rank[key] = per_ratio_rank.get(key, 0) + 1
            reasons: list[str] = []
            for (scorer, _), all_terms, counts in zip(scorers, all_terms_by_scorer, moved):
                if not counts:
                    continue
                extra = {"options": ctx.options} if _takes_options(scorer.explain) else {}
                reasons += scorer.explain(own_terms(terms, scorer), all_terms, **extra)
            results.append(
                CropResult(
                    box=box,
                    score=float(row.scores[0]),
                    breakdown=terms,
                    explanation="; ".join(match_box(reasons, box, ctx.width, ctx.height)),  # true of the box
                    ratio=ratio,
                    output_size=ctx.intent.size,
                    rank=per_ratio_rank[key],
                    image_size=(ctx.width, ctx.height),
                    focal_point=point,
                )
            )
        return results

    @staticmethod
    def _above_floor(ctx: CropContext, candidates: Candidates) -> Candidates:
        """The candidates at or above the crop floor (`floor_size` with options.min_crop_side), per ratio group;
        a group with none keeps all of its own (the proposer never makes such a group)."""
        if len(candidates) == 0:
            return candidates
        keys = np.where(np.isnan(candidates.ratio), -1.0, candidates.ratio)
        keep = np.ones(len(candidates), dtype=bool)
        for key in np.unique(keys):
            members = keys == key
            try:
                min_w, min_h = floor_size(ctx.width, ctx.height, ctx.options.min_crop_side,
                                          ratio=None if key < 0 else float(key))
            except InvalidIntentError:  # a ratio no window fits: nothing to hold it to
                continue
            ok = members & at_least(candidates.xyxy, min_w, min_h)
            if ok.any():
                keep[members & ~ok] = False
        return candidates if keep.all() else candidates[np.flatnonzero(keep)]

    @staticmethod
    def _focal_points(ctx: CropContext, boxes: list) -> list[tuple[float, float]]:
        """Each crop's focal point in original pixels (defined in intentcrop.core.result): the grounded region's
        centre, else the crop's saliency centre of mass; clamped into the crop."""
        if not boxes:
            return []
        region = ctx.grounding.region if ctx.grounding is not None else None
        if region is not None:
            cx, cy = region.clip(ctx.width, ctx.height).center
            points = [(cx, cy)] * len(boxes)
        else:
            from intentcrop.score.features import saliency_centroid  # cv2 and the maps: only when needed

            points = [tuple(p) for p in saliency_centroid(ctx, np.array([b.to_list() for b in boxes]))]
        return [(float(min(max(x, b.x1), b.x2)), float(min(max(y, b.y1), b.y2))) for (x, y), b in zip(points, boxes)]

    def offer_readings(self, ctx: CropContext, results: list[CropResult]) -> list[CropResult]:
        """An ambiguous text (a tie: `Grounding.alternatives`) with k > 1: each ratio's first crop holds every
        reading; the next ones are the best crop of each reading alone (scored in its own pass, with the other
        readings as look-alikes), then the rest of the first pass's crops."""
        readings = ctx.grounding.alternatives if ctx.grounding is not None else []
        if ctx.k < 2 or not readings:
            return results
        offered: list[CropResult] = []
        for reading in readings:
            rctx = CropContext(image=ctx.source, intent=ctx.intent, grounding=reading, cache=ctx.cache,
                               options=ctx.options)
            try:
                candidates = self.propose(rctx)
            except InvalidIntentError:  # this reading alone cannot meet the ratio: nothing to offer for it
                continue
            if len(candidates) == 0:
                continue
            for r in self.postprocess(rctx, self.search(rctx, self.score(rctx, candidates)), k=1):
                r.explanation = "one reading of an ambiguous text (two things matched it alike)" + (
                    f"; {r.explanation}" if r.explanation else "")
                offered.append(r)
        out: list[CropResult] = []
        for key in dict.fromkeys(r.ratio for r in results):  # ratio groups in their order
            first, *rest = [r for r in results if r.ratio == key]
            group: list[CropResult] = []
            skipped: list[CropResult] = []
            for r in [first] + [o for o in offered if o.ratio == key] + rest:
                near = any(r.box.iou(g.box) > ctx.options.diversity_iou for g in group)
                (skipped if near else group).append(r)
            group = (group + skipped)[: ctx.k]  # too few distinct ones: the near-duplicates fill up
            for rank, r in enumerate(group, 1):
                r.rank = rank
            out += group
        return out

    # -- not found: the free-form crop instead -------------------------------------------------------
    @staticmethod
    def not_found(ctx: CropContext) -> str | None:
        """The warning when the intent's text or query image was not found with confidence (below
        grounding.min_confidence, or no match at all), else None. A subject is never 'not found'; with
        min_confidence 0 nothing falls back (a grounding without any match is still reported)."""
        g = ctx.grounding
        if g is None or g.strict or g.source == "subject":
            return None
        what = repr(ctx.intent.text) if ctx.intent.text else "the query image"
        threshold = ctx.options.grounding.min_confidence
        if threshold <= 0:
            return None if g.region is not None else f"{what} was not found; the crop does not hold it"
        if g.region is not None and (g.confidence is None or g.confidence >= threshold):  # None: not measured
            return None
        found = "" if g.region is None else f" with confidence ({g.confidence or 0.0:.2f} < {threshold:g})"
        return f"{what} was not found{found}; returning the best free-form crop"

    def fallback(self, intent: Intent) -> tuple["Pipeline", Intent]:
        """The pipeline and intent of the free-form crop a call falls back to: the intent without its text and
        query image, by the "subject" method when it has a subject, else "default" -- with this pipeline's
        crop-quality model (a .npz given with model=) and options."""
        fallback_intent = dataclasses.replace(intent, text=None, query_image=None)
        config = copy.deepcopy(PIPELINE_CONFIGS["subject" if intent.subject is not None else "default"])
        quality = [args for name, _, args in self.config.get("scorers", []) if name == "quality" and args]
        if quality:
            config["scorers"] = [(n, w, dict(quality[0]) if n == "quality" else a) for n, w, a in config["scorers"]]
        return Pipeline(config, options=self.options), fallback_intent

    # -- the whole call -------------------------------------------------------------------------
    def run(self, image: Any, intent: Intent | None = None,
            options: "Mapping[str, Any] | Defaults | None" = None) -> CropOutput:
        """Crop one image: preprocess -> ground -> propose -> score -> search -> select. `options` override
        fields of Defaults for this call (over the pipeline's own)."""
        intent = intent or Intent()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        ctx = self.preprocess(image, intent, options)
        t1 = time.perf_counter()
        ctx.grounding = self.ground(ctx)
        t2 = time.perf_counter()
        warning = self.not_found(ctx)
        if warning is not None and ctx.options.grounding.min_confidence > 0:
            pipeline, fallback_intent = self.fallback(intent)
            output = pipeline.run(ctx.source, fallback_intent, options)
            output.grounding = ctx.grounding  # what was found, for reference: its confidence says why not kept
            output.warnings.insert(0, warning)
            for r in output.results:  # the explanation must not read as if the intent were kept
                r.explanation = f"a free-form crop: {warning.split(';')[0]}" + (
                    f"; {r.explanation}" if r.explanation else "")
            output.timings = {"load": t1 - t0, "ground": t2 - t1, **{k: v for k, v in output.timings.items()
                                                                     if k not in ("load", "total")},
                              "total": time.perf_counter() - t0}
            return output
        try:
            candidates = self.propose(ctx)
            if len(candidates) == 0:
                raise InvalidIntentError(f"no candidate crop fits the intent inside the {ctx.width}x{ctx.height} "
                                         "image")
            t3 = time.perf_counter()
            candidates = self.score(ctx, candidates)
            candidates = self.search(ctx, candidates)
        except StageFailedError as exc:  # a VLM down, timed out, or answering garbage: the default crop instead
            pipeline, fallback_intent = self.fallback(intent)
            output = pipeline.run(ctx.source, fallback_intent if intent.text else intent, options)
            output.warnings.insert(0, f"{exc}; returning the default method's crop")
            output.timings["total"] = time.perf_counter() - t0
            return output
        t4 = time.perf_counter()
        warning_list = ([] if warning is None else [warning]) + list(ctx.cache.get("warnings", []))
        results = self.offer_readings(ctx, self.postprocess(ctx, candidates))
        verdict = self.verdict(ctx, candidates, results)
        t5 = time.perf_counter()
        timings.update(load=t1 - t0, ground=t2 - t1, propose=t3 - t2, score=t4 - t3, select=t5 - t4, total=t5 - t0)
        notes = list(dict.fromkeys(ctx.cache.get(SCORER_WARNINGS, [])))  # e.g. an inert scorer left out
        return CropOutput(results, candidates, ctx.grounding, (ctx.width, ctx.height), timings, ctx.options,
                          warnings=warning_list + [n for n in notes if n not in warning_list],
                          verdict=verdict.verdict if verdict else None,
                          verdict_reason=verdict.reason if verdict else None)

    def verdict(self, ctx: CropContext, candidates: Candidates, results: list[CropResult]):
        """Free-form intents: keep the whole image or crop (intentcrop.select.verdict); None otherwise."""
        if not results:
            return None

        def score(rows: Candidates) -> np.ndarray:
            if len(self.config["scorers"]) == 1:  # one scorer: its total is the score, row by row
                return self.score(ctx, rows).scores
            # several: z-scored within the image, so a box is only scored among this call's candidates
            pool = Candidates.from_xyxy(np.vstack([candidates.xyxy, rows.xyxy]))
            return self.score(ctx, pool).scores[-len(rows):]

        return decide_verdict(ctx, candidates, results[0].box, results[0].score, score)

    def score_boxes(self, image: Any, boxes: Any, intent: Intent | None = None,
                    options: "Mapping[str, Any] | Defaults | None" = None,
                    grounding: Grounding | None = None) -> np.ndarray:
        """(N,) scores this pipeline's scorers give the given crops ((N, 4) xyxy, original pixels), the weighted
        total `run` ranks its own candidates by (for GAICD-style ranking protocols). The intent is grounded as
        `run` grounds it (or `grounding` is used, e.g. a CropOutput's); one not found is scored by the free-form
        fallback, as `run` would crop it."""
        intent = intent or Intent()
        ctx = self.preprocess(image, intent, options)
        ctx.grounding = self.ground(ctx) if grounding is None else grounding
        if self.not_found(ctx) is not None and ctx.options.grounding.min_confidence > 0:
            pipeline, fallback_intent = self.fallback(intent)
            return pipeline.score_boxes(ctx.source, boxes, fallback_intent, options)
        xyxy = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(xyxy) == 0:
            return np.zeros(0)
        return np.asarray(self.score(ctx, Candidates.from_xyxy(xyxy, source="given")).scores, dtype=np.float64)

    def __call__(self, image: Any, intent: Intent | None = None,
                 options: "Mapping[str, Any] | Defaults | None" = None) -> list[CropResult]:
        return self.run(image, intent, options).results


def check_limits(intent: Intent, options: Defaults) -> None:
    """The call's bounds (options.max_text_length, options.max_k) on what the intent asks; InvalidIntentError."""
    check_text(intent.text, options.max_text_length)
    k = options.k if intent.k is None else intent.k
    if k > options.max_k:
        raise InvalidIntentError(f"{'option k' if intent.k is None else 'k'}={k} crops per ratio is more than the "
                                 f"most, {options.max_k} (option max_k)")


def create_pipeline(name: str = "default", options: "Mapping[str, Any] | Defaults | None" = None,
                    **overrides: Any) -> Pipeline:
    """The one factory: a named config (a method), with any top-level key replaced (e.g. scorers=[...]);
    `options` override fields of Defaults over the config's own "options" (which `options=` does not replace)."""
    if name not in PIPELINE_CONFIGS:
        raise KeyError(f"unknown pipeline {name!r}; known: {', '.join(sorted(PIPELINE_CONFIGS))}")
    config = copy.deepcopy(PIPELINE_CONFIGS[name])
    config.update(overrides)
    return Pipeline(config, options=options)
