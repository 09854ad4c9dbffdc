"""Hand-crafted crop features that human croppers are known to care about, for every candidate at once.

Per image, a few maps are computed once on a small copy (`ctx.small`) and cached in the context:
saliency (spectral residual + colour contrast), centre-surround contrast, colourfulness, focus (local
sharpness), gradient energy (edges), skin tone, and head boxes (`intentcrop.propose.heads.find_faces`: the
CenterFace detector's faces grown to heads, or without its package OpenCV's frontal-face Haar cascade on a
192-px grey copy, ~5 ms; OpenCV 5 dropped the cascades, and then no face is ever found). Per candidate,
every feature is read from summed-area tables of those maps, vectorised over all candidates (no
Python loop over boxes), so scoring ~1000 candidates costs about as much as one map.

Each feature has a name and a phrase a photographer would use (`FEATURE_PHRASES`), so a scorer can
explain which of them made its winner win. Feature values are plain numbers in [0, 1]-ish ranges;
learned models standardise them themselves.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from intentcrop.core.context import CropContext

# name -> (phrase when the winner has MORE of it than the other candidates, phrase when LESS)
FEATURE_PHRASES: dict[str, tuple[str, str]] = {
    "area": ("keeps more of the scene", "crops in tighter"),
    "log_aspect_change": ("a wider frame than the original", "a taller frame than the original"),
    "margin_left": ("trims more from the left", "keeps the left side"),
    "margin_right": ("trims more from the right", "keeps the right side"),
    "margin_top": ("trims more from the top", "keeps the top"),
    "margin_bottom": ("trims more from the bottom", "keeps the bottom"),
    "aspect_change": ("reshapes the frame more", "keeps the original's proportions"),
    "offcentre_x": ("frame shifted off the image centre sideways", "frame centred left to right"),
    "offcentre_y": ("frame shifted off the image centre vertically", "frame centred top to bottom"),
    "saliency_kept": ("keeps the main subject whole", "leaves part of the subject out"),
    "peak_kept": ("keeps the most eye-catching spot", "leaves the most eye-catching spot out"),
    "saliency_density": ("fills the frame with the subject", "more empty space around the subject"),
    "saliency_outside": ("leaves eye-catching content outside", "leaves only dull content outside"),
    "lost_left": ("drops interesting content on the left", "trims only empty space on the left"),
    "lost_right": ("drops interesting content on the right", "trims only empty space on the right"),
    "lost_top": ("drops interesting content at the top", "trims only empty space at the top"),
    "lost_bottom": ("drops interesting content at the bottom", "trims only empty space at the bottom"),
    "focus_kept": ("keeps the sharp, in-focus area", "drops in-focus detail"),
    "focus_density": ("concentrates on the sharpest area", "includes more soft, out-of-focus area"),
    "edge_density": ("busier, more detailed frame", "calmer, simpler frame"),
    "border_edges": ("lines and objects cut at the border", "clean edges: no object cut at the border"),
    "border_edges_max": ("one border slices through detail", "every border runs through calm areas"),
    "edges_left": ("the left border cuts through detail", "a clean left border"),
    "edges_right": ("the right border cuts through detail", "a clean right border"),
    "edges_top": ("the top border cuts through detail", "a clean top border"),
    "edges_bottom": ("the bottom border cuts through detail", "a clean bottom border"),
    "border_saliency": ("the border cuts through the subject", "borders stay clear of the subject"),
    "border_saliency_max": ("one border cuts into the subject", "no border cuts into the subject"),
    "ring_saliency": ("salient detail crowds the frame's edges", "the subject sits away from the edges"),
    "subject_offset_x": ("subject off the centre sideways", "subject centred left to right"),
    "subject_offset_y": ("subject off the centre vertically", "subject centred top to bottom"),
    "subject_thirds": ("subject away from the rule-of-thirds points", "subject near a rule-of-thirds point"),
    "contrast_kept": ("keeps the regions that stand out from their surroundings", "drops regions that stand out"),
    "contrast_lost_sides": ("trims away standout detail at the sides", "trims only plain areas at the sides"),
    "contrast_lost_ends": ("trims away standout detail at the top or bottom", "trims only plain sky or ground"),
    "contrast_border": ("a border runs through standout detail", "borders run through plain areas"),
    "colour_kept": ("keeps the colourful parts", "leaves colourful parts out"),
    "colour_lost": ("trims away colourful parts", "trims only dull colours"),
    "skin_kept": ("keeps the people in the frame", "leaves people out"),
    "skin_border": ("cuts through a person at the border", "no person cut at the border"),
    "faces_kept": ("keeps every face", "leaves a face out"),
    "faces_cut": ("cuts through a face", "no face cut at the border"),
    "face_cut_depth": ("a border slices deep into a face", "every face kept whole"),
    "face_headroom": ("more room above the face", "less room above the face"),
    "face_offset_x": ("the face off the centre sideways", "the face centred left to right"),
    "face_size": ("the face fills more of the frame", "the face shown with more around it"),
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_PHRASES)

_EPS = 1e-9


@dataclass
class ImageMaps:
    """Per-image maps on the analysis grid, as summed-area tables, plus detected faces."""

    scale: float  # original pixels -> map pixels
    shape: tuple[int, int]  # (h, w) of the maps
    sal: np.ndarray  # summed-area tables, (h+1, w+1) float64
    peak: np.ndarray  # saliency squared: only the most salient spots count
    sal_x: np.ndarray  # first moments of saliency, for the subject's centre of mass inside a crop
    sal_y: np.ndarray
    focus: np.ndarray
    edges: np.ndarray
    skin: np.ndarray
    contrast: np.ndarray  # centre-surround colour contrast (Itti et al. 1998, on Lab)
    colour: np.ndarray  # colourfulness (chroma)
    faces: np.ndarray  # (F, 4) xyxy in map pixels


def summed_area(values: np.ndarray) -> np.ndarray:
    """(h+1, w+1) float64 table T with T[y, x] = sum of values[:y, :x] (OpenCV's integral: ~10x numpy's cumsum)."""
    return cv2.integral(np.ascontiguousarray(values, dtype=np.float32), sdepth=cv2.CV_64F)


def box_sums(table: np.ndarray, x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """Sums of the map over integer boxes [x1, x2) x [y1, y2) (clipped to the map), one per box."""
    h, w = table.shape[0] - 1, table.shape[1] - 1
    # np.minimum/np.maximum rather than np.clip: the same integers, without np.clip's per-call overhead (~40 us,
    # ~50 calls per scoring pass: a few ms per image).
    x1 = np.minimum(np.maximum(x1, 0), w)
    x2 = np.minimum(np.maximum(x2, 0), w)
    y1 = np.minimum(np.maximum(y1, 0), h)
    y2 = np.minimum(np.maximum(y2, 0), h)
    x2 = np.maximum(x2, x1)
    y2 = np.maximum(y2, y1)
    # One flat gather per corner (the same four table entries as table[y, x], about twice as fast).
    flat, stride = table.ravel(), w + 1
    r1, r2 = y1 * stride, y2 * stride
    return flat[r2 + x2] - flat[r1 + x2] - flat[r2 + x1] + flat[r1 + x1]


def map_pixels(maps: "ImageMaps", xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Boxes in original pixels -> integer (x1, y1, x2, y2) on the maps' grid, clipped to it."""
    h, w = maps.shape
    box = np.round(np.asarray(xyxy, dtype=np.float64).reshape(-1, 4) * maps.scale).astype(np.int64)
    return (np.minimum(np.maximum(box[:, 0], 0), w), np.minimum(np.maximum(box[:, 1], 0), h),
            np.minimum(np.maximum(box[:, 2], 0), w), np.minimum(np.maximum(box[:, 3], 0), h))


# -- per-image maps -------------------------------------------------------------------------------


def _normalise(m: np.ndarray) -> np.ndarray:
    m = m.astype(np.float32)
    lo, hi = float(m.min()), float(m.max())
    return (m - lo) / (hi - lo) if hi - lo > 1e-12 else np.zeros_like(m)


def spectral_residual(gray: np.ndarray, side: int = 64) -> np.ndarray:
    """Hou & Zhang (2007): what the log spectrum has beyond its local average marks the unexpected parts."""
    h, w = gray.shape
    s = side / max(h, w)
    small = cv2.resize(gray, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
    spectrum = np.fft.fft2(small)
    log_amp = np.log(np.abs(spectrum) + 1e-8)
    residual = log_amp - cv2.blur(log_amp.astype(np.float32), (3, 3))
    back = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    back = cv2.GaussianBlur(back.astype(np.float32), (0, 0), 2.5)
    return _normalise(cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR))


def lab_image(rgb: np.ndarray) -> np.ndarray:
    """The float Lab image of an RGB float image (0..1), as OpenCV converts it."""
    return cv2.cvtColor(rgb.astype(np.float32, copy=False), cv2.COLOR_RGB2Lab)


def colour_contrast(rgb: np.ndarray, lab: np.ndarray | None = None) -> np.ndarray:
    """Achanta et al. (2009) frequency-tuned saliency: distance of the smoothed Lab colour from the image mean.
    `lab`: the image's Lab (lab_image(rgb)) when the caller has it already."""
    lab = lab_image(rgb) if lab is None else lab
    smooth = cv2.GaussianBlur(lab, (0, 0), 1.5)
    dist = np.sqrt(((smooth - lab.reshape(-1, 3).mean(axis=0)) ** 2).sum(axis=2))
    return _normalise(dist)


def centre_surround(rgb: np.ndarray) -> np.ndarray:
    """Itti-style centre-surround contrast on Lab: fine-scale colour minus coarse-scale colour, two scales."""
    h, w = rgb.shape[:2]
    s = 64 / max(h, w)  # composition-scale contrast: a 64-px copy keeps the wide blurs cheap
    small = cv2.resize(rgb.astype(np.float32), (max(4, round(w * s)), max(4, round(h * s))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab)
    fine = cv2.GaussianBlur(lab, (0, 0), 1.0)
    out = np.zeros(lab.shape[:2], dtype=np.float32)
    for sigma in (64 / 16, 64 / 6):
        coarse = cv2.GaussianBlur(lab, (0, 0), sigma)
        out += np.sqrt(((fine - coarse) ** 2).sum(axis=2))
    return _normalise(cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR))


def chroma_map(rgb: np.ndarray, lab: np.ndarray | None = None) -> np.ndarray:
    """Colourfulness: the Lab chroma, smoothed."""
    lab = lab_image(rgb) if lab is None else lab
    return _normalise(cv2.GaussianBlur(np.sqrt(lab[..., 1] ** 2 + lab[..., 2] ** 2), (0, 0), 1.5))


def skin_map(rgb: np.ndarray) -> np.ndarray:
    """Skin-tone likelihood from the classic YCrCb box (Chai & Ngan 1999), smoothed: a cheap people cue."""
    ycrcb = cv2.cvtColor((rgb * 255).astype(np.uint8), cv2.COLOR_RGB2YCrCb).astype(np.float32)
    y, cr, cb = ycrcb[..., 0], ycrcb[..., 1], ycrcb[..., 2]
    inside = (cr >= 135) & (cr <= 173) & (cb >= 77) & (cb <= 127) & (y >= 40)
    return cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.5)


_FACE_CASCADE_PATH: "str | None | bool" = None  # the cascade's file, looked up once (False: none installed)
_FACE_CASCADES = threading.local()  # one classifier per thread: detectMultiScale on a shared one is not
#                                     thread-safe (the service's worker threads got 500s and other images' faces)
FACE_SIDE = 192  # faces are searched on a grey copy this long: the cascade's 24-px window then finds every face
#                  at least 1/8 of the long side (the ones a crop must respect) in ~5 ms; 256 px costs 2-3x.
FACE_MIN_NEIGHBOURS = 4  # OpenCV's default (3) fires on textures; 4 keeps real faces on FCDB and the sample.


def _face_cascade():
    """OpenCV's frontal-face Haar cascade, or None when the installed OpenCV has none (OpenCV 5 dropped them).

    The profile cascade (both facings) was tried too: it costs three times the frontal one and found a face
    in only 4 more of the first 150 FCDB train images, so it is not used. OpenCV's HOG people detector was
    skipped for the same reason: its 64x128 window sees only people taller than half of a 256-px copy."""
    global _FACE_CASCADE_PATH
    if _FACE_CASCADE_PATH is None:
        found: "str | bool" = False
        data = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if hasattr(cv2, "CascadeClassifier") and data:
            path = os.path.join(data, "haarcascade_frontalface_default.xml")
            if os.path.exists(path):
                found = path
        _FACE_CASCADE_PATH = found
    if not _FACE_CASCADE_PATH:
        return None
    cascade = getattr(_FACE_CASCADES, "cascade", None)
    if cascade is None:
        cascade = cv2.CascadeClassifier(_FACE_CASCADE_PATH)
        cascade = False if cascade.empty() else cascade
        _FACE_CASCADES.cascade = cascade
    return cascade or None


def detect_faces(gray01: np.ndarray, side: int = FACE_SIDE) -> np.ndarray:
    """Face boxes (F, 4) xyxy in the pixels of `gray01` (grey, 0..1); empty without a cascade.

    The cascade's box spans brows to mouth; it is grown to the whole face (forehead to chin, 15% each way
    vertically, 5% sideways), which is what a crop must not slice."""
    cascade = _face_cascade()
    h, w = gray01.shape
    if cascade is None or min(h, w) < 24:
        return np.zeros((0, 4))
    s = min(1.0, side / max(h, w))
    small = gray01 if s == 1.0 else cv2.resize(gray01, (max(1, round(w * s)), max(1, round(h * s))),
                                               interpolation=cv2.INTER_AREA)
    found = cascade.detectMultiScale((np.clip(small, 0, 1) * 255).astype(np.uint8), scaleFactor=1.2,
                                     minNeighbors=FACE_MIN_NEIGHBOURS, minSize=(24, 24))
    if len(found) == 0:
        return np.zeros((0, 4))
    x, y, fw, fh = (np.asarray(found, dtype=np.float64).reshape(-1, 4) / s).T
    boxes = np.stack([x - 0.05 * fw, y - 0.15 * fh, x + 1.05 * fw, y + 1.15 * fh], axis=1)
    return np.clip(boxes, 0, [w, h, w, h])


def compute_maps(rgb: np.ndarray, scale: float, faces: np.ndarray | None = None) -> ImageMaps:
    """All per-image maps from a small RGB float image (0..1); `scale` maps original pixels to it. `faces`: the
    face (head) boxes in the small image's pixels, else the Haar cascade's on it."""
    gray = cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    lab = lab_image(rgb)  # one conversion for the colour contrast and the chroma maps
    sal = _normalise(0.5 * spectral_residual(gray) + 0.5 * colour_contrast(rgb, lab))
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    edges = cv2.GaussianBlur(np.sqrt(gx * gx + gy * gy), (0, 0), 1.0)
    focus = _normalise(cv2.GaussianBlur(np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3)), (0, 0), 4.0))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return ImageMaps(
        scale=scale,
        shape=(h, w),
        sal=summed_area(sal),
        peak=summed_area(sal * sal),
        sal_x=summed_area(sal * (xs + 0.5)),
        sal_y=summed_area(sal * (ys + 0.5)),
        focus=summed_area(focus),
        edges=summed_area(edges),
        skin=summed_area(skin_map(rgb)),
        contrast=summed_area(centre_surround(rgb)),
        colour=summed_area(chroma_map(rgb, lab)),
        faces=detect_faces(gray) if faces is None else np.asarray(faces, dtype=np.float64).reshape(-1, 4),
    )


def image_maps(ctx: CropContext, side: int | None = None) -> ImageMaps:
    """The maps for `ctx`'s image (on a copy `side` long: ctx.options.analysis_side unless given), computed
    once per context."""
    side = ctx.options.analysis_side if side is None else side

    def compute() -> ImageMaps:
        from intentcrop.propose.heads import find_faces  # the heads the crops are held to (CenterFace or Haar)

        rgb, scale = ctx.small(side)
        return compute_maps(rgb, scale, faces=find_faces(ctx).heads * scale)

    o = ctx.options
    return ctx.cached(f"score.features.maps:{side}:{o.face_detector}:{o.face_detect_side}:{o.face_min_score}", compute)


# -- per-candidate features -----------------------------------------------------------------------

_THIRDS = np.array([[1 / 3, 1 / 3], [2 / 3, 1 / 3], [1 / 3, 2 / 3], [2 / 3, 2 / 3]])


def candidate_features(maps: ImageMaps, xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N, len(FEATURE_NAMES)) features for boxes `xyxy` (original pixels) of a width x height image."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    h, w = maps.shape
    x1, y1, x2, y2 = map_pixels(maps, xyxy)
    x1, y1 = np.minimum(x1, w - 1), np.minimum(y1, h - 1)  # every crop covers at least one map pixel
    x2, y2 = np.clip(x2, x1 + 1, w), np.clip(y2, y1 + 1, h)
    bw, bh = (x2 - x1).astype(np.float64), (y2 - y1).astype(np.float64)
    inner_area = bw * bh
    total_area = float(w * h)

    def inside(table: np.ndarray) -> np.ndarray:
        return box_sums(table, x1, y1, x2, y2)

    def total(table: np.ndarray) -> float:
        return float(table[-1, -1])

    f: dict[str, np.ndarray] = {}
    # Geometry, in the original image's proportions.
    cw, ch = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    f["area"] = cw * ch / (width * height)
    f["log_aspect_change"] = np.log(np.maximum(cw, 1) / np.maximum(ch, 1) / (width / height))
    f["margin_left"] = xyxy[:, 0] / width
    f["margin_right"] = (width - xyxy[:, 2]) / width
    f["margin_top"] = xyxy[:, 1] / height
    f["margin_bottom"] = (height - xyxy[:, 3]) / height
    f["aspect_change"] = np.abs(f["log_aspect_change"])
    f["offcentre_x"] = np.abs(f["margin_left"] - f["margin_right"])
    f["offcentre_y"] = np.abs(f["margin_top"] - f["margin_bottom"])

    # Content preservation: how much of the salient / sharp content stays, and how dense it is inside.
    sal_in, sal_all = inside(maps.sal), total(maps.sal) + _EPS
    mean_sal = sal_all / total_area
    f["saliency_kept"] = sal_in / sal_all
    f["peak_kept"] = inside(maps.peak) / (total(maps.peak) + _EPS)
    # Share of the saliency lost in the strip cut away on each side (spanning the crop's other extent).
    f["lost_left"] = box_sums(maps.sal, np.zeros_like(x1), y1, x1, y2) / sal_all
    f["lost_right"] = box_sums(maps.sal, x2, y1, np.full_like(x2, w), y2) / sal_all
    f["lost_top"] = box_sums(maps.sal, x1, np.zeros_like(y1), x2, y1) / sal_all
    f["lost_bottom"] = box_sums(maps.sal, x1, y2, x2, np.full_like(y2, h)) / sal_all
    f["saliency_density"] = (sal_in / inner_area) / mean_sal
    outer_area = np.maximum(total_area - inner_area, 1.0)
    f["saliency_outside"] = np.where(total_area - inner_area >= 1, (sal_all - sal_in) / outer_area / mean_sal, 0.0)
    foc_in, foc_all = inside(maps.focus), total(maps.focus) + _EPS
    f["focus_kept"] = foc_in / foc_all
    f["focus_density"] = (foc_in / inner_area) / (foc_all / total_area)
    edge_all = total(maps.edges) + _EPS
    mean_edge = edge_all / total_area
    f["edge_density"] = (inside(maps.edges) / inner_area) / mean_edge

    # Boundary simplicity: energy in a thin band across each of the four borders.
    # A side left at the image border cuts nothing new: the photographer's own edge counts as an average
    # one (1.0, the image mean), so keeping a border is neither rewarded nor punished by these terms.
    sides, at_image_edge = border_bands(maps, x1, y1, x2, y2)
    ones = ones_table(h, w)
    edge_bands, sal_bands, skin_bands = [], [], []
    for (bx1, by1, bx2, by2), on_edge in zip(sides, at_image_edge):
        area = np.maximum(box_sums(ones, bx1, by1, bx2, by2), 1.0)
        edge_bands.append(np.where(on_edge, 1.0, box_sums(maps.edges, bx1, by1, bx2, by2) / area / mean_edge))
        sal_bands.append(np.where(on_edge, 1.0, box_sums(maps.sal, bx1, by1, bx2, by2) / area / mean_sal))
        skin_bands.append(np.where(on_edge, 0.0, box_sums(maps.skin, bx1, by1, bx2, by2) / area))
    edge_bands, sal_bands, skin_bands = np.stack(edge_bands), np.stack(sal_bands), np.stack(skin_bands)
    f["border_edges"] = edge_bands.mean(axis=0)
    f["border_edges_max"] = edge_bands.max(axis=0)
    f["edges_left"], f["edges_right"], f["edges_top"], f["edges_bottom"] = edge_bands
    f["border_saliency"] = sal_bands.mean(axis=0)
    f["border_saliency_max"] = sal_bands.max(axis=0)
    # Saliency in the outer ring (10% of the crop's size) against the crop's mean: crowded edges.
    rx, ry = np.maximum(1, np.round(0.1 * bw)).astype(np.int64), np.maximum(1, np.round(0.1 * bh)).astype(np.int64)
    core = box_sums(maps.sal, x1 + rx, y1 + ry, x2 - rx, y2 - ry)
    ring_area = np.maximum(inner_area - np.maximum(bw - 2 * rx, 0) * np.maximum(bh - 2 * ry, 0), 1.0)
    f["ring_saliency"] = ((sal_in - core) / ring_area) / (sal_in / inner_area + _EPS)

    # Composition: where the subject's centre of mass falls in the frame.
    cx = inside(maps.sal_x) / (sal_in + _EPS)
    cy = inside(maps.sal_y) / (sal_in + _EPS)
    u = np.clip((cx - x1) / bw, 0, 1)
    v = np.clip((cy - y1) / bh, 0, 1)
    f["subject_offset_x"] = np.abs(u - 0.5)
    f["subject_offset_y"] = np.abs(v - 0.5)
    f["subject_thirds"] = np.sqrt((u[:, None] - _THIRDS[None, :, 0]) ** 2 + (v[:, None] - _THIRDS[None, :, 1]) ** 2).min(axis=1)

    # People: skin tone kept and cut, faces kept and cut.
    skin_all = total(maps.skin)
    # Two more content cues, each read as kept share, share lost per pair of sides, and border crossing.
    for name, table in (("contrast", maps.contrast), ("colour", maps.colour)):
        all_ = total(table) + _EPS
        f[f"{name}_kept"] = inside(table) / all_
        lost_lr = (box_sums(table, np.zeros_like(x1), y1, x1, y2) + box_sums(table, x2, y1, np.full_like(x2, w), y2))
        lost_tb = (box_sums(table, x1, np.zeros_like(y1), x2, y1) + box_sums(table, x1, y2, x2, np.full_like(y2, h)))
        if name == "contrast":
            f["contrast_lost_sides"] = lost_lr / all_
            f["contrast_lost_ends"] = lost_tb / all_
            mean_c = all_ / total_area
            bands = [np.where(e, 1.0, box_sums(table, *b) / np.maximum(box_sums(ones, *b), 1.0) / mean_c)
                     for b, e in zip(sides, at_image_edge)]
            f["contrast_border"] = np.mean(bands, axis=0)
        else:
            f["colour_lost"] = (lost_lr + lost_tb) / all_
    f["skin_kept"] = inside(maps.skin) / skin_all if skin_all > 1.0 else np.ones(len(xyxy))
    f["skin_border"] = skin_bands.max(axis=0)
    f["faces_kept"], f["faces_cut"] = _face_features(maps.faces, x1, y1, x2, y2)
    f["face_cut_depth"], f["face_headroom"], f["face_offset_x"], f["face_size"] = _face_placement(
        maps.faces, x1, y1, x2, y2)
    return np.stack([f[name] for name in FEATURE_NAMES], axis=1)


_ONES_CACHE: dict[tuple[int, int], np.ndarray] = {}


def border_bands(maps: ImageMaps, x1, y1, x2, y2) -> tuple[tuple, tuple]:
    """The thin band (1.5 % of the map's long side each way) across each side of boxes given in map pixels,
    as ((bx1, by1, bx2, by2) per side: left, right, top, bottom), and whether each side lies on the image
    border."""
    h, w = maps.shape
    band = max(1, int(round(0.015 * max(h, w))))
    sides = (
        (x1 - band, y1, x1 + band, y2),  # left
        (x2 - band, y1, x2 + band, y2),  # right
        (x1, y1 - band, x2, y1 + band),  # top
        (x1, y2 - band, x2, y2 + band),  # bottom
    )
    return sides, (x1 <= 0, x2 >= w, y1 <= 0, y2 >= h)


def ones_table(h: int, w: int) -> np.ndarray:
    """Summed-area table of ones (pixel counts), cached per map size."""
    key = (h, w)
    table = _ONES_CACHE.get(key)  # read once: another thread may clear the cache between two lookups
    if table is None:
        if len(_ONES_CACHE) > 64:
            _ONES_CACHE.clear()
        table = _ONES_CACHE[key] = summed_area(np.ones((h, w)))
    return table


def _face_features(faces: np.ndarray, x1, y1, x2, y2) -> tuple[np.ndarray, np.ndarray]:
    """Share of face area kept, and how many faces are cut (partly in, partly out)."""
    n = len(x1)
    if len(faces) == 0:
        return np.ones(n), np.zeros(n)
    fx1, fy1, fx2, fy2 = (faces[None, :, i] for i in range(4))
    iw = np.clip(np.minimum(x2[:, None], fx2) - np.maximum(x1[:, None], fx1), 0, None)
    ih = np.clip(np.minimum(y2[:, None], fy2) - np.maximum(y1[:, None], fy1), 0, None)
    face_area = (fx2 - fx1) * (fy2 - fy1)
    kept = iw * ih / np.maximum(face_area, _EPS)  # (N, F)
    share = (kept * face_area).sum(axis=1) / face_area.sum()
    cut = ((kept > 0.05) & (kept < 0.95)).sum(axis=1).astype(np.float64)
    return share, cut


def _face_placement(faces: np.ndarray, x1, y1, x2, y2) -> tuple[np.ndarray, ...]:
    """How deep a border cuts into the worst-cut face (0 = all whole or all out, 0.5 = halved), and where
    the largest face sits in the crop: room above it (share of the crop's height), its sideways offset
    from the centre, and its share of the crop's area. Without faces all four are 0, a constant that
    does not change any ranking."""
    n = len(x1)
    if len(faces) == 0:
        return np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    fx1, fy1, fx2, fy2 = (faces[None, :, i] for i in range(4))
    iw = np.clip(np.minimum(x2[:, None], fx2) - np.maximum(x1[:, None], fx1), 0, None)
    ih = np.clip(np.minimum(y2[:, None], fy2) - np.maximum(y1[:, None], fy1), 0, None)
    face_area = (fx2 - fx1) * (fy2 - fy1)
    kept = iw * ih / np.maximum(face_area, _EPS)
    depth = np.minimum(kept, 1 - kept).max(axis=1)
    big = int(np.argmax(face_area[0]))
    bw, bh = np.maximum(x2 - x1, 1), np.maximum(y2 - y1, 1)
    headroom = np.clip((faces[big, 1] - y1) / bh, -1, 1)
    offset = np.abs(((faces[big, 0] + faces[big, 2]) / 2 - x1) / bw - 0.5)
    size = face_area[0, big] / (bw * bh)
    return depth, headroom, offset, size


def features_for(ctx: CropContext, xyxy: np.ndarray) -> np.ndarray:
    """Features of boxes `xyxy` on `ctx`'s image (maps computed once per context)."""
    return candidate_features(image_maps(ctx), xyxy, ctx.width, ctx.height)



def saliency_centroid(ctx: CropContext, xyxy: np.ndarray) -> np.ndarray:
    """(N, 2) saliency-weighted centres of mass of boxes `xyxy` (original pixels), in original pixels: the
    point a free-form crop is about (`CropResult.focal_point`). The weights are the cached saliency map squared
    (as the `peak` feature: the diffuse background would pull a plain centre of mass to the crop's centre), read
    back from its summed-area table; a crop with no saliency in it gets its own centre. Always inside the box."""
    maps = image_maps(ctx)
    sal = ctx.cached(f"score.features.saliency:{ctx.options.analysis_side}",
                     lambda: np.diff(np.diff(maps.sal, axis=0), axis=1))  # the map itself, (h, w)
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    h, w = maps.shape
    x1, y1, x2, y2 = map_pixels(maps, xyxy)
    x1, y1 = np.minimum(x1, w - 1), np.minimum(y1, h - 1)  # every crop covers at least one map pixel
    x2, y2 = np.clip(x2, x1 + 1, w), np.clip(y2, y1 + 1, h)
    out = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    for i in range(len(xyxy)):
        weights = np.maximum(sal[y1[i]:y2[i], x1[i]:x2[i]], 0.0) ** 2
        mass = float(weights.sum())
        if mass > _EPS:
            ys, xs = np.mgrid[y1[i]:y2[i], x1[i]:x2[i]]
            out[i] = (float((weights * (xs + 0.5)).sum()) / mass / maps.scale,
                      float((weights * (ys + 0.5)).sum()) / mass / maps.scale)
    return np.stack([np.clip(out[:, 0], xyxy[:, 0], xyxy[:, 2]), np.clip(out[:, 1], xyxy[:, 1], xyxy[:, 3])], axis=1)
