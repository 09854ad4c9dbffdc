"""Every tunable default in one place, with the reason for its value (as smartcrop.js does).

Stages read these at call time, so a user may override one by assigning to it, or pass the
corresponding argument to `intentcrop.crop`.
"""

# -- intent ------------------------------------------------------------------------------------
K = 3  # crops returned by default: a best pick plus two alternatives is what a UI can show.
MIN_SCALE = 0.5  # free-form: a crop's side is at least this share of the image's side: FCDB/GAICD human
#                   crops keep more than half of each side in almost all cases.
GROUNDED_MIN_SCALE = 0.1  # with a subject, text or query image the region sets how small a crop may be (it must
#                           still contain it); 0.5 would force a small subject into a mostly-background crop.
GROUNDED_SAFETY_MARGIN = 0.15  # a model's box is a guess that often cuts its object by a few pixels: candidate crops
#   must hold it grown by this share of its size per side (inside the image). A subject is exact. World benchmark,
#   seeds 1 and 2 (300 scenes each, attribute texts without | with a ratio, all-in / exclusion), before zoom-in
#   refinement (GROUND_REFINE_WINDOWS): 0.05 0.891 / 0.896 | 0.916 / 0.883 and 0.885 / 0.882 | 0.923 / 0.870; 0.10
#   0.933 / 0.891 | 0.950 / 0.867 and 0.923 / 0.875 | 0.933 / 0.868; 0.15 0.958 / 0.879 | 0.958 / 0.856 and 0.952 /
#   0.867 | 0.933 / 0.853. Keeping what was asked for comes first. A grounding source missing below uses this.
GROUNDED_SAFETY_MARGINS = {"text": 0.10, "query_image": 0.15}  # ... per source, with refinement on. Refined text boxes
#   are sharper, so 0.10 holds the target as often as 0.15 did and leaves more out (same benchmark: 0.10 0.950 / 0.895
#   | 0.950 / 0.872 and 0.962 / 0.877 | 0.942 / 0.856; 0.125 0.950 / 0.888 | 0.958 / 0.864 and 0.962 / 0.868 | 0.942
#   / 0.852). Query images lose targets at 0.10 (all-in 0.924 -> 0.908 and 0.942 -> 0.875 on seeds 1 and 2, without
#   a ratio), so they keep 0.15.
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

# -- vision-language models (intentcrop.models, intentcrop.ground, intentcrop.score.clip) ------------
GROUND_MAX_PHRASES = 6  # noun phrases queried besides the full text: more adds text-encoder time, not recall.
GROUND_MIN_SCORE = 0.05  # OWL-ViT match probability below which nothing is grounded (its own demos use ~0.1;
#                           lower because a crop region tolerates a loose match better than a detector does).
GROUND_MIN_RELATIVE_SCORE = 0.15  # a match is kept only if it scores at least this share of the best match ...
GROUND_MIN_RELATIVE_AREA = 0.1  # ... and is at least this share of the best box's area (ClipCrop drops tiny ones),
#   and then only if the text names it (each phrase's best, "three dogs"' best three), it ties with the best or it
#   outlines a kept thing again (ground.fusion). World benchmark, tuning seed 1, attribute texts without a ratio,
#   all-in / exclusion: ClipCrop's rule (also keep any match within one best-box diagonal) 0.93 / 0.82; named and
#   ties only 0.90 / 0.91 (the second outlines guarded against boxes that cut the target); all three 0.95 / 0.86.
GROUND_TIE_SCORE = 0.8  # ... a match scoring this share of the best is as likely: keep both rather than guess (same
#   benchmark: off 0.93 / 0.90, 0.8 0.95 / 0.86, 0.7 0.98 / 0.83; groups of two 0.91 -> 0.95 all-in at 0.8).
#   Re-checked with the fill range and border cuts below and isolation 2 on seeds 1 and 2 (300 scenes each,
#   attribute texts without a ratio): 0.8 0.924 / 0.884 and 0.913 / 0.865, 0.9 0.916 / 0.904 and 0.885 / 0.878,
#   off 0.916 / 0.914 and 0.865 / 0.886 -- a tie is often a look-alike, but when it is the target, leaving it out
#   fails the user outright.
GROUND_SAME_THING_IOU = 0.3  # ... a match overlapping a kept box by this IoU outlines the same thing (NMS at 0.5
#   already merged closer ones); a second thing beside it overlaps far less.
GROUND_RELATION_MIN_SCORE = 0.01  # "the red circle left of the blue square" (or "... on the left", where
#   GROUND_MIN_RELATIVE_SCORE of the best also applies): a subject match this likely may be the one the relation
#   picks (while the best reaches GROUND_MIN_SCORE). OWL-ViT often scores the second of two twins far below the
#   first; the relation is what tells them apart.
GROUND_PER_QUERY = 3  # boxes kept per query phrase ("three dogs" is several boxes), after NMS at 0.5 IoU.
GROUND_VERIFY_CANDIDATES = 8  # with a verifier (pipeline "vlm"): candidate boxes per query phrase CLIP re-scores.
GROUND_VERIFY_WEIGHT = 1.0  # how much CLIP's opinion counts against OWL-ViT's: p * exp(weight * logit_scale * (sim -
#   max sim)) (ground.verify). Same benchmark before the fusion rules above, attribute all-in / exclusion: no
#   verifier 0.73 / 0.65, weight 0.5 0.93 / 0.80, 1 0.93 / 0.82, 2 0.90 / 0.82, 3 0.90 / 0.83 (query images: 0.85,
#   0.83, 0.80 all-in at 0.5, 1, 3).
GROUND_VERIFY_MARGIN = 0.3  # CLIP sees each candidate grown by this share of its size on every side (context helps).
GROUND_REFINE_WINDOWS = (0.25, 0.5)  # zoom-in refinement (ground.refine): a small kept box is re-detected in windows
#   around it grown by these shares of its size, and the union of the re-detections replaces it (() turns it off).
#   The world's OWL-ViT, seed 1, attribute texts, its best box: mean IoU with the true box 0.755 -> 0.835 (one window
#   at 0.35), held whole with a 15 % margin 0.899 -> 0.941 (union of three windows). Pipeline, seeds 1 and 2 (300
#   scenes each, attribute texts without | with a ratio, all-in / exclusion; 10 % margin as above): none 0.933 /
#   0.891 | 0.950 / 0.867 and 0.923 / 0.875 | 0.933 / 0.868; these two windows 0.950 / 0.895 | 0.950 / 0.872 and
#   0.962 / 0.877 | 0.942 / 0.856 (all texts 0.920 / 0.740 -> 0.922 / 0.751 and 0.880 / 0.727 -> 0.889 / 0.733
#   against the 15 % margin without refinement); three windows (0.25, 0.35, 0.5) the same within 0.008.
#   Windows twice the box or more lose the object (the model never saw it that large: IoU 0.65 at 1.0).
GROUND_REFINE_MAX_PATCHES = 6.0  # ... only boxes whose longer side spans fewer patches of the model's input grid than
#   this (a box's edges are good to about a patch): every world object (16-patch grid), objects under a quarter
#   of the image for OWL-ViT B/32 (24 patches), under a tenth for OWLv2 B/16 (60). Each window costs a forward pass.
GROUND_REFINE_MIN_IOU = 0.3  # ... a window's re-detection must overlap the box by this IoU: the same object, not a
#   neighbour that also fits the query (the same threshold as GROUND_SAME_THING_IOU).
GROUND_REFINE_BATCH = 8  # ... windows per forward pass (a batch of OWLv2's 960 px inputs takes ~0.5 GB each).
GROUND_RECHECK_MIN_RELATIVE = 0.7  # closer look between contenders (ground.refine.recheck_contenders): for a text
#   naming one thing or a query image, the things scoring at least this share of the best are each looked at again
#   in the refinement windows, and the closer look's probabilities replace the first look's scores. Measured on the
#   world's attribute texts (seeds 1, 2 tuning, 3 held out; target kept / target alone / a tie kept, of the cases):
#   first look 0.924 / 0.874 / 0.076, 0.981 / 0.922 / 0.058, 0.892 / 0.856 / 0.072.
GROUND_RECHECK_TIE_SCORE = 0.9  # ... contenders within this share of the best up close stay a tie (up close every
#   contender is likely, so probabilities are closer together than at the first look's GROUND_TIE_SCORE). With 0.7
#   and 0.9: 0.933 / 0.882 / 0.076, 0.990 / 0.961 / 0.029, 0.892 / 0.883 / 0.009. End to end (README, issue 5)
#   it raised exclusion on 7 of 8 seed/ratio runs at about the same all-in.
CLIP_BATCH_SIZE = 16  # crops per forward pass in exact mode: larger gives no speed-up on a CPU.
CLIP_EXACT_MAX_CANDIDATES = 8  # mode="auto": exact encoding up to this many crops, pooled (one pass) above.
CLIP_ROI_SAMPLES = 4  # RoIAlign samples per side when pooling patch tokens over a crop (Mask R-CNN uses 2 per bin).
CLIP_TEXT_TEMPLATE = "a photo of {}"  # CLIP's own zero-shot template: plain text scores lower for the same match.
VLM_WEIGHTS = {"content": 1.0, "quality": 0.3, "composition": 0.3, "aesthetics": 0.3, "area": 2.0,
               "isolation": 4.0}  # pipeline "vlm" (each scorer's total z-scored within the image, then weighted).
#   Every candidate already holds the grounded region, so the question is how much room to leave and where: the
#   framing/area term keeps the region's fill in a range, isolation (what else the crop holds, where its borders
#   run) sends the room to background and carries most weight, what was asked for (clip_text) comes next; crop
#   quality (the offline "default" scorer, which likes large crops), CLIP composition and aesthetic prompts break
#   ties. Chosen on the world benchmark's tuning seeds 1 and 2; the README reports seed 0. Area 0.3 -> 2.0 and
#   quality 0.5 -> 0.3 raised exclusion on attribute texts from 0.69 to 0.76 at equal all-in (seed 1). Isolation,
#   with the fill range and border cuts below and a 10 % safety margin (seeds 1 and 2, 300 scenes each, attribute
#   texts without a ratio, all-in / exclusion): 2 0.924 / 0.884 and 0.913 / 0.865, 3 0.933 / 0.889 and 0.913 /
#   0.872, 4 0.933 / 0.891 and 0.923 / 0.875, 6 0.941 / 0.895 and 0.913 / 0.879; the earlier defaults (isolation 1,
#   fill 0.4, no cuts) 0.933 / 0.855 and 0.894 / 0.846.
FRAME_MIN_FILL, FRAME_MAX_FILL = 0.4, 0.6  # "framing" scorer: the grounded region should fill this share of the crop
#   -- tight enough to read as the subject, loose enough to keep context. Any fill in the range is as good, so
#   isolation chooses where the room goes. Seed 1, 300 scenes, attribute texts, all-in / exclusion without | with a
#   ratio (measured with ties off, isolation 2, 10 % margin): fill 0.4 exactly 0.924 / 0.899 | 0.941 / 0.899,
#   0.4-0.6 0.916 / 0.914 | 0.941 / 0.905. Subjects (seed 1, 100 scenes, exclusion free | ratio): 0.744 | 0.763 ->
#   0.758 | 0.775.
ISOLATION_REGION_PAD = 0.1  # "isolation" scorer: salient content within this share of the region's size around it
#                             is the region's own edge (saliency maps are blurred), not something else in the crop.
ISOLATION_LOOKALIKE_WEIGHT = 1.0  # ... and a whole rejected look-alike inside the crop costs as much as foreign
#                                   salient content equal to the region's own.
ISOLATION_CUT_WEIGHT = 0.2  # ... and a border through content this many times as salient as the image's mean costs as
#   much as that foreign share. Same benchmark as the fill range: 0 0.908 / 0.918 | 0.899 / 0.911, 0.2 0.916 / 0.914 |
#   0.941 / 0.905, 0.5 0.933 / 0.902 | 0.941 / 0.877, 1.0 0.941 / 0.887 | 0.941 / 0.861 (0.5 with ties and isolation
#   4 on seeds 1 and 2: 0.941 / 0.873 and 0.904 / 0.848). It saves targets whose model box stops short of their edge;
#   more of it keeps whole neighbours in rather than cutting them. A subject is exact: there it is 0 (pipeline).
CLIP_POOLING = "attention"  # pooled mode: the CLS token re-attends to the box's tokens in the last layer (exact
#                             for the whole image); "roi_align" averages last-layer patch tokens instead.

# -- offline crop quality (intentcrop.score.features / heuristic / learned, intentcrop.search.consensus) --------
CONSENSUS_TOP = 20  # the best crop is the score-weighted mean of this many top candidates (box voting): it cancels
#                     the grid's 1/12 steps and near-tie noise (+2 IoU points in 5-fold CV on FCDB train) ...
CONSENSUS_TEMPERATURE = 1.0  # ... weighted by softmax(score / this): the listwise-trained model's scores are
#                              log-probabilities already, so 1 is its own calibration.
FACE_CUT_PENALTY = 8.0  # learned scorer's fixed prior: a border must not slice a face. Log-odds per unit of cut depth:
#                         a halved face (0.5) makes a crop ~50x less likely, a trimmed chin (~0.05) ~1.5x; 5-fold
#                         CV on FCDB train is unchanged by it (3% of images have a face), the sample portrait needs it.
SUBJECT_FRAMING_WEIGHT = 1.0  # pipeline "subject": weight of the framing term beside crop quality (both z-scored).
#   Quality alone keeps FCDB-sized crops around a small subject (world benchmark, tuning seed 1: 0.05 of other
#   objects left out); 1.0 makes the subject the picture's subject (0.60 left out), all-in unchanged at 1.0.
SUBJECT_ISOLATION_WEIGHT = 3.0  # pipeline "subject": weight of the isolation term (what else the crop holds). World
#   benchmark, tuning seed 1, 120 scenes: 0 -> 0.58 / 0.63 of other objects left out (free / with a ratio),
#   2 -> 0.75 / 0.79, 4 -> 0.79 / 0.83; all-in 1.0 throughout, framed 1.0 / 0.79 -> 0.77 at 4.
SUBJECT_CUT_WEIGHT = 0.0  # pipeline "subject": the isolation scorer's cut_weight. A user's subject is exact and every
#   candidate holds it, so a border can only cut a neighbour, and avoiding that keeps whole neighbours in (seed 1,
#   100 scenes, exclusion free | ratio: 0.2 0.758 | 0.775, 0 0.795 | 0.822; all-in 1.0 either way).
