"""Stage 3, score: registered scorers that rate candidate crops."""

from intentcrop.score.base import Scorer, zscore

__all__ = ["Scorer", "zscore"]
