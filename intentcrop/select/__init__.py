"""Stage 6, select: the k best, mutually different crops for each asked ratio."""

from intentcrop.select.topk import select_top_k

__all__ = ["select_top_k"]
