"""What every benchmark loader shares: the folder checks, the jsonl reader and the dataset error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from PIL import Image

from intentcrop.errors import IntentCropError


class DatasetError(IntentCropError):
    """A benchmark folder, split file, row or image is missing or does not match its annotation."""


def require_dir(path: "str | Path", what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{what} folder {path} does not exist")
    if not path.is_dir():
        raise DatasetError(f"{what} path {path} is not a folder")
    return path


def require_file(path: Path, what: str, hint: str = "") -> Path:
    if not path.is_file():
        raise DatasetError(f"{what} {path} does not exist{hint}")
    return path


def read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each non-empty line; a clear error for bad JSON or a missing field."""
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{line_no}: expected a JSON object per line")
            missing = [key for key in required if key not in row]
            if missing:
                raise DatasetError(f"{path}:{line_no}: missing field(s) {', '.join(missing)}")
            yield line_no, row


def stored_image_size(path: Path) -> tuple[int, int]:
    """(width, height) of the image file as stored (reads only the header; no EXIF rotation:
    the benchmarks annotate pixels of the stored image)."""
    if not path.is_file():
        raise DatasetError(f"image {path} does not exist")
    try:
        with Image.open(path) as img:
            return img.size
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the same thing here
        raise DatasetError(f"image {path} cannot be read: {exc}") from None


def check_stored_size(path: Path, width: int, height: int) -> None:
    actual = stored_image_size(path)
    if actual != (width, height):
        raise DatasetError(
            f"image {path} is {actual[0]}x{actual[1]} but its annotation says {width}x{height}"
        )
