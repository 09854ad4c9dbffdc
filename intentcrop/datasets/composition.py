"""CADB-style composition labels and AADB-style aesthetic attribute scores, each a folder beside `images/`.

cadb format -- `load_cadb(ROOT)`:

  ROOT/images/NAME                        the images
  ROOT/composition_labels.jsonl           one row per image: {"filename", "width", "height",
                                          "composition": [class, ...]} (one or more of `CADB_CLASSES`, the
                                          first the main one), optional "split"; other fields kept in `extra`

aadb format -- `load_aadb(ROOT)`:

  ROOT/images/NAME                        the images
  ROOT/attribute_scores.jsonl             one row per image: {"filename", "width", "height",
                                          "attributes": {name: score}} with every score in [-1, 1] (AADB's range:
                                          -1 worst, 0 neutral, 1 best), optional "score" (overall, 1..5) and
                                          "split"; other fields kept in `extra`

`intentcrop world export --format cadb|aadb` writes the world in these formats (intentcrop.world.export).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from intentcrop.datasets.base import DatasetError, check_stored_size, read_jsonl, require_dir, require_file

CADB_FILE = "composition_labels.jsonl"
AADB_FILE = "attribute_scores.jsonl"
# CADB's composition classes (Zhang et al. 2021) under the names the world uses; "thirds" is rule of thirds.
CADB_CLASSES: tuple[str, ...] = ("center", "thirds", "horizontal", "vertical", "curved", "symmetric", "diagonal",
                                 "triangle", "pattern")
_BASE = ("filename", "width", "height")


@dataclass(frozen=True, eq=False)
class CompositionSample:
    filename: str
    image_path: Path
    width: int
    height: int
    composition: tuple[str, ...]  # CADB classes, the main one first
    split: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def main_class(self) -> str:
        return self.composition[0]


@dataclass(frozen=True, eq=False)
class AttributeSample:
    filename: str
    image_path: Path
    width: int
    height: int
    attributes: dict[str, float]  # each in [-1, 1]
    score: float | None = None
    split: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class LabelDataset:
    """A list of samples with the folder they came from (shared by both formats)."""

    def __init__(self, root: Path, samples: list) -> None:
        self.root, self.samples = root, samples

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator:
        return iter(self.samples)

    def __getitem__(self, index: int):
        return self.samples[index]

    def check_sizes(self) -> None:
        for s in self.samples:
            check_stored_size(s.image_path, s.width, s.height)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r}, n={len(self)})"


def _load(root: "str | Path", filename: str, what: str, required: tuple[str, ...], split: str | None,
          check_sizes: bool, sample: Any) -> LabelDataset:
    """The rows of `split` (all with None), each made a sample by `sample(images, where, row)`."""
    root = require_dir(root, what)
    path = require_file(root / filename, f"{what} file")
    images = require_dir(root / "images", f"{what} images")
    samples = [sample(images, f"{path}:{line_no}", row) for line_no, row in read_jsonl(path, _BASE + required)
               if split is None or row.get("split") == split]
    dataset = LabelDataset(root, samples)
    if check_sizes:
        dataset.check_sizes()
    return dataset


def load_cadb(root: "str | Path", split: str | None = None, *, check_sizes: bool = False) -> LabelDataset:
    """Read `root/composition_labels.jsonl` (module docstring); only `split`'s rows when one is given."""

    def sample(images: Path, where: str, row: dict) -> CompositionSample:
        classes = row["composition"]
        classes = [classes] if isinstance(classes, str) else classes
        if not isinstance(classes, list) or not classes:
            raise DatasetError(f"{where}: composition must be a class or a non-empty list of classes")
        unknown = [c for c in classes if c not in CADB_CLASSES]
        if unknown:
            raise DatasetError(f"{where}: unknown composition class {unknown[0]!r}; known: {', '.join(CADB_CLASSES)}")
        extra = {k: v for k, v in row.items() if k not in _BASE + ("composition", "split")}
        return CompositionSample(str(row["filename"]), images / str(row["filename"]), int(row["width"]),
                                 int(row["height"]), tuple(classes), row.get("split"), extra)

    return _load(root, CADB_FILE, "CADB dataset", ("composition",), split, check_sizes, sample)


def load_aadb(root: "str | Path", split: str | None = None, *, check_sizes: bool = False) -> LabelDataset:
    """Read `root/attribute_scores.jsonl` (module docstring); only `split`'s rows when one is given."""

    def sample(images: Path, where: str, row: dict) -> AttributeSample:
        attrs = row["attributes"]
        if not isinstance(attrs, dict) or not attrs:
            raise DatasetError(f"{where}: attributes must be a non-empty {{name: score}} object")
        try:
            attrs = {str(k): float(v) for k, v in attrs.items()}
        except (TypeError, ValueError):
            raise DatasetError(f"{where}: every attribute score must be a number") from None
        bad = [k for k, v in attrs.items() if not -1.0 <= v <= 1.0]
        if bad:
            raise DatasetError(f"{where}: attribute {bad[0]!r} is {attrs[bad[0]]}, outside [-1, 1]")
        score = row.get("score")
        extra = {k: v for k, v in row.items() if k not in _BASE + ("attributes", "score", "split")}
        return AttributeSample(str(row["filename"]), images / str(row["filename"]), int(row["width"]),
                               int(row["height"]), attrs, None if score is None else float(score),
                               row.get("split"), extra)

    return _load(root, AADB_FILE, "AADB dataset", ("attributes",), split, check_sizes, sample)
