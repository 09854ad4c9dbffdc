"""Cropper's retrieval, per task (the paper's Q and G):

* free-form:   Q = cosine similarity of image embeddings; G = the crop's score (MOS, or the human crop)
* subject:     Q = the same; G = -L2 distance between the centres of the query's and the example's subject
               masks (in 0..1 image coordinates)
* ratio:       Q = the same; G = -|log(crop ratio / asked ratio)|, the closeness of the crop's aspect ratio
* text (ours): Q = mean of the image similarity and the similarity of the texts (CLIP text embeddings when a
               CLIP embedder is given, else word overlap); G = the crop's score

`retrieve` returns the top S examples by Q, each with its top T crops by G (ties by score).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from intentcrop.retrieve.bank import ExampleBank


@dataclass
class Retrieved:
    index: int  # the example's row in the bank
    similarity: float  # Q
    crops: np.ndarray  # (T, 4) pixels of the example image
    scores: np.ndarray  # (T,)


def _word_overlap(query: str, texts: Sequence[str | None]) -> np.ndarray:
    q = set(query.lower().split())
    out = np.zeros(len(texts))
    for i, t in enumerate(texts):
        if t:
            words = set(t.lower().split())
            out[i] = len(q & words) / max(len(q | words), 1)
    return out


def retrieve(bank: ExampleBank, query_embedding: np.ndarray, S: int, T: int, *, ratio: float | None = None,
             subject_centre: tuple[float, float] | None = None, query_size: tuple[int, int] | None = None,
             text: str | None = None, text_similarity: "np.ndarray | None" = None,
             exclude: "set[int] | None" = None) -> list[Retrieved]:
    """The S most similar examples (Q) with their T best crops (G); see the module docstring."""
    if len(bank) == 0 or S <= 0:
        return []
    q = np.asarray(query_embedding, np.float32).reshape(-1)
    if q.shape[0] != bank.embeddings.shape[1]:
        raise ValueError(f"query embedding has {q.shape[0]} dimensions, the bank's {bank.embeddings.shape[1]} "
                         f"(it was built with {bank.embedder})")
    sim = np.asarray(bank.embeddings @ q, np.float64)
    if text:
        ts = text_similarity if text_similarity is not None else _word_overlap(text, bank.texts)
        sim = 0.5 * sim + 0.5 * np.asarray(ts, np.float64)
    if exclude:
        sim[list(exclude)] = -np.inf
    top = np.argsort(-sim, kind="stable")[:S]
    out = []
    for i in top:
        if not np.isfinite(sim[i]):
            continue
        crops, scores = bank.example_crops(int(i))
        if len(crops) == 0:
            continue
        w, h = (int(v) for v in bank.sizes[i])
        if ratio is not None:
            cw = np.maximum(crops[:, 2] - crops[:, 0], 1e-6)
            ch = np.maximum(crops[:, 3] - crops[:, 1], 1e-6)
            g = -np.abs(np.log((cw / ch) / ratio))
        elif subject_centre is not None and query_size is not None and np.isfinite(bank.subject_centres[i]).all():
            qc = np.array([subject_centre[0] / query_size[0], subject_centre[1] / query_size[1]])
            ec = np.asarray(bank.subject_centres[i], np.float64) / [w, h]
            g = np.full(len(crops), -float(np.linalg.norm(qc - ec)))  # one value per example: ties by score below
        else:
            g = scores
        order = np.lexsort((-scores, -g))[:T]
        out.append(Retrieved(int(i), float(sim[i]), crops[order], scores[order]))
    return out
