import struct
import zlib

import pytest
from PIL import Image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height, with no real pixel data (for zero-size and bomb checks)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.fixture
def photo(tmp_path, sample_image_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(sample_image_path.read_bytes())
    return path


@pytest.fixture
def bad_files(tmp_path):
    good = Image.new("RGB", (300, 200), (120, 80, 40))
    truncated = tmp_path / "truncated.jpg"
    good.save(truncated, quality=90)
    truncated.write_bytes(truncated.read_bytes()[:200])
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("this is text")
    zero = tmp_path / "zero.png"
    zero.write_bytes(png_header_only(0, 10))
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_header_only(100_000, 100_000))
    return {
        "missing": (tmp_path / "missing.jpg", "no such file"),
        "not an image": (not_image, "not an image"),
        "truncated": (truncated, "damaged or truncated"),
        "zero size": (zero, "zero size"),
        "huge": (huge, "decompression bomb"),
    }
