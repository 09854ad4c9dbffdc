"""A synthetic scene and random boxes shared by the CLIP wrapper's and the CLIP scorers' tests."""

from __future__ import annotations

import numpy as np
from PIL import Image


def scene(width=200, height=120) -> Image.Image:
    arr = np.zeros((height, width, 3), np.uint8)
    arr[:, : width // 2] = (220, 40, 40)
    arr[:, width // 2:] = (30, 60, 200)
    arr[height // 3: 2 * height // 3, 2 * width // 3: 5 * width // 6] = (250, 250, 0)
    return Image.fromarray(arr)


def random_boxes(n=30, width=200, height=120, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w, h = rng.uniform(0.2, 1.0, n) * width, rng.uniform(0.25, 1.0, n) * height
    x, y = rng.uniform(0, 1, n) * (width - w), rng.uniform(0, 1, n) * (height - h)
    return np.stack([x, y, x + w, y + h], axis=1)
