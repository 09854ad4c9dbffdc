"""Every tunable default in one place, with the reason for its value (smartcrop.js's `DEFAULTS` + options).

`DEFAULTS` is one frozen `Defaults` object. A pipeline config may carry `"options": {...}` and a single call
`options={...}` (CLI `--option KEY=VALUE`); each call merges them in that order, DEFAULTS <- pipeline options <-
call options, and puts the result on the context (`ctx.options`), which every stage reads at call time:

    intentcrop.crop(image, options={"grid_bins": 10, "grounding": {"tie_score": 0.9}})
    intentcrop.crop(image, options={"grounding.tie_score": 0.9})          # the same, one dotted key
    create_pipeline("default", options={"k": 5})                           # a pipeline's own layer

Nothing here is bound at import: a process-wide change replaces the object,
`intentcrop.defaults.DEFAULTS = DEFAULTS.merged({...})`; assigning an old module constant (`defaults.K = 5`)
is an error, since it would change nothing. The measurements behind the values: docs/experiments.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import sys
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from intentcrop.errors import InvalidIntentError

if TYPE_CHECKING:
    from intentcrop.ground.config import GroundingConfig


def _grounding_config() -> "GroundingConfig":
    # imported here: intentcrop.ground's package imports modules that read this one
    from intentcrop.ground.config import GroundingConfig

    return GroundingConfig()


@dataclass(frozen=True)
class Defaults:
    # -- intent
    k: int = 3  # crops returned per ratio: a best pick plus two alternatives is what a UI can show
    max_k: int = 50  # more crops per ratio than this are near-duplicates anyway, and each costs a selection pass
    # a text longer than this is not a description of one region but a document: refused before any parsing
    max_text_length: int = 1000
    min_scale: float = 0.5  # free-form: a crop keeps at least this share of each side, as FCDB/GAICD human crops do
    grounded_min_scale: float = 0.1  # with a subject, text or query image the region sets how small a crop may be
    # a model's box is a guess that often cuts its object by a few pixels: crops must hold it grown by this share of
    # its size per side (a subject is exact); keeping what was asked for comes first. Other sources than these two:
    grounded_safety_margin: float = 0.15
    text_safety_margin: float = 0.10  # refined text boxes are sharper: 0.10 keeps targets as 0.15 did, leaves more out
    query_image_safety_margin: float = 0.15  # query-image boxes lose targets at 0.10
    min_ratio: float = 0.1  # beyond 1:10 ...
    max_ratio: float = 10.0  # ... or 10:1 a "crop" is a strip: refuse rather than guess
    max_output_pixels: int = 100_000_000  # an exact output size larger than this is surely a typo
    # no crop side is shorter than this many pixels (or than the image side / the largest window of an asked
    # ratio, where those are shorter), whatever a model's box or a small max_scale says: a 1-px-high grounding box
    # must not become a 434x1 crop. With min_scale (a share of the side, always applied too) it is the crop floor.
    min_crop_side: int = 16
    # -- image input
    max_image_pixels: int = 178_956_970  # Pillow's own decompression-bomb limit (twice its warning level)
    analysis_side: int = 256  # saliency/edge maps on a copy this long: crops are judged at composition scale
    # -- proposals (GAIC, Zeng et al. 2019, for the grid)
    grid_bins: int = 12  # GAIC divides each side into 12 bins for grid anchors ...
    grid_max_offset_bins: int = 4  # ... lets each edge move at most this many bins in from the border ...
    grid_min_area: float = 0.5  # ... and keeps anchors with at least half the image's area
    grid_max_aspect_change: float = 2.0  # free-form anchors keep their aspect within 0.5x..2x of the image's
    ratio_scales: int = 10  # exact-ratio candidates: this many sizes between min_scale and the largest fit ...
    ratio_positions: int = 9  # ... and this many positions along the free axis for each size
    # -- search
    consensus_top: int = 20  # box voting over this many top candidates cancels the grid's steps and near-ties
    consensus_temperature: float = 1.0  # softmax(score / this): the quality model's scores are log-probabilities
    local_top: int = 8  # searcher "local": refine this many of the best candidates per ratio ...
    local_rounds: int = 3  # ... in this many rounds ...
    local_first_step: float = 0.04  # ... moving edges by this share of the side first, halving each round
    # -- selection
    diversity_iou: float = 0.85  # the k results differ: one overlapping a better one more than this is skipped
    # free-form: "keep" (no crop needed) also when the whole image scores within this of the best crop (the quality
    # model's log-odds). 0: only when the best crop is ~the whole image; the score gap tells FCDB's kept photos
    # from cropped ones too weakly (AUC 0.60) for a margin that would not say keep to most photos people crop
    keep_margin: float = 0.0
    # an edge of the refined crop this close to the image's edge (share of the side) moves onto it when the
    # ratio allows (e.g. 0.04). Off: on FCDB dev every tolerance tried lowered IoU (0.04: 0.689 -> 0.683 free-form,
    # 0.739 -> 0.731 ratio-aware): FCDB's human crops stop short of the edges too
    edge_snap: float = 0.0
    # -- offline crop quality (scorer "quality")
    face_cut_penalty: float = 8.0  # a border must not slice a face (a halved one: ~50x less likely); faces are too
    #                                rare in FCDB (3 %) for the model to learn it, so it is a fixed prior
    # -- faces and heads (intentcrop.models.faces, intentcrop.propose.heads): a crop holds a head whole, with room
    #    above it, or leaves it out; where no candidate of a ratio can, the least-cutting ones are kept
    face_detector: str = "auto"  # "centerface" (the packaged CNN; an error without it), "haar" (OpenCV's cascade:
    #                              misses turned and small faces), "auto" (CenterFace when installed, else Haar), "none"
    face_detect_side: int = 640  # faces are searched on a copy this long: ~60 ms, finds faces down to ~1/60 of it
    face_min_score: float = 0.5  # CenterFace's own threshold; 0.3 adds false faces on textures for few real ones
    head_constraint: bool = True  # False: heads only weigh in the score (face features), as before
    head_min_size: float = 0.04  # heads smaller than this share of the image's shorter side (crowds, distant
    #                              passers-by) do not bind: a crop of a crowd cannot avoid every one
    head_room: float = 0.15  # a kept head has this share of its height free above it (or the image's top edge)
    head_tolerance: float = 0.1  # a crop may take or leave this share of a head's area and still count as
    #                              leaving it out or holding it whole (the head box is grown from the face: rough)
    # -- framing and isolation (scorers "framing", "isolation")
    frame_min_fill: float = 0.4  # the grounded region fills at least this share of the crop (reads as the subject)
    frame_max_fill: float = 0.6  # ... and at most this (keeps context); any fill between is as good: isolation decides
    isolation_region_pad: float = 0.1  # salient content this close around the region is its own (blurred) edge
    isolation_lookalike_weight: float = 1.0  # a whole rejected look-alike costs as much as the region's salience
    isolation_cut_weight: float = 0.2  # a border through salient content costs: it saves targets whose model box
    #                                    stops short; more of it keeps whole neighbours in rather than cutting them
    # -- CLIP (intentcrop.score.clip, ground.verify)
    clip_batch_size: int = 16  # crops per forward pass in exact mode: larger gives no speed-up on a CPU
    clip_exact_max_candidates: int = 8  # mode "auto": exact encoding up to this many crops, pooled above
    clip_roi_samples: int = 4  # RoIAlign samples per side when pooling patch tokens (Mask R-CNN uses 2 per bin)
    clip_text_template: str = "a photo of {}"  # CLIP's own zero-shot template: plain text scores lower
    clip_pooling: str = "attention"  # pooled mode: the CLS token re-attends to the box's tokens ("roi_align")
    # -- cropper (Lee et al. 2024; the values and why: docs/methods.md and docs/experiments.md, Cropper)
    cropper_examples: int = 2  # S: in-context examples retrieved per query (the world VLM's context fits 2)
    cropper_crops_per_example: int = 1  # T: crops shown per example (the best one by the task's G)
    cropper_candidates: int = 4  # R: crops asked of the VLM per round (one request each, sampled)
    cropper_rounds: int = 2  # L: refinement rounds after the first proposals (0: in-context proposals only)
    cropper_selection: str = "best"  # "best" over all rounds or the "last" round's (the paper's Table 8)
    cropper_temperature: float = 0.7  # sampling temperature of all but the first request of a round
    cropper_max_tokens: int = 48  # an answer is one or a few tuples: ~30 characters each
    # -- text / query-image grounding: the fields of intentcrop.ground.config.GroundingConfig, with their reasons
    grounding: GroundingConfig = field(default_factory=_grounding_config)

    def __post_init__(self) -> None:
        for name in ("k", "analysis_side", "grid_bins", "ratio_scales", "ratio_positions", "consensus_top",
                     "local_top", "clip_batch_size", "clip_roi_samples", "max_output_pixels", "max_image_pixels",
                     "min_crop_side", "max_k", "max_text_length"):
            _check(name, getattr(self, name) >= 1, "at least 1")
        # counts that set how much work one call does: bounded, so options from a client cannot ask for hours
        for name, most in OPTION_MAXIMA.items():
            _check(name, getattr(self, name) <= most, f"at most {most}")
        for name in ("grounded_safety_margin", "text_safety_margin", "query_image_safety_margin",
                     "grid_max_offset_bins", "local_rounds", "local_first_step", "face_cut_penalty",
                     "isolation_region_pad", "isolation_lookalike_weight", "isolation_cut_weight",
                     "clip_exact_max_candidates", "keep_margin"):
            _check(name, getattr(self, name) >= 0, ">= 0")
        for name in ("min_scale", "grounded_min_scale", "grid_min_area", "diversity_iou"):
            _check(name, 0 < getattr(self, name) <= 1, "in (0, 1]")
        _check("edge_snap", 0 <= self.edge_snap < 0.25, "in [0, 0.25)")
        _check("grid_max_aspect_change", self.grid_max_aspect_change >= 1, ">= 1")
        _check("consensus_temperature", self.consensus_temperature > 0, "> 0")
        _check("min_ratio", 0 < self.min_ratio <= 1 <= self.max_ratio, "in (0, 1] with max_ratio >= 1")
        _check("frame_min_fill", 0 < self.frame_min_fill <= self.frame_max_fill <= 1,
               "in (0, frame_max_fill] with frame_max_fill <= 1")
        _check("clip_pooling", self.clip_pooling in ("attention", "roi_align"), "'attention' or 'roi_align'")
        _check("face_detector", self.face_detector in FACE_DETECTORS, " or ".join(map(repr, FACE_DETECTORS)))
        _check("face_detect_side", 32 <= self.face_detect_side <= 2048, "in 32..2048")
        _check("face_min_score", 0 < self.face_min_score < 1, "in (0, 1)")
        for name in ("head_min_size", "head_room", "head_tolerance"):
            _check(name, 0 <= getattr(self, name) <= 1, "in [0, 1]")
        for name in ("cropper_examples", "cropper_crops_per_example", "cropper_rounds", "cropper_temperature"):
            _check(name, getattr(self, name) >= 0, ">= 0")
        for name in ("cropper_candidates", "cropper_max_tokens"):
            _check(name, getattr(self, name) >= 1, "at least 1")
        _check("cropper_selection", self.cropper_selection in ("best", "last"), "'best' or 'last'")

    def merged(self, options: "Mapping[str, Any] | Defaults | None" = None) -> "Defaults":
        """These defaults with `options` replacing fields by name: a nested mapping (or dotted keys,
        "grounding.tie_score") merges into `grounding`. Unknown names and wrong types are an
        InvalidIntentError naming them."""
        if options is None:
            return self
        if isinstance(options, Defaults):
            return options
        if not isinstance(options, Mapping):
            raise InvalidIntentError(f"options must be a mapping of option names to values, got {_show(options)}")
        flat: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in options.items():
            head, _, rest = str(key).partition(".")
            if rest:
                nested.setdefault(head, {})[rest] = value
            else:
                flat[head] = value
        fields = {f.name: f for f in dataclasses.fields(self)}
        _unknown(set(flat) | set(nested), fields, "")
        changes: dict[str, Any] = {}
        for name, value in flat.items():
            if name == "grounding":
                if isinstance(value, type(self.grounding)):
                    changes[name] = value
                    continue
                if not isinstance(value, Mapping):
                    raise InvalidIntentError(f"option grounding must be a mapping of grounding options, got {_show(value)}")
                nested["grounding"] = {**{str(k): v for k, v in value.items()}, **nested.get("grounding", {})}
            else:
                changes[name] = _coerce(name, fields[name].type, value)
        for name, sub in nested.items():
            if name != "grounding":
                raise InvalidIntentError(f"option {name} has no sub-options (only grounding does): "
                                         f"{', '.join(f'{name}.{k}' for k in sub)}")
            base = changes.get("grounding", self.grounding)
            gfields = {f.name: f for f in dataclasses.fields(base)}
            _unknown(set(sub), gfields, "grounding.")
            try:
                changes["grounding"] = dataclasses.replace(
                    base, **{k: _coerce(f"grounding.{k}", gfields[k].type, v) for k, v in sub.items()})
            except ValueError as exc:
                if isinstance(exc, InvalidIntentError):
                    raise
                raise InvalidIntentError(f"grounding options: {exc}") from None
        return dataclasses.replace(self, **changes) if changes else self

    def to_dict(self) -> dict[str, Any]:
        """Every option by name (grounding as a nested dict), as `merged` takes them."""
        return dataclasses.asdict(self)


FACE_DETECTORS = ("auto", "centerface", "haar", "none")

OPTION_MAXIMA = {"k": 1000, "max_k": 1000, "analysis_side": 2048, "grid_bins": 48, "grid_max_offset_bins": 12,
                 "ratio_scales": 100, "ratio_positions": 100, "consensus_top": 1000, "local_top": 100,
                 "local_rounds": 20, "clip_batch_size": 1024, "clip_roi_samples": 16, "max_text_length": 100_000,
                 "cropper_examples": 32, "cropper_crops_per_example": 16, "cropper_candidates": 16,
                 "cropper_rounds": 10, "cropper_max_tokens": 2048}


def _check(name: str, ok: bool, need: str) -> None:
    if not ok:
        raise InvalidIntentError(f"option {name} must be {need}")


def _unknown(names: set[str], fields: Mapping[str, Any], prefix: str) -> None:
    unknown = sorted(names - set(fields))
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(fields), n=1)
        hints.append(f"{prefix}{name}" + (f" (did you mean {prefix}{close[0]}?)" if close else ""))
    where = "intentcrop.ground.config.GroundingConfig" if prefix else "intentcrop.defaults.Defaults"
    raise InvalidIntentError(f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; the options "
                             f"are the fields of {where}: {', '.join(prefix + n for n in fields)}")


_NUMBER_TYPES = (int, float)


def _coerce(name: str, type_name: Any, value: Any) -> Any:
    """`value` as the field's type (an int is a fine float; a list a fine tuple), else a clear error."""
    kind = str(type_name).replace("typing.", "")
    is_number = isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool) or _is_numpy_number(value)
    if kind == "int":
        if is_number and not isinstance(value, float) and _whole(value):
            return int(value)
        need = "an integer"
    elif kind == "float":
        if is_number and _as_float(value) is not None:
            return float(value)
        need = "a number"
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        need = "true or false"
    elif kind == "str":
        if isinstance(value, str):
            return value
        need = "a string"
    elif kind.startswith("tuple"):
        if isinstance(value, (list, tuple)) and all(
                isinstance(v, _NUMBER_TYPES) and not isinstance(v, bool) or _is_numpy_number(v) for v in value):
            return tuple(float(v) for v in value)
        need = "a list of numbers"
    else:  # a type this check does not know: let the dataclass decide
        return value
    raise InvalidIntentError(f"option {name} must be {need}, got {_show(value)}")


def _show(value: Any) -> str:
    """repr(value) for a message; an int of more than 4300 digits (or a list holding one) has none."""
    try:
        return repr(value)
    except ValueError:
        return f"<{type(value).__name__}>"


def _as_float(value: Any) -> float | None:
    """float(value), or None for an int too large for a float (10**400: OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return None


def _whole(value: Any) -> bool:
    """Whether a number is a whole one a float can hold (the pipeline computes with them: 10**400 is no option
    value), a finite integral numpy float; not inf/nan."""
    number = _as_float(value)
    if isinstance(value, int) or type(value).__module__ == "numpy" and "int" in type(value).__name__:
        return number is not None
    return number is not None and math.isfinite(number) and number == int(number)


def _is_numpy_number(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, (numpy.integer, numpy.floating))


# The other constants this module had, and the option that replaced each (for the error naming it).
_RENAMED = {
    "K": "k", "MIN_SCALE": "min_scale", "GROUNDED_MIN_SCALE": "grounded_min_scale",
    "GROUNDED_SAFETY_MARGIN": "grounded_safety_margin",
    "GROUNDED_SAFETY_MARGINS": "text_safety_margin / query_image_safety_margin", "MIN_RATIO": "min_ratio",
    "MAX_RATIO": "max_ratio", "MAX_OUTPUT_PIXELS": "max_output_pixels", "MAX_IMAGE_PIXELS": "max_image_pixels",
    "ANALYSIS_SIDE": "analysis_side", "GRID_BINS": "grid_bins", "GRID_MAX_OFFSET_BINS": "grid_max_offset_bins",
    "GRID_MIN_AREA": "grid_min_area", "GRID_MAX_ASPECT_CHANGE": "grid_max_aspect_change",
    "RATIO_SCALES": "ratio_scales", "RATIO_POSITIONS": "ratio_positions", "DIVERSITY_IOU": "diversity_iou",
    "CONSENSUS_TOP": "consensus_top", "CONSENSUS_TEMPERATURE": "consensus_temperature",
    "FACE_CUT_PENALTY": "face_cut_penalty", "FRAME_MIN_FILL": "frame_min_fill", "FRAME_MAX_FILL": "frame_max_fill",
    "ISOLATION_REGION_PAD": "isolation_region_pad", "ISOLATION_LOOKALIKE_WEIGHT": "isolation_lookalike_weight",
    "ISOLATION_CUT_WEIGHT": "isolation_cut_weight",
    "GROUND_MAX_PHRASES": "grounding.max_phrases", "GROUND_PER_QUERY": "grounding.per_query",
    "GROUND_MIN_SCORE": "grounding.min_score", "GROUND_MIN_RELATIVE_SCORE": "grounding.min_relative_score",
    "GROUND_MIN_RELATIVE_AREA": "grounding.min_relative_area", "GROUND_TIE_SCORE": "grounding.tie_score",
    "GROUND_SAME_THING_IOU": "grounding.same_thing_iou",
    "GROUND_RELATION_MIN_SCORE": "grounding.relation_min_score",
    "GROUND_VERIFY_CANDIDATES": "grounding.verify_candidates", "GROUND_VERIFY_WEIGHT": "grounding.verify_weight",
    "GROUND_VERIFY_MARGIN": "grounding.verify_margin", "GROUND_REFINE_WINDOWS": "grounding.refine_windows",
    "GROUND_REFINE_MAX_PATCHES": "grounding.refine_max_patches", "GROUND_REFINE_MIN_IOU": "grounding.refine_min_iou",
    "GROUND_REFINE_BATCH": "grounding.refine_batch", "GROUND_RECHECK_MIN_RELATIVE": "grounding.recheck_min_relative",
    "GROUND_RECHECK_TIE_SCORE": "grounding.recheck_tie_score",
    "CLIP_BATCH_SIZE": "clip_batch_size", "CLIP_EXACT_MAX_CANDIDATES": "clip_exact_max_candidates",
    "CLIP_ROI_SAMPLES": "clip_roi_samples", "CLIP_TEXT_TEMPLATE": "clip_text_template", "CLIP_POOLING": "clip_pooling",
}


def _current() -> Defaults:
    """DEFAULTS, built on first use: its GroundingConfig comes from intentcrop.ground, whose modules import this
    one, so it cannot be built while this module loads."""
    current = globals().get("DEFAULTS")
    if current is None:
        built = Defaults()  # importing intentcrop.ground may come back here once; both builds are equal
        current = globals().setdefault("DEFAULTS", built)
    return current


def __getattr__(name: str) -> Any:
    if name == "DEFAULTS":
        return _current()
    if name in _RENAMED:
        raise AttributeError(f"intentcrop.defaults.{name} is now the option {_RENAMED[name]!r}: read "
                             f"DEFAULTS.{_RENAMED[name].split(' ')[0]} or ctx.options, pass options={{...}} to override")
    raise AttributeError(f"module 'intentcrop.defaults' has no attribute {name!r}")


class _DefaultsModule(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _RENAMED:
            raise AttributeError(
                f"assigning intentcrop.defaults.{name} would change nothing: pass options={{...}} per call, a "
                "pipeline config's 'options', or replace intentcrop.defaults.DEFAULTS = DEFAULTS.merged({...})")
        if name == "DEFAULTS" and not isinstance(value, Defaults):
            raise TypeError(f"intentcrop.defaults.DEFAULTS must be a Defaults, got {type(value).__name__}")
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _DefaultsModule

if TYPE_CHECKING:
    DEFAULTS: Defaults
