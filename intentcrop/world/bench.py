"""`intentcrop bench world`: does a conditioned crop keep what was asked for and leave out the rest?

Over seeded scenes (`referring.benchmark_cases`, plus a quarter as many spatial-relation cases from
`referring.relation_cases` and as many position cases from `referring.position_cases`), every case is
cropped through the public API, `intentcrop.crop(...)`, with the world models passed as
`model=[owlvit_folder, clip_folder]`:

* text:    the referring text ('the small green triangle', 'two yellow stars', 'the red circle and ...',
           'the red circle left of the blue square', 'the red circle on the left')
* image:   a crop of the target as the query image (single, uniquely coloured-and-shaped targets)
* subject: the targets' mask

each without a ratio and with one (cycled through RATIOS), beside two baselines from the same run:
'free-form' (the same call with no intent) and 'tight box' (the grounding region the conditioned
call found, used as the crop; for subjects, the mask's box). A ratio no crop holding the targets can
meet inside the scene (a tall pair at 16:9 in a portrait scene) is skipped for every method and listed
in 'impossible'.

Metrics, from the scene's exact masks, averaged over cases:
  all_in      share of cases where every target's visible box lies fully inside the crop
  contain     share of the targets' pixels inside the crop
  exclude     share of the other objects' pixels outside the crop (cases with other objects)
  ratio_err   |crop ratio - asked ratio| / asked ratio (cases with a ratio)
  iou         IoU of the crop with the targets' tight box
  framed      share of cases where the crop leaves a margin of at least FRAME_MARGIN of the target
              box's size on every side that is not the image's own border (a tight box never does)

Against the world annotator (`intentcrop.world.annotate`: scored GAIC-style candidates and 4-8 annotators'
crops per case and ratio):
  iou_mean, iou_max   IoU of the crop with each annotator's crop, mean and best over the annotators
                      (Horanyi-PR / TextCrop protocol)
  acc1/5, acc1/10     for methods that score given crops (every pipeline config): the method's scores of the
                      annotator's candidates (`Pipeline.score_boxes`) against their MOS, GAICD's Acc_1/N --
                      whether its best candidate is among the N best by MOS
  srcc, pcc           Spearman's and Pearson's correlation of those scores with the MOS
  ms                  wall time of the method's crop call per case (the baselines': the free-form call)

Methods (`methods=`, CLI `--method`, repeatable): "auto" (the default: the method `crop()` chooses for the
intent, "vlm" for a text or query image, "subject" for a subject; its rows are labelled "conditioned", the
reference) and every name in PIPELINE_CONFIGS, each run on the same cases in the same run. A method with no
grounder for an intent (e.g. "subject" for a text) is listed in 'unsupported' and skipped for it. The 'tight
box' baseline is the first method's grounding region.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from intentcrop import defaults
from intentcrop.core.box import Box
from intentcrop.errors import InvalidIntentError
from intentcrop.world.referring import WorldCase, benchmark_cases, position_cases, relation_cases

RATIOS = ("1:1", "4:5", "16:9", "3:2")
INTENTS = ("text", "image", "subject")
FRAME_MARGIN = 0.05
DEFAULT_SCENES = 100  # 33 attribute-text cases at seed 0 (40 scenes gave 14: too few to compare settings)
RELATION_SHARE = 0.25  # spatial-relation cases, and again position cases, per scene of the other kinds: as many
#                        as each of those kinds gets
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "world"
DEFAULT_MODELS = (FIXTURES / "owlvit", FIXTURES / "clip")  # the text and query-image methods' world models
# the benchmark's: each method takes those it has a stage for (the VLM: Cropper's proposer)
BENCH_MODELS = DEFAULT_MODELS + (FIXTURES / "vlm", FIXTURES / "clipcrop",  # clipcrop: the crop decoder
                                 FIXTURES / "clipcropping")  # CLIPCropping's knowledge + cropping head


@dataclass
class CaseResult:
    intent: str
    kind: str
    ratio: str | None
    method: str  # "conditioned" (the automatic choice), a method name, "free-form", "tight box"
    metrics: dict[str, float]
    box: list[float]
    seed: int
    text: str


def crop_metrics(case: WorldCase, box: Box, ratio: float | None) -> dict[str, float]:
    """The benchmark's measurements of one crop against one case's truth."""
    scene = case.scene
    x1, y1, x2, y2 = (int(v) for v in box.round().as_int_tuple())
    targets = set(case.targets)

    def inside(mask: np.ndarray) -> float:
        return float(mask[max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)].sum())

    t_area = sum(float(scene.objects[t].mask.sum()) for t in targets)
    t_in = sum(inside(scene.objects[t].mask) for t in targets)
    others = [o for i, o in enumerate(scene.objects) if i not in targets]
    o_area = sum(float(o.mask.sum()) for o in others)
    o_in = sum(inside(o.mask) for o in others)
    tight = case.target_box
    all_in = all(box.contains(scene.objects[t].box, tolerance=1.0) for t in targets)
    margins = []
    for crop_edge, target_edge, border, size in ((x1, tight.x1, 0, tight.width), (y1, tight.y1, 0, tight.height),
                                                 (x2, tight.x2, scene.width, tight.width),
                                                 (y2, tight.y2, scene.height, tight.height)):
        if abs(crop_edge - border) <= 1:  # the image ends here: no room to leave
            continue
        margins.append(abs(target_edge - crop_edge) / max(size, 1.0))
    out = {
        "all_in": float(all_in),
        "contain": t_in / max(t_area, 1.0),
        "exclude": 1.0 - o_in / o_area if o_area > 0 else float("nan"),
        "iou": box.iou(tight),
        "framed": float(all_in and all(m >= FRAME_MARGIN for m in margins)),
        "ratio_err": float("nan"),
    }
    if ratio is not None and box.height > 0:
        out["ratio_err"] = abs(box.width / box.height - ratio) / ratio
    return out


def _intent_args(case: WorldCase, intent: str) -> dict[str, Any] | None:
    if intent == "text":
        return {"text": case.referral.text}
    if intent == "image":
        if case.referral.kind != "attribute":  # a picture cannot say 'the small one' or 'two of them'
            return None
        return {"query_image": case.query_image()}
    return {"subject": case.subject()}


def ratio_can_hold_targets(case: WorldCase, ratio: float) -> bool:
    """Whether any crop of exactly `ratio` inside the scene holds every target (a tall pair of objects cannot
    fit a 16:9 crop of a portrait scene: no method can succeed there, so the case measures nothing)."""
    from intentcrop.propose.geometry import ratio_windows

    try:
        ratio_windows(case.scene.width, case.scene.height, ratio, scales=1, positions=1,
                      must_contain=case.target_box, strict=True)
    except InvalidIntentError:
        return False
    return True


AUTO = "auto"  # the method crop() chooses for the intent: the reference, labelled "conditioned"


def method_names() -> tuple[str, ...]:
    from intentcrop.pipeline import PIPELINE_CONFIGS

    return (AUTO,) + tuple(PIPELINE_CONFIGS)


def _label(method: str) -> str:
    return "conditioned" if method == AUTO else method


def annotator_metrics(box: Box, annotation: Any) -> dict[str, float]:
    """IoU-Mean and IoU-Max of one crop over the annotators' crops."""
    from intentcrop.metrics.overlap import iou_over_annotators

    reduced = iou_over_annotators(np.array([box.to_list()]), [annotation.annotator_boxes])
    return {"iou_mean": float(reduced["mean"][0]), "iou_max": float(reduced["max"][0])}


def ranking_metrics(scores: np.ndarray | None, mos: np.ndarray) -> dict[str, float]:
    """GAICD's Acc_1/5, Acc_1/10, SRCC and PCC of one case's scores of the candidates (NaN without scores)."""
    from intentcrop.metrics.ranking import accuracy_at, correlations

    nan = float("nan")
    if scores is None or len(mos) < 10:
        return {"acc1/5": nan, "acc1/10": nan, "srcc": nan, "pcc": nan}
    srcc, pcc = correlations(scores, mos)
    return {"acc1/5": float(accuracy_at(scores, mos, (1,), 5)[0]),
            "acc1/10": float(accuracy_at(scores, mos, (1,), 10)[0]), "srcc": srcc, "pcc": pcc}


class _Method:
    """One method's pipeline per intent kind, built as `intentcrop.crop` builds it, to score given crops."""

    def __init__(self, name: str, models: tuple[str, ...], device: str) -> None:
        self.name, self.models, self.device = name, models, device
        self._pipes: dict[tuple[str, bool], Any] = {}
        # the world models each config has a stage for ("default" grounds with OWL-ViT but scores without CLIP;
        # only "cropper" takes the VLM); the automatic choice takes those of the method it picks per intent
        self._taken = {config: tuple(m for m in models if self._takes(config, m)) for config in (
            method_names()[1:] if name == AUTO else [name])}
        self.uses_models = any(self._taken.values())

    def models_for(self, intent: Any) -> tuple[str, ...]:
        from intentcrop.api import choose_method

        return self._taken[choose_method(intent) if self.name == AUTO else self.name]

    def _takes(self, name: str, model: str) -> bool:
        from intentcrop.errors import IntentCropError
        from intentcrop.models.routing import model_overrides
        from intentcrop.pipeline import PIPELINE_CONFIGS

        try:
            model_overrides(dict(PIPELINE_CONFIGS[name]), [model], self.device)
        except IntentCropError:
            return False
        return True

    def pipeline(self, intent: Any, with_models: bool):
        from intentcrop.api import choose_method
        from intentcrop.models.routing import model_overrides
        from intentcrop.pipeline import PIPELINE_CONFIGS, create_pipeline

        name = choose_method(intent) if self.name == AUTO else self.name
        key = (name, with_models)
        if key not in self._pipes:
            overrides = model_overrides(dict(PIPELINE_CONFIGS[name]), list(self.models_for(intent)), self.device) \
                if with_models else {}
            self._pipes[key] = create_pipeline(name, **overrides)
        return self._pipes[key]


def run_world_bench(n_scenes: int = DEFAULT_SCENES, seed: int = 0, models: tuple[str, ...] | None = None,
                    intents: tuple[str, ...] = INTENTS, device: str = "cpu",
                    min_scale: float | None = None,
                    progress: Callable[[str], None] | None = None,
                    methods: tuple[str, ...] = (AUTO,)) -> dict[str, Any]:
    """Crop every case every way; returns {'rows': per-case results, 'summary': table rows, 'seconds', ...}."""
    import intentcrop
    from intentcrop.api import make_intent
    from intentcrop.core.intent import parse_ratio
    from intentcrop.errors import IntentCropError
    from intentcrop.world.annotate import annotate_case

    known = method_names()
    methods = tuple(dict.fromkeys(methods)) or (AUTO,)
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise IntentCropError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(known)}")
    # world objects are 12-32% of the short side: the free-form 0.5 would keep half of each side, neighbours included
    min_scale = defaults.DEFAULTS.grounded_min_scale if min_scale is None else min_scale
    models = tuple(str(m) for m in (models or BENCH_MODELS))
    for m in models:
        if not Path(m).exists():
            raise FileNotFoundError(f"world model folder {m} is missing; train it with `intentcrop train world`")
    runners = {m: _Method(m, models, device) for m in methods}
    extra = int(round(n_scenes * RELATION_SHARE))
    cases = benchmark_cases(n_scenes, seed=seed) + relation_cases(extra, seed=seed) + position_cases(extra, seed=seed)
    rows: list[CaseResult] = []
    impossible: list[dict[str, Any]] = []  # asked ratios no crop holding the targets can meet (skipped)
    unsupported: dict[str, list[str]] = {}  # method -> intents it has no grounder for
    annotations: list[dict[str, Any]] = []
    t0 = time.time()
    for ci, case in enumerate(cases):
        ratio_label = RATIOS[ci % len(RATIOS)]
        for ratio in (None, ratio_label):
            r = None if ratio is None else parse_ratio(ratio)
            if r is not None and not ratio_can_hold_targets(case, r):
                impossible.append({"intent": "all", "seed": case.scene.seed, "ratio": ratio,
                                   "text": case.referral.text})
                continue
            annotation = annotate_case(case, r, seed=seed)
            annotations.append({"seed": case.scene.seed, "text": case.referral.text, "ratio": ratio,
                                "candidates": len(annotation.mos), "best_mos": float(annotation.mos.max()),
                                "annotators": annotation.annotators})

            def record(intent: str, method: str, box: Box, seconds: float | None,
                       scores: np.ndarray | None = None) -> None:
                metrics = crop_metrics(case, box, r)
                metrics.update(annotator_metrics(box, annotation))
                metrics.update(ranking_metrics(scores, annotation.mos))
                metrics["ms"] = float("nan") if seconds is None else 1000.0 * seconds
                rows.append(CaseResult(intent, case.referral.kind, ratio, method, metrics,
                                       [round(v, 1) for v in box.to_list()], case.scene.seed, case.referral.text))

            start = time.perf_counter()
            free = intentcrop.crop(case.scene.image, ratio=ratio, k=1)[0].box
            free_seconds = time.perf_counter() - start
            for intent in intents:
                args = _intent_args(case, intent)
                if args is None:
                    continue
                first_region: Box | None = None
                done = False
                for method in methods:
                    # a subject needs no model for the automatic choice; other methods may score with CLIP
                    with_models = runners[method].uses_models and not (intent == "subject" and method == AUTO)
                    intent_obj = make_intent(ratio=ratio, k=1, min_scale=min_scale, **args)
                    taken = runners[method].models_for(intent_obj) if with_models else ()
                    model_args = {"model": list(taken), "device": device} if taken else {}
                    start = time.perf_counter()
                    try:
                        out = intentcrop.crop(case.scene.image, ratio=ratio, k=1, min_scale=min_scale,
                                              return_output=True, **args, **model_args,
                                              **({} if method == AUTO else {"method": method}))
                    except InvalidIntentError:  # e.g. a tall subject at 16:9 in a portrait image: none can hold it
                        impossible.append({"intent": intent, "seed": case.scene.seed, "ratio": ratio,
                                           "text": case.referral.text,
                                           **({} if method == AUTO else {"method": method})})
                        continue
                    except IntentCropError as exc:  # this method has no grounder for the intent
                        if "no grounder" not in str(exc):
                            raise
                        if intent not in unsupported.setdefault(method, []):
                            unsupported[method].append(intent)
                        continue
                    seconds = time.perf_counter() - start
                    pipe = runners[method].pipeline(intent_obj, with_models=with_models)
                    scores = pipe.score_boxes(case.scene.image, annotation.crops_xyxy, intent_obj,
                                              grounding=out.grounding)
                    record(intent, _label(method), out.results[0].box, seconds, scores)
                    if not done:
                        done = True
                        region = out.grounding.region if out.grounding is not None else None
                        first_region = region if region is not None else Box(0, 0, case.scene.width,
                                                                             case.scene.height)
                if not done:
                    continue
                record(intent, "free-form", free, free_seconds)
                record(intent, "tight box", first_region, None)
        if progress is not None and ((ci + 1) % 10 == 0 or ci + 1 == len(cases)):
            progress(f"bench world: {ci + 1}/{len(cases)} cases ({time.time() - t0:.0f}s)")
    return {"rows": rows, "summary": summarize(rows, methods), "seconds": round(time.time() - t0, 1),
            "cases": len(cases), "seed": seed, "models": list(models), "methods": list(methods),
            "impossible": impossible, "unsupported": unsupported, "annotations": annotations}


METRICS = ("all_in", "contain", "exclude", "ratio_err", "iou", "framed")
FIELD_METRICS = ("iou_mean", "iou_max", "acc1/5", "acc1/10", "srcc", "pcc", "ms")  # the field's protocols


def summarize(rows: list[CaseResult], methods: tuple[str, ...] = (AUTO,)) -> list[dict[str, Any]]:
    """Mean metrics per (intent, ratio or not, method), then per text kind for the conditioned text crops."""
    groups: dict[tuple, list[CaseResult]] = {}
    for r in rows:
        groups.setdefault((r.intent, "ratio" if r.ratio else "free", "all", r.method), []).append(r)
        if r.intent == "text":
            groups.setdefault((r.intent, "ratio" if r.ratio else "free", r.kind, r.method), []).append(r)
    out = []
    for (intent, ratio, kind, method), rs in groups.items():
        row: dict[str, Any] = {"intent": intent, "ratio": ratio, "kind": kind, "method": method, "n": len(rs)}
        for m in METRICS + FIELD_METRICS:
            vals = np.array([x.metrics.get(m, np.nan) for x in rs], dtype=np.float64)
            vals = vals[~np.isnan(vals)]
            row[m] = (round(float(vals.mean()), 1 if m == "ms" else 3)) if len(vals) else None
        out.append(row)
    labels = [_label(m) for m in methods]
    order = {label: i for i, label in enumerate(labels)}
    order.update({"free-form": len(labels), "tight box": len(labels) + 1})
    kinds = {"all": 0, "attribute": 1, "size": 2, "count": 3, "group": 4, "relation": 5, "position": 6}
    out.sort(key=lambda r: (INTENTS.index(r["intent"]), r["ratio"] != "free", kinds.get(r["kind"], 9),
                            order.get(r["method"], 9)))
    return out


def format_table(summary: list[dict[str, Any]]) -> str:
    head = ["intent", "ratio", "kind", "method", "n"] + list(METRICS) + list(FIELD_METRICS)
    lines = [head]
    for r in summary:
        lines.append([str(r[h]) if h in ("intent", "ratio", "kind", "method", "n") else
                      ("-" if r.get(h) is None else f"{r[h]:.1f}" if h == "ms" else f"{r[h]:.3f}") for h in head])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def write_json(result: dict[str, Any], path: str | Path) -> None:
    data = {k: v for k, v in result.items() if k != "rows"}
    data["cases"] = [{"intent": r.intent, "kind": r.kind, "ratio": r.ratio, "method": r.method, "seed": r.seed,
                      "text": r.text, "box": r.box,
                      "metrics": {k: (None if np.isnan(v) else round(v, 4)) for k, v in r.metrics.items()}}
                     for r in result["rows"]]
    Path(path).write_text(json.dumps(data, indent=1))


__all__ = ["AUTO", "CaseResult", "FIELD_METRICS", "annotator_metrics", "crop_metrics", "format_table", "method_names",
           "ranking_metrics", "run_world_bench", "summarize", "write_json"]
