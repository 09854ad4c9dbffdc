"""`Candidates`: many boxes with their scores, the array-shaped twin of `CropResult`.

Like supervision's `Detections`, every stage reads and writes this one container: proposers
create it, scorers add named score columns, search moves boxes, selection turns the best rows
into `CropResult`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from intentcrop.core.box import Box, as_xyxy_array, box_area


@dataclass
class Candidates:
    xyxy: np.ndarray  # (N, 4) float64, original-image pixels
    scores: np.ndarray | None = None  # (N,) combined score, None until a scorer ran
    breakdown: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N,) per-scorer scores
    source: np.ndarray | None = None  # (N,) str: which proposer or search step made each box
    ratio: np.ndarray | None = None  # (N,) the aspect ratio each box was made for; NaN for free-form

    def __post_init__(self) -> None:
        self.xyxy = as_xyxy_array(self.xyxy)
        n = len(self.xyxy)
        if self.scores is not None:
            self.scores = np.asarray(self.scores, dtype=np.float64).reshape(n)
        self.breakdown = {k: np.asarray(v, dtype=np.float64).reshape(n) for k, v in self.breakdown.items()}
        if self.source is None:
            self.source = np.full(n, "", dtype=object)
        else:
            self.source = np.asarray(self.source, dtype=object).reshape(n)
        if self.ratio is None:
            self.ratio = np.full(n, np.nan)
        else:
            self.ratio = np.asarray(self.ratio, dtype=np.float64).reshape(n)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def empty(cls) -> "Candidates":
        return cls(np.zeros((0, 4)))

    @classmethod
    def from_boxes(cls, boxes: Sequence[Box], source: str = "") -> "Candidates":
        return cls(as_xyxy_array(list(boxes)), source=np.full(len(boxes), source, dtype=object))

    @classmethod
    def from_xyxy(cls, xyxy: np.ndarray, source: str = "", ratio: float | None = None) -> "Candidates":
        xyxy = as_xyxy_array(xyxy)
        return cls(
            xyxy,
            source=np.full(len(xyxy), source, dtype=object),
            ratio=np.full(len(xyxy), np.nan if ratio is None else float(ratio)),
        )

    @classmethod
    def merge(cls, parts: Sequence["Candidates"]) -> "Candidates":
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        keys = set(parts[0].breakdown)
        for p in parts[1:]:
            keys &= set(p.breakdown)
        have_scores = all(p.scores is not None for p in parts)
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            scores=np.concatenate([p.scores for p in parts]) if have_scores else None,
            breakdown={k: np.concatenate([p.breakdown[k] for p in parts]) for k in sorted(keys)},
            source=np.concatenate([p.source for p in parts]),
            ratio=np.concatenate([p.ratio for p in parts]),
        )

    # -- access -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> "Candidates":
        """Index with an int, slice, integer array or boolean mask; always returns Candidates."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Candidates(
            self.xyxy[index],
            scores=None if self.scores is None else self.scores[index],
            breakdown={k: v[index] for k, v in self.breakdown.items()},
            source=self.source[index],
            ratio=self.ratio[index],
        )

    def __iter__(self) -> Iterator[Box]:
        return iter(self.boxes())

    def boxes(self) -> list[Box]:
        return [Box.from_xyxy(row) for row in self.xyxy]

    @property
    def width(self) -> np.ndarray:
        return self.xyxy[:, 2] - self.xyxy[:, 0]

    @property
    def height(self) -> np.ndarray:
        return self.xyxy[:, 3] - self.xyxy[:, 1]

    @property
    def area(self) -> np.ndarray:
        return box_area(self.xyxy)

    def with_score(self, name: str, values: np.ndarray) -> "Candidates":
        """Add or replace one named score column (in place; returns self for chaining)."""
        self.breakdown[name] = np.asarray(values, dtype=np.float64).reshape(len(self))
        return self

    def sorted(self) -> "Candidates":
        """Best first by the combined score."""
        if self.scores is None:
            return self
        return self[np.argsort(-self.scores, kind="stable")]
