from intentcrop.core.box import Box, as_xyxy_array, box_area, containment, pairwise_iou
from intentcrop.core.candidates import Candidates
from intentcrop.core.intent import Intent, parse_ratio, parse_size, ratio_label, subject_to_box
from intentcrop.core.result import CropResult

__all__ = [
    "Box", "Candidates", "CropResult", "Intent",
    "as_xyxy_array", "box_area", "containment", "pairwise_iou",
    "parse_ratio", "parse_size", "ratio_label", "subject_to_box",
]
