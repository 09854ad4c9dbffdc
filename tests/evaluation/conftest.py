"""A tiny FCDB-style folder whose human crops are known, so runner tests need no shared data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

# (filename, width, height, human crop xywh): the first crop is exactly the 90 % centred crop.
TINY_ROWS = [
    ("centre.jpg", 100, 50, [5, 2.5, 90, 45]),
    ("corner.jpg", 60, 80, [0, 0, 30, 40]),
    ("whole.jpg", 80, 60, [0, 0, 80, 60]),
]


@pytest.fixture
def tiny_fcdb(tmp_path) -> Path:
    root = tmp_path / "fcdb"
    (root / "images").mkdir(parents=True)
    rows = []
    for name, w, h, crop in TINY_ROWS:
        Image.new("RGB", (w, h), (200, 180, 160)).save(root / "images" / name)
        rows.append({"filename": name, "width": w, "height": h, "crop_xywh": crop})
    (root / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.fixture
def tiny_fcdb_windows(tiny_fcdb) -> Path:
    """tiny_fcdb with FCDB dev's candidate_windows_xywh: the human crop first (as in the original file), then
    a window equal to it, and one of the top-left quarter."""
    rows = [json.loads(line) for line in (tiny_fcdb / "dev.jsonl").read_text().splitlines()]
    for row in rows:
        w, h = row["width"], row["height"]
        row["candidate_windows_xywh"] = [row["crop_xywh"], row["crop_xywh"], [0, 0, w / 2, h / 2]]
    (tiny_fcdb / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tiny_fcdb
