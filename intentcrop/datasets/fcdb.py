"""FCDB-style free-form cropping data: `ROOT/SPLIT.jsonl` beside `ROOT/images/`, one human crop per image.

Rows are {"filename", "width", "height", "crop_xywh": [x, y, w, h]} in pixels of the stored image;
any other field is kept in `extra`; FCDB dev rows have "candidate_windows_xywh" (`FCDBSample.candidate_windows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from intentcrop.core.box import Box
from intentcrop.datasets.base import DatasetError, check_stored_size, read_jsonl, require_dir, require_file

# 19 FCDB crops overshoot the image by 1-2 px as annotated; clamp those, but a larger overshoot
# means the annotation does not belong to this image and is reported instead.
OVERSHOOT_TOLERANCE_PX = 2.0

_FIELDS = ("filename", "width", "height", "crop_xywh")


@dataclass(frozen=True)
class FCDBSample:
    filename: str
    image_path: Path
    width: int
    height: int
    crop: Box  # the human crop, clamped to the image
    clamped: bool = False  # True when the annotated crop overshot the image and was clamped
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def crop_ratio(self) -> float:
        """Aspect ratio (width / height) of the human crop: what the ratio-aware protocol asks for."""
        return self.crop.aspect

    @property
    def candidate_windows(self) -> np.ndarray:
        """(N, 4) xyxy sliding windows the original FCDB evaluation ranks, without its first one (the human crop
        itself: ranking it would score the answer); DatasetError when the row has none (only dev rows do)."""
        windows = self.extra.get("candidate_windows_xywh")
        if not windows:
            raise DatasetError(f"{self.filename}: no candidate_windows_xywh in its row (FCDB dev rows have them)")
        xywh = np.asarray(windows[1:], dtype=np.float64).reshape(-1, 4)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        return np.clip(xyxy, 0, [self.width, self.height, self.width, self.height])

    def check_size(self) -> None:
        """Raise DatasetError unless the stored image file has the annotated width and height."""
        check_stored_size(self.image_path, self.width, self.height)


def _clamped_crop(xywh, width: int, height: int, where: str, tolerance: float) -> tuple[Box, bool]:
    try:
        box = Box.from_xywh(xywh)
    except Exception as exc:  # noqa: BLE001 - bad length, non-numbers, negative size
        raise DatasetError(f"{where}: crop_xywh {xywh!r} is not a valid [x, y, w, h] box ({exc})") from None
    overshoot = max(-box.x1, -box.y1, box.x2 - width, box.y2 - height)
    if overshoot > tolerance:
        raise DatasetError(
            f"{where}: crop {list(xywh)} leaves the {width}x{height} image by {overshoot:g} px "
            f"(more than the {tolerance:g} px tolerated)"
        )
    if overshoot > 0:
        return box.clip(width, height), True
    return box, False


class FCDBDataset:
    """The samples of one split, in file order. Sizes are checked against the images only on request."""

    def __init__(self, root: Path, split: str, samples: list[FCDBSample]) -> None:
        self.root, self.split, self.samples = root, split, samples

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[FCDBSample]:
        return iter(self.samples)

    def __getitem__(self, index: int) -> FCDBSample:
        return self.samples[index]

    def head(self, limit: int | None) -> "FCDBDataset":
        """The first `limit` samples (all when None)."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        return FCDBDataset(self.root, self.split, self.samples if limit is None else self.samples[:limit])

    def check_sizes(self) -> None:
        """Open every image's header and raise DatasetError on the first size mismatch or missing file."""
        for sample in self.samples:
            sample.check_size()

    def __repr__(self) -> str:
        return f"FCDBDataset(root={str(self.root)!r}, split={self.split!r}, n={len(self)})"


def available_splits(root: "str | Path") -> list[str]:
    root = Path(root)
    return sorted(p.stem for p in root.glob("*.jsonl")) if root.is_dir() else []


def load_fcdb(
    root: "str | Path", split: str = "dev", *, check_sizes: bool = False,
    tolerance: float = OVERSHOOT_TOLERANCE_PX,
) -> FCDBDataset:
    """Read `root/split.jsonl`; image paths point into `root/images/`.

    check_sizes: also open every image and compare its stored size with the row (slower; off by default).
    """
    root = require_dir(root, "FCDB dataset")
    splits = available_splits(root)
    hint = f" (splits here: {', '.join(splits)})" if splits else " (no SPLIT.jsonl files in this folder)"
    split_file = require_file(root / f"{split}.jsonl", f"split {split!r}: file", hint)
    images = require_dir(root / "images", "FCDB images")
    samples = []
    for line_no, row in read_jsonl(split_file, _FIELDS):
        where = f"{split_file}:{line_no}"
        try:
            width, height = int(row["width"]), int(row["height"])
        except (TypeError, ValueError):
            raise DatasetError(f"{where}: width/height must be integers") from None
        if width <= 0 or height <= 0:
            raise DatasetError(f"{where}: width and height must be positive")
        crop, clamped = _clamped_crop(row["crop_xywh"], width, height, where, tolerance)
        extra = {k: v for k, v in row.items() if k not in _FIELDS}
        samples.append(FCDBSample(str(row["filename"]), images / str(row["filename"]), width, height,
                                  crop, clamped, extra))
    dataset = FCDBDataset(root, split, samples)
    if check_sizes:
        dataset.check_sizes()
    return dataset
