"""`Matches`: what a detector found in one image for a grounding plan, in the image's pixels.

One row per image token (OWL-ViT predicts a box for every patch of its grid): `xyxy` (N, 4) pixel boxes,
`scores` (N, Q) each token's match probability for each of the Q `queries`, optionally `token_features`
(N, D) -- the tokens' class embeddings, which ClipCrop-style decoders read -- and a free `data` dict.
Indexing selects tokens (`matches[indices]`, `matches[mask]`) as supervision's `Detections` does; `match(i, q)`
is the per-item view (`fusion.Match`) the fusion rules work on.

Coordinate frame: OWL-ViT (v1) stretches the image to its square input, so its normalised boxes are
fractions of the image's width and height; OWLv2 pads the image to a square at the bottom and right
first, so its boxes are fractions of the padded square's side, max(width, height). `from_owlvit` and
`from_owlv2` read a transformers output in each frame (`box_frame` tells a processor's frame from its
`do_pad`) and `model_boxes_to_pixels` maps either back to the upright image's pixels (EXIF rotation was
already applied by `load_image`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from intentcrop.core.box import Box
from intentcrop.ground.fusion import Match, top_boxes_per_query

STRETCHED = "stretched"  # OWL-ViT v1: boxes are fractions of the image's own width and height
PADDED_SQUARE = "padded_square"  # OWLv2: boxes are fractions of max(width, height), image at the top-left
QUERY_IMAGE = "query image"  # the query name of image-guided matches


def box_frame(image_processor: Any) -> str:
    """Which frame a processor's outputs live in: padded to a square (OWLv2) or stretched (OWL-ViT)."""
    return PADDED_SQUARE if getattr(image_processor, "do_pad", False) else STRETCHED


def model_boxes_to_pixels(cxcywh: np.ndarray, width: int, height: int, frame: str) -> np.ndarray:
    """(P, 4) normalised centre-size boxes from the model -> (P, 4) xyxy pixels of the width x height image,
    clipped to it (padding holds no image, so a box reaching into it is cut at the image's edge)."""
    cxcywh = np.asarray(cxcywh, dtype=np.float64).reshape(-1, 4)
    if frame == PADDED_SQUARE:
        sx = sy = float(max(width, height))
    elif frame == STRETCHED:
        sx, sy = float(width), float(height)
    else:
        raise ValueError(f"unknown box frame {frame!r}")
    cx, cy, w, h = cxcywh.T
    xyxy = np.stack([(cx - w / 2) * sx, (cy - h / 2) * sy, (cx + w / 2) * sx, (cy + h / 2) * sy], axis=1)
    xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, width)
    xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, height)
    return xyxy


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def _numpy(tensor: Any, index: int) -> np.ndarray | None:
    """One image's slice of a batch tensor, as float32 numpy (only that slice leaves the device)."""
    return None if tensor is None else tensor[index].float().cpu().numpy()


@dataclass(eq=False)  # arrays: no field-wise ==
class Matches:
    xyxy: np.ndarray  # (N, 4) float64 pixel boxes
    scores: np.ndarray  # (N, Q) match probabilities, one column per query
    queries: list[str]  # the Q queries (phrases; "query image" for image-guided detection)
    token_features: np.ndarray | None = None  # (N, D) the tokens' class embeddings, when the model gives them
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float64).reshape(-1, 4)
        self.scores = np.asarray(self.scores).reshape(len(self.xyxy), -1)
        self.queries = list(self.queries)
        if self.scores.shape[1] != len(self.queries):
            raise ValueError(f"{self.scores.shape[1]} score columns for {len(self.queries)} queries")
        if self.token_features is not None and len(self.token_features) != len(self.xyxy):
            raise ValueError(f"{len(self.token_features)} token features for {len(self.xyxy)} boxes")

    # -- adapters -----------------------------------------------------------------------------------
    @classmethod
    def from_model_boxes(cls, cxcywh: np.ndarray, probs: np.ndarray, queries: Sequence[str],
                         image_size: tuple[int, int], frame: str, token_features: np.ndarray | None = None,
                         data: dict[str, Any] | None = None) -> "Matches":
        """Normalised (P, 4) centre-size boxes in `frame` and (P, Q) probabilities -> Matches in pixels."""
        width, height = image_size
        return cls(model_boxes_to_pixels(cxcywh, width, height, frame), probs, list(queries), token_features,
                   dict(data or {}))

    @classmethod
    def from_transformers(cls, outputs: Any, image_size: tuple[int, int], queries: Sequence[str], frame: str,
                          index: int = 0) -> "Matches":
        """Image `index` of an OWL-ViT / OWLv2 output (text-guided: `pred_boxes`; image-guided:
        `target_pred_boxes`), its logits through the sigmoid."""
        boxes = getattr(outputs, "target_pred_boxes", None)
        boxes = outputs.pred_boxes if boxes is None else boxes
        return cls.from_model_boxes(_numpy(boxes, index), sigmoid(_numpy(outputs.logits, index)), queries, image_size,
                                    frame, _numpy(getattr(outputs, "class_embeds", None), index))

    @classmethod
    def from_owlvit(cls, outputs: Any, image_size: tuple[int, int], queries: Sequence[str],
                    index: int = 0) -> "Matches":
        """OWL-ViT (v1): boxes are fractions of the stretched image."""
        return cls.from_transformers(outputs, image_size, queries, STRETCHED, index)

    @classmethod
    def from_owlv2(cls, outputs: Any, image_size: tuple[int, int], queries: Sequence[str],
                   index: int = 0) -> "Matches":
        """OWLv2: boxes are fractions of the image padded to a square at the bottom and right."""
        return cls.from_transformers(outputs, image_size, queries, PADDED_SQUARE, index)

    # -- selection ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> "Matches":
        """The tokens at `index` (an int, a slice, indices or a boolean mask), every query kept."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        features = None if self.token_features is None else self.token_features[index]
        return Matches(self.xyxy[index], self.scores[index], self.queries, features, dict(self.data))

    def with_scores(self, scores: np.ndarray) -> "Matches":
        return Matches(self.xyxy, scores, self.queries, self.token_features, dict(self.data))

    def merge_queries(self, groups: Sequence[Sequence[int]]) -> "Matches":
        """One column per group: the mean probability of its queries, named by its first (two readings of
        one referent are one query). Unchanged when every group is one query."""
        if all(len(g) == 1 for g in groups) and [g[0] for g in groups] == list(range(len(self.queries))):
            return self
        columns = [self.scores[:, list(g)].mean(axis=1, keepdims=True) if len(g) > 1 else self.scores[:, list(g)]
                   for g in groups]
        return Matches(self.xyxy, np.concatenate(columns, axis=1), [self.queries[g[0]] for g in groups],
                       self.token_features, dict(self.data))

    def shifted(self, dx: float, dy: float) -> "Matches":
        """The boxes moved by (dx, dy): matches found in a window, in the whole image's pixels."""
        return Matches(self.xyxy + np.array([dx, dy, dx, dy]), self.scores, self.queries, self.token_features,
                       dict(self.data))

    def top_per_query(self, per_query: int) -> list[list[int]]:
        """For each query, up to `per_query` token indices, best first, after greedy NMS."""
        return top_boxes_per_query(self.xyxy, self.scores, per_query)

    def match(self, index: int, query: int) -> Match:
        """Token `index` as the per-item view the fusion rules read: its box, its score for `query`, the phrase."""
        return Match(Box.from_xyxy(self.xyxy[index]), float(self.scores[index, query]), self.queries[query])


__all__ = ["Matches", "PADDED_SQUARE", "QUERY_IMAGE", "STRETCHED", "box_frame", "model_boxes_to_pixels", "sigmoid"]
