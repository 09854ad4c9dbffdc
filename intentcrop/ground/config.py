"""`GroundingConfig`: every tunable of text / query-image grounding in one frozen object.

The values are the defaults (why each has its value, with the measurements: docs/experiments.md). A pipeline
config and a single call override fields by name (`config.merged({"tie_score": 0.9})`); the grounder reads
the merged object at call time, so nothing is bound at import.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class GroundingConfig:
    # -- queries
    max_phrases: int = 6  # noun phrases queried besides the full text: more adds text-encoder time, not recall
    per_query: int = 3  # boxes kept per query phrase after NMS ("three dogs" is several boxes)
    # -- fusion (ground.decide / ground.fusion)
    min_score: float = 0.05  # match probability below which nothing is grounded (a crop tolerates loose matches)
    min_relative_score: float = 0.15  # a kept match scores at least this share of the best ...
    min_relative_area: float = 0.1  # ... and is at least this share of the best box's area (tiny boxes are parts)
    tie_score: float = 0.8  # a match this close to the best is as likely: keep both rather than guess
    same_thing_iou: float = 0.3  # a match overlapping a kept box this much outlines the same thing
    relation_min_score: float = 0.01  # a relation's or side's subject may be a match this likely (twins score apart)
    # -- CLIP verification (pipeline "vlm")
    verify_candidates: int = 8  # candidate boxes per phrase that CLIP re-scores
    verify_weight: float = 1.0  # how much CLIP's opinion counts against OWL-ViT's
    verify_margin: float = 0.3  # CLIP sees each candidate grown by this share of its size (context helps)
    # -- zoom-in refinement and the closer look between contenders (ground.refine)
    refine_windows: tuple[float, ...] = (0.25, 0.5)  # margins of the windows a small box is re-detected in; () = off
    refine_max_patches: float = 6.0  # only boxes spanning fewer patches of the model's grid than this
    refine_min_iou: float = 0.3  # a window's re-detection must overlap the box this much (same object)
    refine_batch: int = 8  # windows per forward pass
    recheck: bool = True  # decide between close contenders by a closer look (needs refine_windows)
    recheck_min_relative: float = 0.7  # contenders: things scoring at least this share of the best
    recheck_tie_score: float = 0.9  # up close, contenders within this share of the best stay a tie
    # -- confidence: was the intent found at all? (ground.confidence; pipeline.Pipeline.run)
    # Platt (a, b): confidence = sigmoid(a * logit(best match score) + b), fitted on world seeds 1-2 (869 groundings)
    calibration: tuple[float, ...] = (2.12, 1.91)
    # below it the crop is the free-form one, with a warning; 0 = never fall back. 0.025 (a best match score of
    # about 0.07): no world case of seeds 0-2 that was found is lost, 43% of absent texts fall back (seeds 1-2)
    min_confidence: float = 0.025

    def __post_init__(self) -> None:
        windows = tuple(float(m) for m in self.refine_windows)
        if any(m < 0 for m in windows):
            raise ValueError(f"refine_windows must be margins >= 0, got {windows}")
        object.__setattr__(self, "refine_windows", windows)
        for f in dataclasses.fields(self):  # a NaN threshold would silently keep or drop everything
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number, got {value}")
        # counts that set how much work one call does: bounded, so options from a client cannot ask for hours
        for name, most in {"max_phrases": 32, "per_query": 50, "verify_candidates": 64, "refine_batch": 64}.items():
            if not 1 <= getattr(self, name) <= most:
                raise ValueError(f"{name} must be between 1 and {most}, got {getattr(self, name)}")
        if len(windows) > 8:
            raise ValueError(f"refine_windows: at most 8 windows, got {len(windows)}")
        calibration = tuple(float(v) for v in self.calibration)
        if len(calibration) != 2 or not calibration[0] > 0:
            raise ValueError(f"calibration must be (a, b) with a > 0 (a monotone map), got {calibration}")
        object.__setattr__(self, "calibration", calibration)
        if not 0.0 <= float(self.min_confidence) <= 1.0:
            raise ValueError(f"min_confidence must lie in 0..1, got {self.min_confidence}")

    def merged(self, overrides: "Mapping[str, Any] | GroundingConfig | None" = None) -> "GroundingConfig":
        """This config with the given fields replaced; unknown names are an error naming them."""
        if overrides is None:
            return self
        if isinstance(overrides, GroundingConfig):
            return overrides
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown grounding option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **dict(overrides)) if overrides else self

    def fusion_args(self) -> dict[str, float]:
        """The keyword arguments of the fuse_* functions."""
        return dict(min_score=self.min_score, min_relative_score=self.min_relative_score,
                    min_relative_area=self.min_relative_area, tie_score=self.tie_score,
                    same_thing_iou=self.same_thing_iou)
