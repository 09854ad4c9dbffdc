"""Example banks for Cropper's retrieval: images with their crops and scores, and an embedding of each image.

`intentcrop index build --data DIR --out BANK` writes BANK/ with
  embeddings.npy     (N, D) float32, unit rows          -- memory-mapped on load
  crops.npy          (M, 4) float32, pixels xyxy        -- every example's crops, example after example
  scores.npy         (M,)   float32                     -- each crop's score (MOS; 1.0 for a human crop)
  offsets.npy        (N+1,) int64                       -- example i's crops are rows offsets[i]:offsets[i+1]
  subject_centres.npy (N, 2) float32, pixels, NaN when the example has no subject mask
  meta.json          the embedder's name, the dataset kind, and per example: image path, size, text
Loading 10 k examples is opening five arrays memory-mapped and parsing one JSON file: well under a second.

Datasets: FCDB-style folders (SPLIT.jsonl + images/: one human crop per image, score 1.0), GAICD-style ones
(annotations.jsonl + images/: scored crops; an optional "text" and "subject_xyxy" per row, as world exports in
GAICD format write them), chosen by what the folder holds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
from PIL import Image

from intentcrop.datasets.base import DatasetError
from intentcrop.errors import IntentCropError

FORMAT_VERSION = 1
ARRAYS = ("embeddings", "crops", "scores", "offsets", "subject_centres")


class BankError(IntentCropError):
    """An example bank could not be built or read."""


@dataclass
class BankRecord:
    image_path: Path
    width: int
    height: int
    crops: np.ndarray  # (T, 4) pixels
    scores: np.ndarray  # (T,)
    text: str | None = None
    subject_centre: tuple[float, float] | None = None


@dataclass
class ExampleBank:
    root: Path
    embedder: str
    embeddings: np.ndarray
    crops: np.ndarray
    scores: np.ndarray
    offsets: np.ndarray
    subject_centres: np.ndarray
    images: list[str]
    sizes: np.ndarray  # (N, 2) width, height
    texts: list[str | None]
    kind: str

    def __len__(self) -> int:
        return len(self.images)

    def example_crops(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return np.asarray(self.crops[a:b], dtype=np.float64), np.asarray(self.scores[a:b], dtype=np.float64)

    def image(self, i: int) -> Image.Image:
        path = Path(self.images[i])
        if not path.is_absolute():
            path = self.root / path
        from intentcrop.io.image import load_image

        return load_image(path)


def dataset_records(data: "str | Path", split: str | None = None, limit: int | None = None) -> tuple[str, list[BankRecord]]:
    """('fcdb' | 'gaicd', records) for an FCDB- or GAICD-style folder."""
    root = Path(data)
    if not root.is_dir():
        raise BankError(f"--data {data}: not a folder")
    try:
        if (root / "annotations.jsonl").is_file():
            from intentcrop.datasets.gaicd import load_gaicd

            ds = load_gaicd(root, split)
            records = []
            for s in ds.head(limit):
                subject = s.extra.get("subject_xyxy")
                centre = None
                if isinstance(subject, (list, tuple)) and len(subject) == 4:
                    centre = ((float(subject[0]) + float(subject[2])) / 2, (float(subject[1]) + float(subject[3])) / 2)
                records.append(BankRecord(s.image_path, s.width, s.height, np.asarray(s.crops_xyxy, np.float32),
                                          np.asarray(s.mos, np.float32), s.text, centre))
            return "gaicd", records
        if any(root.glob("*.jsonl")):
            from intentcrop.datasets.fcdb import available_splits, load_fcdb

            splits = [split] if split else [s for s in ("train", "dev") if s in available_splits(root)] or \
                available_splits(root)[:1]
            records = []
            for sp in splits:
                for s in load_fcdb(root, sp):
                    records.append(BankRecord(s.image_path, s.width, s.height,
                                              np.asarray([s.crop.to_xyxy()], np.float32), np.ones(1, np.float32)))
            return "fcdb", records[:limit] if limit else records
    except DatasetError as exc:
        raise BankError(f"--data {data}: {exc}") from None
    raise BankError(f"--data {data}: neither annotations.jsonl (GAICD-style) nor SPLIT.jsonl files (FCDB-style)")


def build_bank(records: Iterable[BankRecord], out: "str | Path", embedder: Any, kind: str = "custom",
               batch: int = 32, log: Any = None) -> Path:
    """Embed every record's image and write the bank (see the module docstring) to `out`."""
    out = Path(out)
    records = list(records)
    if not records:
        raise BankError("no examples to index")
    out.mkdir(parents=True, exist_ok=True)
    embeddings = []
    t0 = time.perf_counter()
    for start in range(0, len(records), batch):
        chunk = records[start:start + batch]
        from intentcrop.io.image import load_image

        embeddings.append(embedder.embed_images([load_image(r.image_path) for r in chunk]))
        if log:
            log(f"embedded {start + len(chunk)}/{len(records)} ({time.perf_counter() - t0:.0f} s)")
    write_bank(out, np.concatenate(embeddings), records, embedder.name, kind)
    return out


def write_bank(out: Path, embeddings: np.ndarray, records: list[BankRecord], embedder: str, kind: str) -> None:
    counts = [len(r.crops) for r in records]
    arrays = {
        "embeddings": np.asarray(embeddings, np.float32),
        "crops": np.concatenate([np.asarray(r.crops, np.float32).reshape(-1, 4) for r in records]),
        "scores": np.concatenate([np.asarray(r.scores, np.float32).reshape(-1) for r in records]),
        "offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "subject_centres": np.array([r.subject_centre if r.subject_centre else (np.nan, np.nan) for r in records],
                                    np.float32).reshape(-1, 2),
    }
    for name, arr in arrays.items():
        np.save(out / f"{name}.npy", arr)
    meta = {"format": FORMAT_VERSION, "embedder": embedder, "kind": kind, "count": len(records),
            "dim": int(arrays["embeddings"].shape[1]),
            "images": [str(r.image_path) for r in records],
            "sizes": [[int(r.width), int(r.height)] for r in records],
            "texts": [r.text for r in records]}
    (out / "meta.json").write_text(json.dumps(meta))


def load_bank(path: "str | Path") -> ExampleBank:
    """Open a bank written by `build_bank`, its arrays memory-mapped."""
    root = Path(path)
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        raise BankError(f"example bank {path}: no meta.json (build one with `intentcrop index build --data DIR "
                        f"--out {path}`)")
    try:
        meta = json.loads(meta_path.read_text())
        arrays = {name: np.load(root / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
    except (OSError, ValueError) as exc:
        raise BankError(f"example bank {path}: cannot read it ({exc})") from None
    if meta.get("format") != FORMAT_VERSION:
        raise BankError(f"example bank {path}: format {meta.get('format')!r}, this version reads {FORMAT_VERSION}")
    n = int(meta["count"])
    if (arrays["embeddings"].shape[0] != n or arrays["offsets"].shape[0] != n + 1
            or arrays["subject_centres"].shape[0] != n or int(arrays["offsets"][-1]) != arrays["crops"].shape[0]
            or arrays["scores"].shape[0] != arrays["crops"].shape[0] or len(meta["images"]) != n):
        raise BankError(f"example bank {path}: its arrays disagree with meta.json (a partial write?); rebuild it")
    return ExampleBank(root, meta["embedder"], arrays["embeddings"], arrays["crops"], arrays["scores"],
                       arrays["offsets"], arrays["subject_centres"], meta["images"],
                       np.asarray(meta["sizes"], np.int64).reshape(-1, 2), meta["texts"], meta.get("kind", "custom"))


def iter_chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
