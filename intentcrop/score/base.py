"""The scorer interface: named per-candidate terms plus a 'total' that ranks them (higher is better)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.core.context import CropContext


class Scorer(Protocol):
    """Tunables are read from `ctx.options` (a `Defaults`) inside `score`, never bound when the scorer is built."""

    name: str

    def score(self, ctx: CropContext, candidates: Candidates) -> dict[str, np.ndarray]:
        """Return {term: (N,) array}. The key 'total' is required: this scorer's own ranking score."""
        ...

    def explain(self, winner: dict[str, float], all_terms: dict[str, np.ndarray]) -> list[str]:
        """Short phrases, in a photographer's words, saying what made `winner` stand out among all candidates.
        A scorer whose phrases depend on the call's options may take them as a keyword, `options=None`
        (a `Defaults`): the pipeline passes `ctx.options` to an explain that accepts it."""
        ...


# ctx.cache key of the list of warnings scorers add for the call (a scorer left out as inert); the pipeline
# puts them in CropOutput.warnings.
SCORER_WARNINGS = "scorer_warnings"


def add_scorer_warning(ctx: CropContext, message: str) -> None:
    ctx.cached(SCORER_WARNINGS, list).append(message)


def zscore(values: np.ndarray) -> np.ndarray:
    """Standardise within one image so scorers on different scales can be added."""
    values = np.asarray(values, dtype=np.float64)
    std = values.std()
    return (values - values.mean()) / std if std > 1e-12 else np.zeros_like(values)
