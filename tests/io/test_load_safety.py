"""Image loading cannot be turned against the process: one test per defect of the reliability issue."""

from __future__ import annotations

import io
import re
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import EpsImagePlugin, IcoImagePlugin, Image, ImageFile

import intentcrop
from intentcrop.core.box import Box
from intentcrop.core.result import CropResult
from intentcrop.errors import ImageLoadError
from intentcrop.io import image as image_io
from intentcrop.io.image import load_image, open_image


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_header(width: int, height: int, bit_depth: int = 8, colour: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"") + _chunk(b"IEND", b"")


def ico_around(entry: bytes) -> bytes:
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(entry), 22) + entry


# --- the ICO bomb, and Pillow's bomb check never switched off -------------------------------------------------


def test_ico_whose_png_declares_100000_squared_is_refused_before_decoding(tmp_path, monkeypatch):
    data = ico_around(png_header(100_000, 100_000))
    assert len(data) < 100
    path = tmp_path / "favicon.ico"
    path.write_bytes(data)
    frames = []
    monkeypatch.setattr(IcoImagePlugin.IcoFile, "frame", lambda self, idx: frames.append(idx))
    with pytest.raises(ImageLoadError, match=r"favicon\.ico: ICO image 1 is 100000x100000"):
        load_image(path)
    assert frames == []  # Pillow never started decoding the embedded PNG


def test_ico_embedded_size_is_held_to_the_callers_limit_too(monkeypatch):
    frames = []
    monkeypatch.setattr(IcoImagePlugin.IcoFile, "frame", lambda self, idx: frames.append(idx))
    with pytest.raises(ImageLoadError, match="ICO image 1 is 3000x3000"):
        load_image(ico_around(png_header(3000, 3000)), max_pixels=1_000_000)
    assert frames == []


def test_pillows_bomb_check_stays_on_while_opening(monkeypatch, tmp_path):
    seen = []
    real_open = Image.open

    def spy(*args, **kwargs):
        seen.append((Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES))
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    before = Image.MAX_IMAGE_PIXELS
    Image.new("RGB", (20, 10)).save(tmp_path / "a.png")
    load_image(tmp_path / "a.png")
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_image(png_header(100_000, 100_000))
    assert seen and all(s == (before, False) for s in seen)
    assert Image.MAX_IMAGE_PIXELS == before


def test_the_module_never_assigns_pillows_globals():
    source = Path(image_io.__file__).read_text()
    assert not re.search(r"MAX_IMAGE_PIXELS\s*=[^=]", source)
    assert not re.search(r"LOAD_TRUNCATED_IMAGES\s*=[^=]", source)


def test_concurrent_loads_leave_the_bomb_check_on(tmp_path):
    Image.new("RGB", (64, 64), (10, 20, 30)).save(tmp_path / "a.png")
    before = Image.MAX_IMAGE_PIXELS
    samples, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            samples.append(Image.MAX_IMAGE_PIXELS)

    watcher = threading.Thread(target=watch)
    workers = [threading.Thread(target=lambda: [load_image(tmp_path / "a.png") for _ in range(30)]) for _ in range(3)]
    watcher.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    watcher.join()
    assert set(samples) == {before}


# --- a memory budget per decode -----------------------------------------------------------------------------------


def test_decode_cost_follows_mode_and_depth():
    size = (1000, 1000)
    assert image_io.decode_cost("RGB", size) == 4_000_000
    assert image_io.decode_cost("1", size) == 5_000_000
    assert image_io.decode_cost("I;16", size) == 7_000_000
    assert image_io.decode_cost("RGBA", size) == 9_000_000
    assert image_io.decode_cost("P", size, has_transparency=True) == 6_000_000


def test_a_decode_over_the_budget_is_refused_before_decoding(monkeypatch):
    buf = io.BytesIO()
    Image.new("RGBA", (200, 100), (1, 2, 3, 100)).save(buf, "PNG")
    monkeypatch.setattr(image_io, "DECODE_BUDGET_BYTES", 200 * 100 * 9 - 1)
    with pytest.raises(ImageLoadError, match=r"200x100 RGBA image would need .* MiB to decode, more than the budget"):
        load_image(buf.getvalue())
    monkeypatch.setattr(image_io, "DECODE_BUDGET_BYTES", 200 * 100 * 9)
    assert load_image(buf.getvalue()).size == (200, 100)


def test_default_budget_refuses_a_small_file_that_would_take_gigabytes(monkeypatch):
    # A 13000x13000 RGBA icon: under Pillow's pixel limit, but 2.2 GB for Pillow's decode plus ours.
    with pytest.raises(ImageLoadError, match="budget"):
        load_image(ico_around(png_header(13000, 13000, 8, 6)))
    # Pillow's own limit raised by the application: the budget still holds a 20000x20000 RGBA PNG back.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10**10)
    with pytest.raises(ImageLoadError, match="budget"):
        load_image(png_header(20000, 20000, 8, 6), max_pixels=10**10)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "PA", "P", "RGBa"])
@pytest.mark.parametrize("target", ["RGB", "L"])
def test_transparency_is_composited_in_strips_exactly_as_before(mode, target, monkeypatch):
    rng = np.random.default_rng(2)
    rgba = Image.fromarray((rng.random((41, 57, 4)) * 255).astype(np.uint8), "RGBA")
    image = rgba.convert("P") if mode == "P" else rgba.convert(mode)
    if mode == "P":
        image.info["transparency"] = 7
    whole = image.convert("RGBA")  # the former whole-image composite
    expected = Image.alpha_composite(Image.new("RGBA", whole.size, (255, 255, 255, 255)), whole).convert(target)
    monkeypatch.setattr(image_io, "_STRIP_PIXELS", 200)  # many strips
    got = image_io._convert(image, target)
    assert got.mode == target and np.array_equal(np.asarray(got), np.asarray(expected))


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_deep_grey_is_reduced_in_strips_exactly_as_before(mode, monkeypatch):
    rng = np.random.default_rng(1)
    if mode == "I;16":
        arr = rng.integers(0, 65536, (37, 53), dtype=np.uint16)
    elif mode == "I":
        arr = rng.integers(-5, 300, (37, 53)).astype(np.int32)
    else:
        arr = rng.random((37, 53)).astype(np.float32) * 200
    image = Image.fromarray(arr)
    assert image.mode == mode
    old = np.asarray(image, dtype=np.float64)  # the former whole-image float64 formula
    top = 65535.0 if mode.startswith("I;16") or old.max() > 255 else 255.0
    expected = np.clip(old / top * 255.0, 0, 255).astype(np.uint8)
    monkeypatch.setattr(image_io, "_STRIP_PIXELS", 100)  # many strips
    got = np.asarray(image_io._to_grey8(image))
    assert np.array_equal(got, expected)


# --- EPS never reaches Ghostscript ----------------------------------------------------------------------------

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n%%EndComments\nshowpage\n%%EOF\n"


@pytest.mark.parametrize("name", ["photo.jpg", "photo.png", "query.eps"])
def test_eps_in_disguise_never_runs_ghostscript(name, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: calls.append(a) or Image.new("RGB", (1, 1)))
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True)
    path = tmp_path / name
    path.write_bytes(EPS)
    for source in (path, EPS, io.BytesIO(EPS)):
        with pytest.raises(ImageLoadError, match="EPS is not an accepted image format"):
            load_image(source)
    with pytest.raises(ImageLoadError, match="EPS"):
        intentcrop.crop(str(path))
    assert calls == []


# --- every loader failure is an ImageLoadError naming the file --------------------------------------------------


@pytest.mark.parametrize("exc", [IndexError("index"), ImportError("x"), AttributeError("attr"), ValueError("v"),
                                 struct.error("unpack"), TypeError("t"), KeyError("k"), SyntaxError("s"),
                                 ZeroDivisionError("z"), OverflowError("o"), RuntimeError("r"), EOFError("e"),
                                 Image.DecompressionBombError("bomb"), OSError("os"), UnicodeDecodeError(
                                     "utf-8", b"\xff", 0, 1, "bad")])
def test_any_decoder_failure_becomes_image_load_error(exc, tmp_path, monkeypatch):
    path = tmp_path / "odd.png"
    Image.new("RGB", (30, 20)).save(path)

    def boom(self, *a, **k):
        raise exc

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    with pytest.raises(ImageLoadError, match=re.escape(str(path))):
        load_image(path)


def test_a_failing_header_parser_becomes_image_load_error(tmp_path, monkeypatch):
    from PIL import PngImagePlugin

    path = tmp_path / "odd.png"
    Image.new("RGB", (30, 20)).save(path)
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "_open", lambda self: (_ for _ in ()).throw(AttributeError("x")))
    with pytest.raises(ImageLoadError, match=re.escape(str(path))):
        load_image(path)


def test_memory_error_is_not_disguised(tmp_path, monkeypatch):
    path = tmp_path / "odd.png"
    Image.new("RGB", (30, 20)).save(path)
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(MemoryError):
        load_image(path)


@pytest.mark.parametrize("data, what", [
    (ico_around(struct.pack("<IiiHHIIiiII", 40, 60000, 120000, 1, 32, 0, 0, 0, 0, 0, 0)), "ICO image 1"),
    (png_header(10, 10)[:33] + _chunk(b"zTXt", b"c\0\0" + zlib.compress(b"a" * (8 << 20))) + png_header(10, 10)[33:],
     "damaged"),
])
def test_crafted_files_that_raised_raw_errors(data, what):
    with pytest.raises(ImageLoadError, match=what):
        load_image(data)


# --- truncated images -------------------------------------------------------------------------------------------


def _jpeg_claiming(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((30, 40, 3)) * 255).astype(np.uint8)).resize((320, 240)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    i = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, height, width)
    return bytes(data)


def test_truncated_12000_square_jpeg_is_refused_not_grey():
    data = _jpeg_claiming(12000, 12000)  # a 320x240 scan under a 12000x12000 header, ending with EOI
    with pytest.raises(ImageLoadError, match="scan data ends early"):
        open_image(data).analysis((256, 256))  # the drafted analysis copy
    with pytest.raises(ImageLoadError, match="scan data ends early"):
        load_image(data)


def test_truncated_jpeg_with_an_eoi_appended_is_refused():
    buf = io.BytesIO()
    Image.effect_noise((300, 300), 60).convert("RGB").save(buf, "JPEG")
    data = buf.getvalue()
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(data[: len(data) // 2] + b"\xff\xd9")


def test_a_uniformly_mid_grey_jpeg_is_still_an_image():
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(buf, "JPEG")
    assert load_image(buf.getvalue()).getpixel((5, 5)) == (128, 128, 128)


# --- CropResult.crop on the un-rotated image ----------------------------------------------------------------------


def _rotated_photo() -> Image.Image:
    rng = np.random.default_rng(3)
    stored = Image.fromarray((rng.random((60, 80, 3)) * 255).astype(np.uint8))  # 80x60 stored
    exif = Image.Exif()
    exif[0x0112] = 6  # shown a quarter turn clockwise: 60x80 upright
    buf = io.BytesIO()
    stored.save(buf, "PNG", exif=exif.tobytes())
    return Image.open(io.BytesIO(buf.getvalue()))


def test_crop_of_the_unrotated_image_cuts_the_upright_region():
    original = _rotated_photo()
    assert original.size == (80, 60)
    result = intentcrop.crop(original, k=1, ratio="1:1")[0]
    assert result.image_size == (60, 80)
    upright = load_image(original)
    expected = upright.crop(result.box.as_int_tuple())
    assert np.array_equal(np.asarray(result.crop(original).convert("RGB")), np.asarray(expected))
    assert np.array_equal(np.asarray(result.crop(upright)), np.asarray(expected))


def test_crop_of_a_different_sized_image_is_refused():
    result = CropResult(box=Box(0, 0, 10, 10), score=1.0, image_size=(60, 80))
    with pytest.raises(ValueError, match="made for a 60x80 image, not 80x60"):
        result.crop(Image.new("RGB", (80, 60)))


def test_an_unseekable_stream_is_read_once_and_loads():
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(buf, "PNG")

    class Pipe:
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def read(self, n=-1):
            return self._data.read(n)

        def seekable(self):
            return False

    assert load_image(Pipe(buf.getvalue())).getpixel((3, 3)) == (1, 2, 3)
    with pytest.raises(ImageLoadError, match="EPS"):
        load_image(Pipe(EPS))


def test_eps_as_a_query_image_is_refused(tmp_path, sample_image_path, monkeypatch):
    calls = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: calls.append(a) or Image.new("RGB", (1, 1)))
    query = tmp_path / "query.jpg"
    query.write_bytes(EPS)
    with pytest.raises(ImageLoadError, match=r"query\.jpg: PostScript/EPS is not an accepted image format"):
        intentcrop.crop(sample_image_path, query_image=str(query), k=1)
    assert calls == []
