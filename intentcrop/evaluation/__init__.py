"""Benchmark runners: free-form crops against human crops (FCDB) and crop ranking against MOS (GAICD)."""

from intentcrop.evaluation.croppers import (
    CROPPERS,
    CenterCropper,
    Cropper,
    IntentCropCropper,
    PipelineRanker,
    SmartcropCropper,
    WholeImageCropper,
    make_cropper,
    make_ranker,
)
from intentcrop.evaluation.fcdb import (
    EvaluationError,
    FCDBReport,
    PredictionWriter,
    evaluate_fcdb,
    evaluate_fcdb_methods,
)
from intentcrop.evaluation.gaicd import evaluate_gaicd, pipeline_scorer

__all__ = [
    "CROPPERS", "CenterCropper", "Cropper", "EvaluationError", "FCDBReport", "IntentCropCropper", "PipelineRanker",
    "PredictionWriter",
    "SmartcropCropper", "WholeImageCropper", "evaluate_fcdb", "evaluate_fcdb_methods", "evaluate_gaicd",
    "make_cropper", "make_ranker", "pipeline_scorer",
]
