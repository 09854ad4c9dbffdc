"""The cropping benchmarks' metrics, as the benchmarks define them.

overlap: FCDB/FLMS box agreement (IoU, boundary displacement, alpha-recall, multi-annotator reductions).
ranking: GAICD crop-ranking agreement (Acc_K/N, wAcc_K/N, SRCC, PCC).
"""

from intentcrop.metrics.overlap import (
    DEFAULT_ALPHA,
    alpha_recall,
    boundary_displacement,
    box_agreement,
    displacement_over_annotators,
    iou,
    iou_over_annotators,
)
from intentcrop.metrics.ranking import (
    GAICD_KS,
    GAICD_NS,
    accuracy_at,
    correlations,
    gaicd_image_metrics,
    gaicd_metrics,
    weighted_accuracy_at,
)

__all__ = [
    "DEFAULT_ALPHA", "GAICD_KS", "GAICD_NS", "accuracy_at", "alpha_recall", "boundary_displacement",
    "box_agreement", "correlations", "displacement_over_annotators", "gaicd_image_metrics", "gaicd_metrics",
    "iou", "iou_over_annotators", "weighted_accuracy_at",
]
