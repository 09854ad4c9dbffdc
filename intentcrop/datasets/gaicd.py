"""GAICD-style crop-ranking data: `ROOT/annotations.jsonl` beside `ROOT/images/`.

Rows are {"filename", "width", "height", "crops_xyxy": [[x1, y1, x2, y2], ...], "mos": [...]}, plus
optional "split" and "text" (a description of the image, as ClipCrop's authors wrote it). Any other field is kept
in `GAICDSample.extra`; the world's exports (`intentcrop world export --format gaicd`, format in
intentcrop.world.export) add "annotators" (several annotators' crops, `annotator_boxes`) and the intent's files
"query_image" / "subject_mask" (paths relative to ROOT, read with `extra_path`).
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
    root: Path | None = None  # the dataset folder, for the paths in `extra`

    @property
    def crops(self) -> list[Box]:
        return [Box.from_xyxy(row) for row in self.crops_xyxy]

    @property
    def annotator_boxes(self) -> np.ndarray | None:
        """(A, 4) annotators' crops from an "annotators" field ([{"box": [...]}, ...] or [[...], ...]), or None."""
        people = self.extra.get("annotators")
        if not people:
            return None
        try:
            boxes = np.asarray([p["box"] if isinstance(p, dict) else p for p in people], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{self.filename}: annotators must be boxes or {{'box': [x1, y1, x2, y2]}}") from None
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise DatasetError(f"{self.filename}: annotators must be [x1, y1, x2, y2] boxes")
        return boxes

    def extra_path(self, key: str) -> Path | None:
        """The file an extra field names (relative to the dataset folder), checked to exist inside it; None
        when the row has no such field."""
        value = self.extra.get(key)
        if value is None:
            return None
        root = (self.root or self.image_path.parent.parent).resolve()
        path = (root / str(value)).resolve()
        if root not in path.parents:
            raise DatasetError(f"{self.filename}: {key} {value!r} lies outside the dataset folder")
        if not path.is_file():
            raise DatasetError(f"{self.filename}: {key} file {path} does not exist")
        return path

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
                                   int(row["height"]), crops, mos, row.get("split"), row.get("text"), extra, root))
    if split is not None and not samples:
        known = ", ".join(sorted(str(s) for s in splits_seen))
        raise DatasetError(f"split {split!r} has no rows in {annotations} (splits there: {known})")
    dataset = GAICDDataset(root, samples)
    if check_sizes:
        dataset.check_sizes()
    return dataset
