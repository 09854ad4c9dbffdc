"""Tiny benchmark folders written on the fly, so loader tests need no shared data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image


def write_folder(root: Path, split_file: str, rows: list[dict], sizes: dict[str, tuple[int, int]]) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    for name, size in sizes.items():
        Image.new("RGB", size, (120, 90, 60)).save(root / "images" / name)
    (root / split_file).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.fixture
def make_folder(tmp_path):
    def make(split_file: str, rows: list[dict], sizes: dict[str, tuple[int, int]]) -> Path:
        return write_folder(tmp_path / "data", split_file, rows, sizes)

    return make
