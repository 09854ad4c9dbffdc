"""GAICD-style crop-ranking data: `ROOT/annotations.jsonl` beside `ROOT/images/`.

Rows are {"filename", "width", "height", "crops_xyxy": [[x1, y1, x2, y2], ...], "mos": [...]}, plus
optional "split" and "text" (a description of the image, as ClipCrop's authors wrote it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from intentcrop.core.box import Box
from intentcrop.datasets.base import DatasetError, check_stored_size, read_jsonl, require_dir, require_file

ANNOTATIONS_FILE = "annotations.jsonl"
_FIELDS = ("filename", "width", "height", "crops_xyxy", "mos")


@dataclass(frozen=True, eq=False)
class GAICDSample:
    filename: str
    image_path: Path
    width: int
    height: int
    crops_xyxy: np.ndarray  # (N, 4) candidate crops in image pixels
    mos: np.ndarray  # (N,) mean opinion score of each crop, 1..5
    split: str | None = None
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def crops(self) -> list[Box]:
        return [Box.from_xyxy(row) for row in self.crops_xyxy]

    def check_size(self) -> None:
        check_stored_size(self.image_path, self.width, self.height)


class GAICDDataset:
    def __init__(self, root: Path, samples: list[GAICDSample]) -> None:
        self.root, self.samples = root, samples

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[GAICDSample]:
        return iter(self.samples)

    def __getitem__(self, index: int) -> GAICDSample:
        return self.samples[index]

    def head(self, limit: int | None) -> "GAICDDataset":
        return GAICDDataset(self.root, self.samples if limit is None else self.samples[:limit])

    def check_sizes(self) -> None:
        for sample in self.samples:
            sample.check_size()

    def __repr__(self) -> str:
        return f"GAICDDataset(root={str(self.root)!r}, n={len(self)})"


def load_gaicd(root: "str | Path", split: str | None = None, *, check_sizes: bool = False) -> GAICDDataset:
    """Read `root/annotations.jsonl`; keep only rows whose "split" equals `split` when one is given."""
    root = require_dir(root, "GAICD dataset")
    annotations = require_file(root / ANNOTATIONS_FILE, "GAICD annotations file")
    images = require_dir(root / "images", "GAICD images")
    samples, splits_seen = [], set()
    for line_no, row in read_jsonl(annotations, _FIELDS):
        where = f"{annotations}:{line_no}"
        splits_seen.add(row.get("split"))
        if split is not None and row.get("split") != split:
            continue
        crops = np.asarray(row["crops_xyxy"], dtype=np.float64)
        mos = np.asarray(row["mos"], dtype=np.float64)
        if crops.ndim != 2 or crops.shape[1] != 4:
            raise DatasetError(f"{where}: crops_xyxy must be a list of [x1, y1, x2, y2]")
        if mos.shape != (len(crops),):
            raise DatasetError(f"{where}: {len(crops)} crops but {mos.size} MOS values")
        if np.any(crops[:, 2] < crops[:, 0]) or np.any(crops[:, 3] < crops[:, 1]):
            raise DatasetError(f"{where}: a crop has x2 < x1 or y2 < y1")
        extra = {k: v for k, v in row.items() if k not in _FIELDS + ("split", "text")}
        samples.append(GAICDSample(str(row["filename"]), images / str(row["filename"]), int(row["width"]),
                                   int(row["height"]), crops, mos, row.get("split"), row.get("text"), extra))
    if split is not None and not samples:
        known = ", ".join(sorted(str(s) for s in splits_seen))
        raise DatasetError(f"split {split!r} has no rows in {annotations} (splits there: {known})")
    dataset = GAICDDataset(root, samples)
    if check_sizes:
        dataset.check_sizes()
    return dataset
