"""Stage 3, propose: candidate crop boxes for one image and intent."""

from intentcrop.propose.geometry import (
    contains_mask,
    dedupe,
    grid_anchors,
    largest_ratio_window,
    ratio_window_size,
    ratio_windows,
    subject_windows,
)
from intentcrop.propose.proposer import GridProposer, Proposer
from intentcrop.propose import cropper as _cropper  # noqa: F401,E402 (registers "cropper")
from intentcrop.propose import clipcrop as _clipcrop  # noqa: F401,E402 (registers "clipcrop")

__all__ = [
    "GridProposer", "Proposer", "contains_mask", "dedupe", "grid_anchors", "largest_ratio_window",
    "ratio_window_size", "ratio_windows", "subject_windows",
]
