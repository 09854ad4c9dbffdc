"""Every tunable default in one place, with the reason for its value (as smartcrop.js does).

Stages read these at call time, so a user may override one by assigning to it, or pass the
corresponding argument to `intentcrop.crop`.
"""

# -- intent ------------------------------------------------------------------------------------
K = 3  # crops returned by default: a best pick plus two alternatives is what a UI can show.
MIN_SCALE = 0.5  # a crop's side is at least this share of the image's side: FCDB/GAICD human
#                   crops keep more than half of each side in almost all cases.
MIN_RATIO, MAX_RATIO = 1 / 10, 10.0  # beyond 10:1 a "crop" is a strip; refuse rather than guess.
MAX_OUTPUT_PIXELS = 100_000_000  # an exact --size larger than this is surely a typo.

# -- image input -------------------------------------------------------------------------------
MAX_IMAGE_PIXELS = 178_956_970  # Pillow's own decompression-bomb limit (2x its warning level).
ANALYSIS_SIDE = 256  # long side of the downscaled copy that saliency and edge maps are computed on:
#                      crops are judged at composition scale, not pixel scale, and it keeps a
#                      1024-px image under a few ms per map.

# -- proposals ---------------------------------------------------------------------------------
GRID_BINS = 12  # GAIC (Zeng et al.) divides each side into 12 bins for grid anchors ...
GRID_MAX_OFFSET_BINS = 4  # ... and lets each edge move at most this many bins in from the border.
GRID_MIN_AREA = 0.5  # ... keeping anchors with at least half the image's area (their constraint).
GRID_MAX_ASPECT_CHANGE = 2.0  # free-form anchors keep their aspect within 0.5x..2x of the image's.
RATIO_SCALES = 10  # exact-ratio candidates: this many sizes between min_scale and the largest fit,
RATIO_POSITIONS = 9  # and this many positions along the free axis for each size.
NMS_IOU = 0.98  # drop candidates that are near-duplicates of a better one before scoring.

# -- selection ---------------------------------------------------------------------------------
DIVERSITY_IOU = 0.85  # the k results differ: a result overlapping a better one more than this is skipped.
SUBJECT_MARGIN = 0.0  # least margin around a subject, as a share of its size (scorers choose more).
