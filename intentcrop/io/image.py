"""Image input and output: any source -> upright RGB PIL image, with clear errors.

EXIF orientation is applied before anything else, so every box refers to the upright image.

`open_image` is the lazy way in (what the pipeline uses): it reads a file's header only (size, EXIF
orientation, the bomb guard) and returns a `LazyImage` that decodes as far as it is asked: `analysis(size)`
gives a small upright copy (a JPEG is decoded straight to about that size with Pillow's `draft`, DCT
scaling, with no full-size copy), `full()` the full-resolution upright RGB image, decoded once and only when
something needs it (cutting the final crop, a model-backed stage).

Loading cannot be turned against the process (every file, upload and query image comes through `_open`):

- a format allow-list (`ALLOWED_FORMATS`: JPEG/MPO, PNG/APNG, WebP, GIF, TIFF, BMP/DIB, ICO, AVIF) passed to
  `Image.open(formats=...)`; PostScript/EPS, PDF, SVG, HTML and archives are named and refused from their first
  bytes, whatever the file is called, so nothing ever shells out (Ghostscript);
- Pillow's own decompression-bomb check (`Image.MAX_IMAGE_PIXELS`) is never switched off or assigned: intentcrop's
  `max_pixels` limit is applied on top of it, from the header, before any pixel is decoded; a limit above Pillow's
  (2 x MAX_IMAGE_PIXELS) is capped by Pillow's (raise PIL.Image.MAX_IMAGE_PIXELS yourself to allow more). Every
  image an ICO embeds (a PNG's own IHDR, a BMP's own header) is checked before `Image.open`, which decodes ICO;
  only the first frame / page of an animation or multi-page TIFF is ever decoded, and it is the one checked;
- a memory budget per decode (`DECODE_BUDGET_BYTES`, 2 GiB): the peak a decode to RGB costs, from the stored
  mode's bytes per pixel plus the conversion's copies (`decode_cost`), is checked before decoding; 16-bit and
  32-bit grey are reduced to 8 bits, and transparency composited on white, in strips of rows (never a
  whole-image float64 copy or three full-size RGBA copies);
- truncated images are refused (`ImageFile.LOAD_TRUNCATED_IMAGES` is never set), including a JPEG whose scan
  data stops early but still ends with an EOI marker: libjpeg fills what is missing with exact mid-grey
  (128), so a decoded JPEG whose last 8 rows are all exactly 128 while the rest is not is refused as truncated
  (a heuristic: a real photo whose bottom band is exactly #808080 is refused too);
- every failure of a decoder (IndexError, struct.error, ValueError, DecompressionBombError, ...) becomes an
  `ImageLoadError` naming the input and the problem. MemoryError is let through on purpose: the budget keeps
  hostile files from reaching it, and one that still happens is the process running short, not a bad file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from intentcrop import defaults
from intentcrop.core.box import Box
from intentcrop.errors import ImageLoadError

ImageSource = "str | os.PathLike | bytes | Image.Image | np.ndarray"


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array {source.shape} {source.dtype}>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.size} {source.mode}>"
    return f"<{type(source).__name__}>"


def load_image(source: Any, mode: str = "RGB", max_pixels: int | None = None) -> Image.Image:
    """Read an image from a path, bytes, file object, PIL image or numpy array.

    Returns an upright image in `mode` (RGB by default). Animated images give their first frame.
    Transparent pixels are composited on white, since a crop is shown on a page, not a checkerboard.
    Raises ImageLoadError naming the input and the problem.
    """
    if isinstance(source, LazyImage):
        return source.full() if mode == "RGB" else load_image(source.source, mode, max_pixels)
    name = _describe(source)
    limit = defaults.DEFAULTS.max_image_pixels if max_pixels is None else max_pixels
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = _from_array(source, name)
    else:
        image = _open(source, name, limit)
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageLoadError(f"{name}: image has zero size ({width}x{height})")
    if width * height > limit:
        raise ImageLoadError(
            f"{name}: image is {width}x{height} = {width * height} pixels, more than the limit of {limit} "
            "(a decompression bomb guard; pass max_pixels to allow more)"
        )
    try:
        if getattr(image, "is_animated", False):
            image.seek(0)
        image.load()
        if image is not source:
            _refuse_grey_tail(image, name)
        if image is source:  # the caller's own image: transpose a copy
            image = ImageOps.exif_transpose(image)
        else:  # ours: turn it upright in place (a full-size copy saved; at 8192 px that is 130 MB)
            ImageOps.exif_transpose(image, in_place=True)
        return _convert(image, mode)
    except (ImageLoadError, MemoryError):
        raise
    except Exception as exc:  # any decoder failure (see the module docstring)
        raise _damaged(name, exc) from None


# Decode JPEGs straight to about the analysis size (DCT scaling) instead of decoding the full image and resizing
# it, on large images: the drafted copy keeps at least DRAFT_MARGIN x the analysis size, so the bilinear resize
# after it still averages several decoded pixels per analysis pixel. With margin 4 (a 256-px analysis copy from
# at least 1024 px) FCDB's 800-1280-px images are never drafted (crops byte-identical); drafting them all
# (margin 1) read IoU 0.6893 / 0.7373 (free-form / ratio-aware) against 0.6889 / 0.7388 decoded in full.
DRAFT_DECODE = True
DRAFT_MARGIN = 4
_UPRIGHT_SWAPS = {5, 6, 7, 8}  # EXIF orientations that turn the stored image a quarter turn


class LazyImage:
    """An image source known by its upright size, decoded only as far as asked (see the module docstring).

    `size` is the upright (EXIF-applied) full-resolution (width, height): every box refers to it."""

    def __init__(self, source: Any, name: str, size: tuple[int, int], stored_size: tuple[int, int],
                 draftable: bool, max_pixels: int | None) -> None:
        self.source = source  # a path or bytes (a file object is read into bytes), re-opened when decoding
        self.name = name
        self.size = size
        self.stored_size = stored_size
        self.draftable = draftable  # a baseline/progressive JPEG Pillow can decode at 1/2, 1/4 or 1/8 scale
        self.max_pixels = max_pixels
        self._full: Image.Image | None = None

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    @property
    def loaded(self) -> bool:
        """Whether the full-resolution image has been decoded."""
        return self._full is not None

    def full(self) -> Image.Image:
        """The upright full-resolution RGB image (decoded on the first call, then kept)."""
        if self._full is None:
            self._full = load_image(self.source, max_pixels=self.max_pixels)
        return self._full

    def analysis(self, size: tuple[int, int], margin: int | None = None) -> Image.Image:
        """An upright RGB copy of exactly `size` (w, h): the full image resized (bilinear), or for a JPEG,
        when DRAFT_DECODE is on and the full image is not decoded yet, the JPEG decoded at the smallest DCT
        scale (1/2, 1/4, 1/8) that still covers DRAFT_MARGIN x `size`, then resized (too small for a scale of
        1/2: decoded in full, kept, and resized, exactly as an eagerly loaded image). `margin` overrides
        DRAFT_MARGIN (the face detector's 640-px copy takes 1: it needs no averaging, and 4 would decode
        every photo under 5120 px in full)."""
        size = (int(size[0]), int(size[1]))
        if self._full is None and self.draftable and DRAFT_DECODE and size != self.size:
            small = self._draft(size, DRAFT_MARGIN if margin is None else max(1, int(margin)))
            if small is not None:
                return small
        full = self.full()
        return full if size == full.size else full.resize(size, Image.Resampling.BILINEAR)

    def _draft(self, size: tuple[int, int], margin: int = DRAFT_MARGIN) -> Image.Image | None:
        sw, sh = size
        if self.size != self.stored_size:  # a quarter turn: the stored image has the other axes
            sw, sh = sh, sw
        if min(self.stored_size[0] // (sw * margin), self.stored_size[1] // (sh * margin)) < 2:
            return None  # Pillow's draft would keep the full size (it scales by 1/2, 1/4 or 1/8 only)
        try:
            with _open(self.source, self.name, self.max_pixels or defaults.DEFAULTS.max_image_pixels) as image:
                if image.format != "JPEG" or image.mode not in ("RGB", "L"):
                    return None
                image.draft(image.mode, (sw * margin, sh * margin))
                if image.size == self.stored_size:  # not drafted after all: decode in full, once, and keep it
                    return None
                image.load()
                _refuse_grey_tail(image, self.name)
                ImageOps.exif_transpose(image, in_place=True)
                rgb = _convert(image, "RGB")
                # The drafted image is at least the asked size; the resize brings it to exactly `size` (a new
                # image either way: leaving the `with` closes the opened one).
                return rgb.copy() if rgb.size == size else rgb.resize(size, Image.Resampling.BILINEAR)
        except (ImageLoadError, MemoryError):
            raise
        except Exception as exc:  # any decoder failure (see the module docstring)
            raise _damaged(self.name, exc) from None

    def __repr__(self) -> str:
        return f"LazyImage({self.name}, {self.size[0]}x{self.size[1]}{', loaded' if self.loaded else ''})"


def open_image(source: Any, max_pixels: int | None = None) -> "LazyImage | Image.Image":
    """A JPEG file, path, bytes or file object -> a `LazyImage` (its header read, nothing decoded); any other
    source (PNG, WebP, ... files, PIL images, arrays) -> the upright RGB image, as `load_image` gives it (the
    analysis copy needs its full decode anyway); a LazyImage -> itself.

    Raises ImageLoadError for what the header already shows (no such file, not an image, too many pixels);
    damaged image data is reported when it is decoded."""
    if isinstance(source, LazyImage):
        return source
    if isinstance(source, (Image.Image, np.ndarray)):
        return load_image(source, max_pixels=max_pixels)
    name = _describe(source)
    limit = defaults.DEFAULTS.max_image_pixels if max_pixels is None else max_pixels
    if hasattr(source, "read") and not isinstance(source, (str, os.PathLike, bytes, bytearray)):
        source = source.read()  # a stream can be read once: keep its bytes to re-open them
        if not source:
            raise ImageLoadError(f"{name}: no image data (0 bytes)")
    if isinstance(source, bytearray):
        source = bytes(source)
    image = _open(source, name, limit)
    try:
        stored = image.size
        draftable = image.format == "JPEG" and image.mode in ("RGB", "L") and len(getattr(image, "tile", ())) == 1
        orientation = None
        if draftable and stored[0] > 0 and stored[1] > 0:
            try:  # a JPEG's EXIF sits in its header (other formats may need the pixels decoded to find it)
                orientation = image.getexif().get(0x0112, 1)
            except Exception:  # an unreadable EXIF block: let load_image's exif_transpose decide
                orientation = None
    finally:
        image.close()
    if orientation is None:  # not a JPEG Pillow can draft: nothing to gain from laziness, decode it now
        return load_image(source, max_pixels=max_pixels)
    size = stored[::-1] if orientation in _UPRIGHT_SWAPS else stored
    return LazyImage(source, name, size, stored, draftable, max_pixels)


# The formats Pillow may open (what users expect of a photo or a picture on the web). Anything else -- EPS/PS
# (Ghostscript), PDF, the many exotic formats Pillow can read -- is refused before a plugin sees it.
ALLOWED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "TIFF", "BMP", "DIB", "ICO", "AVIF")
_allowed: tuple[str, ...] | None = None


def _allowed_formats() -> tuple[str, ...]:
    """ALLOWED_FORMATS that this Pillow build can read (Image.open wants registered IDs only)."""
    global _allowed
    if _allowed is None:
        Image.init()
        _allowed = tuple(f for f in ALLOWED_FORMATS if f in Image.OPEN)
    return _allowed
# Peak bytes one decode to RGB may cost (see decode_cost): 2 GiB holds any image under Pillow's own bomb limit
# (178 megapixels: 0.7 GB as RGB, 1.25 GB as 16-bit grey, 1.6 GB as RGBA); it binds when that limit is raised.
DECODE_BUDGET_BYTES = 2 * 1024**3
_STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}  # else 4 (Pillow's layout)
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
# First bytes of what is refused by name (the allow-list would refuse it anyway; this says what it is).
_REFUSED_MAGIC = [(b"%!PS", "PostScript/EPS"), (b"\xc5\xd0\xd3\xc6", "EPS"), (b"%PDF", "PDF"),
                  (b"PK\x03\x04", "a ZIP archive"), (b"\x1f\x8b", "a gzip archive"), (b"<svg", "SVG"),
                  (b"<?xml", "XML/SVG"), (b"<!doctype html", "HTML"), (b"<html", "HTML")]


def decode_cost(mode: str, size: tuple[int, int], has_transparency: bool = False) -> int:
    """Peak bytes of decoding an image stored in `mode` at `size` and converting it to RGB as load_image does:
    the decoded image (Pillow keeps 1, 2 or 4 bytes a pixel) plus the copies the conversion makes (an RGB image
    is 4 bytes a pixel; deep grey and transparency are reduced in strips, about 1 byte a pixel more)."""
    pixels = int(size[0]) * int(size[1])
    stored = _STORED_BYTES.get(mode, 4)
    if mode == "RGB":
        extra = 0
    elif mode in _ALPHA_MODES or (mode == "P" and has_transparency):
        extra = 4 + 1  # the RGB result, composited on white in strips
    elif mode.startswith("I") or mode == "F":
        extra = 1 + 4  # 8-bit grey (made in strips), RGB result
    else:
        extra = 4  # RGB result
    return pixels * (stored + extra)


def _damaged(name: str, exc: BaseException) -> ImageLoadError:
    if isinstance(exc, Image.DecompressionBombError):
        return ImageLoadError(f"{name}: {exc} (Pillow's decompression bomb guard, 2 x PIL.Image.MAX_IMAGE_PIXELS)")
    if isinstance(exc, OSError):
        return ImageLoadError(f"{name}: image data is damaged or truncated ({exc})")
    return ImageLoadError(f"{name}: image data is damaged or truncated ({type(exc).__name__}: {exc})")


def _too_many(name: str, width: int, height: int, limit: int, what: str = "image") -> ImageLoadError:
    return ImageLoadError(
        f"{name}: {what} is {width}x{height} = {width * height} pixels, more than the limit of {limit} "
        "(a decompression bomb guard; pass max_pixels to allow more)"
    )


def _head(fp: Any, n: int) -> bytes:
    if isinstance(fp, Path):
        with open(fp, "rb") as f:
            return f.read(n)
    pos = fp.tell()
    try:
        return fp.read(n)
    finally:
        fp.seek(pos)


def _read_all(fp: Any) -> bytes:
    if isinstance(fp, Path):
        return fp.read_bytes()
    pos = fp.tell()
    try:
        return fp.read()
    finally:
        fp.seek(pos)


def _check_ico(data: bytes, name: str, limit: int) -> None:
    """Pillow decodes an ICO's largest image inside Image.open, and its directory says at most 256x256: read the
    size each embedded PNG (IHDR) or BMP (info header) declares and refuse a bomb before Pillow decodes it."""
    import struct

    if len(data) < 6:
        raise ImageLoadError(f"{name}: ICO file is truncated (no directory)")
    count = struct.unpack_from("<H", data, 4)[0]
    if count == 0 or len(data) < 6 + 16 * count:
        raise ImageLoadError(f"{name}: ICO directory is empty or truncated ({count} entries)")
    for i in range(count):
        _, _, _, _, _, _, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        head = data[offset:offset + 26]
        if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
            width, height = struct.unpack_from(">II", head, 16)
        elif len(head) >= 12:
            width, height = struct.unpack_from("<ii", head, 4)
            width, height = abs(width), abs(height) // 2  # a BMP icon's height counts its AND mask
        else:
            raise ImageLoadError(f"{name}: ICO image {i + 1} lies outside the file (offset {offset})")
        if width * height > limit:
            raise _too_many(name, width, height, limit, f"ICO image {i + 1}")
        cost = decode_cost("RGBA", (width, height)) + 4 * width * height  # Pillow decodes the icon, then we do
        if cost > DECODE_BUDGET_BYTES:
            raise ImageLoadError(f"{name}: ICO image {i + 1} ({width}x{height}) would need {cost / 2**20:.0f} MiB "
                                 f"to decode, more than the budget of {DECODE_BUDGET_BYTES / 2**20:.0f} MiB")


def _open(source: Any, name: str, limit: int) -> Image.Image:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            if not path.exists():
                raise ImageLoadError(f"{name:.200}: no such file")
            if path.is_dir():
                raise ImageLoadError(f"{name}: is a folder, not an image file")
            size = path.stat().st_size
        except (OSError, ValueError) as exc:  # a name too long (ENAMETOOLONG), a NUL in it, no permission
            raise ImageLoadError(f"{name:.200}: cannot be read as a file: {getattr(exc, 'strerror', None) or exc}") from None
        if size == 0:
            raise ImageLoadError(f"{name}: file is empty (0 bytes)")
        fp: Any = path
    elif isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageLoadError(f"{name}: no image data (0 bytes)")
        fp = io.BytesIO(source)
    elif hasattr(source, "read"):
        fp = source
        seekable = getattr(fp, "seekable", None)
        if not (callable(seekable) and seekable()):
            fp = io.BytesIO(fp.read())  # the header is read twice (sniffing, then Pillow): keep the bytes
    else:
        raise ImageLoadError(f"{name}: not an image source (give a path, bytes, a PIL image or an array)")
    try:
        head = _head(fp, 64)
        lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        for magic, kind in _REFUSED_MAGIC:
            if head.startswith(magic) or lowered.startswith(magic.lower()):
                raise ImageLoadError(f"{name}: {kind} is not an accepted image format "
                                     f"(accepted: {', '.join(_allowed_formats())})")
        if head[:4] == b"\x00\x00\x01\x00":  # ICO
            _check_ico(_read_all(fp), name, limit)
        # Pillow's own bomb check stays on: Image.open raises DecompressionBombError past 2 x MAX_IMAGE_PIXELS.
        image = Image.open(fp, formats=_allowed_formats())
    except (ImageLoadError, MemoryError):
        raise
    except UnidentifiedImageError:
        if _declares_zero_size(fp):
            raise ImageLoadError(f"{name}: image has zero size (its header declares a 0-pixel side)") from None
        raise ImageLoadError(f"{name}: not an image (format not recognised; accepted: "
                             f"{', '.join(_allowed_formats())})") from None
    except Exception as exc:  # any failure of a plugin's header parsing (see the module docstring)
        raise _damaged(name, exc) from None
    try:
        width, height = image.size
        if width * height > limit:
            raise _too_many(name, width, height, limit)
        cost = decode_cost(image.mode, image.size, "transparency" in image.info)
        if cost > DECODE_BUDGET_BYTES:
            raise ImageLoadError(
                f"{name}: a {width}x{height} {image.mode} image would need {cost / 2**20:.0f} MiB to decode, more "
                f"than the budget of {DECODE_BUDGET_BYTES / 2**20:.0f} MiB (intentcrop.io.image.DECODE_BUDGET_BYTES)")
    except BaseException:
        image.close()
        raise
    return image


def _refuse_grey_tail(image: Image.Image, name: str) -> None:
    """A JPEG whose scan data stops early but ends with EOI decodes without an error, the missing part filled with
    exact mid-grey: refuse it when its last 8 rows are all exactly 128 and the image is not all that grey."""
    if image.format not in ("JPEG", "MPO") or image.mode not in ("RGB", "L"):
        return
    width, height = image.size
    if height < 16 or width < 8:
        return
    tail = image.crop((0, height - 8, width, height)).getextrema()
    grey = ((128, 128),) * len(image.getbands()) if image.mode == "RGB" else (128, 128)
    if tail != grey:
        return
    if image.getextrema() == grey:
        return
    raise ImageLoadError(f"{name}: image data is damaged or truncated (the JPEG's scan data ends early: its last "
                         "rows are the decoder's grey fill)")


def _declares_zero_size(fp: Any) -> bool:
    """Pillow refuses a PNG/GIF/BMP whose header says 0 px wide or high as 'unidentified'; say what it is."""
    try:
        if isinstance(fp, Path):
            with open(fp, "rb") as f:
                head = f.read(32)
        else:
            fp.seek(0)
            head = fp.read(32)
    except (OSError, AttributeError):
        return False
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        return int.from_bytes(head[16:20], "big") == 0 or int.from_bytes(head[20:24], "big") == 0
    if head[:4] in (b"GIF8",) and len(head) >= 10:
        return int.from_bytes(head[6:8], "little") == 0 or int.from_bytes(head[8:10], "little") == 0
    if head[:2] == b"BM" and len(head) >= 26:
        return int.from_bytes(head[18:22], "little", signed=True) == 0 or int.from_bytes(head[22:26], "little", signed=True) == 0
    return False


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageLoadError(f"{name}: array must be HxW, HxWx3 or HxWx4")
    if arr.size == 0:
        raise ImageLoadError(f"{name}: image has zero size")
    if arr.dtype == np.uint8:
        pass
    elif arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageLoadError(f"{name}: array has NaN or infinite values")
        scale = 255.0 if arr.max() <= 1.0 else 1.0  # floats in 0..1 are the common convention
        arr = np.clip(arr * scale, 0, 255).round().astype(np.uint8)
    elif arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.integer):
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    else:
        raise ImageLoadError(f"{name}: unsupported array dtype {arr.dtype}")
    return Image.fromarray(np.ascontiguousarray(arr))


def _convert(image: Image.Image, mode: str) -> Image.Image:
    if image.mode == mode:
        return image.copy() if image.readonly else image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = _to_grey8(image)
    transparent_palette = image.mode == "P" and "transparency" in image.info
    if (image.mode in _ALPHA_MODES or transparent_palette) and mode in ("RGB", "L"):
        return _flatten_on_white(image, mode)
    if image.mode == "P":
        image = image.convert("RGBA" if transparent_palette else "RGB")
        if image.mode == mode:  # converted once: no second full-size copy
            return image
    if image.mode == "CMYK" and mode == "RGB":
        return image.convert("RGB")
    return image.convert(mode)


_STRIP_PIXELS = 1 << 20  # pixels per strip when reducing deep grey to 8 bits or compositing transparency


def _flatten_on_white(image: Image.Image, mode: str) -> Image.Image:
    """A transparent image (alpha modes, a palette with a transparent index) composited on white, in `mode`: strips
    of rows converted to RGBA, composited and converted one at a time (the same pixels as doing it whole, without
    three full-size RGBA copies)."""
    width, height = image.size
    out = Image.new(mode, image.size)
    rows = max(1, _STRIP_PIXELS // max(width, 1))
    for y in range(0, height, rows):
        strip = image.crop((0, y, width, min(y + rows, height))).convert("RGBA")
        background = Image.new("RGBA", strip.size, (255, 255, 255, 255))
        out.paste(Image.alpha_composite(background, strip).convert(mode), (0, y))
    return out


def _to_grey8(image: Image.Image) -> Image.Image:
    """16-bit (I;16), 32-bit (I) or float (F) grey -> 8-bit L: value / top * 255, clipped, truncated, where top is
    65535 for 16-bit images and for deeper ones whose maximum exceeds 255, else 255. Computed in strips of rows
    (float64 only for a strip), so the peak is the source plus the 8-bit result, not three float64 copies."""
    arr = np.asarray(image)
    if image.mode.startswith("I;16"):
        top = 65535.0
    else:
        top = 65535.0 if arr.size and float(arr.max()) > 255 else 255.0
    out = np.empty(arr.shape, dtype=np.uint8)
    rows = max(1, _STRIP_PIXELS // max(arr.shape[1], 1))
    for y in range(0, arr.shape[0], rows):
        strip = arr[y:y + rows].astype(np.float64)
        out[y:y + rows] = np.clip(strip / top * 255.0, 0, 255).astype(np.uint8)
    return Image.fromarray(out, "L")


def crop_scale(box: Box, image_size: tuple[int, int], output_size: tuple[int, int] | None) -> float:
    """How much cutting `box` (clamped to an image of `image_size`) and resizing it to `output_size` enlarges it:
    the larger of the two side factors (1.0 without an output size; above 1 means pixels are invented)."""
    if output_size is None:
        return 1.0
    x1, y1, x2, y2 = box.clip(*image_size).as_int_tuple()
    w, h = max(x2 - x1, 1), max(y2 - y1, 1)
    return max(output_size[0] / w, output_size[1] / h)


def crop_image(image: Image.Image, box: Box, output_size: tuple[int, int] | None = None,
               upscale: bool = True) -> Image.Image:
    """Cut `box` (clamped to the image) out of `image`, resized to output_size if given. With upscale=False a
    crop smaller than output_size is never enlarged: it keeps its own size (and so the ratio of its box)."""
    x1, y1, x2, y2 = box.clip(*image.size).as_int_tuple()
    out = image.crop((x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)))
    if output_size is not None and out.size != tuple(output_size):
        if upscale or (output_size[0] <= out.size[0] and output_size[1] <= out.size[1]):
            out = out.resize(tuple(output_size), Image.Resampling.LANCZOS)
    return out


_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP",
            ".tif": "TIFF", ".tiff": "TIFF", ".gif": "GIF"}


def output_format(path: "str | os.PathLike") -> str:
    """The image format implied by a file extension, or an error naming the supported ones."""
    ext = Path(path).suffix.lower()
    if ext not in _FORMATS:
        raise ImageLoadError(f"{path}: unknown output extension {ext!r}; use one of {', '.join(sorted(_FORMATS))}")
    return _FORMATS[ext]


DEFAULT_QUALITY = 92  # JPEG / WebP quality of written crops (--quality)
_META_FORMATS = {"JPEG": ("icc_profile", "exif"), "PNG": ("icc_profile", "exif"), "WEBP": ("icc_profile", "exif"),
                 "TIFF": ("icc_profile",)}  # what Pillow can write into each format
_EXIF_ORIENTATION, _EXIF_IFD, _EXIF_WIDTH, _EXIF_HEIGHT = 0x0112, 0x8769, 0xA002, 0xA003


def read_metadata(source: Any) -> dict[str, bytes]:
    """The colour profile and EXIF of an image source, to keep on its crops: {"icc_profile": ..., "exif": ...}
    (each only when present). A path, bytes or LazyImage is read from its header (no pixels decoded); a PIL
    image gives its own `info`. An unreadable source gives {} (metadata is never a reason to fail a crop)."""
    if isinstance(source, LazyImage):
        source = source.source
    info: dict[str, Any] = {}
    try:
        if isinstance(source, Image.Image):
            info = dict(source.info)
        elif isinstance(source, (str, os.PathLike, bytes, bytearray)):
            with _open(source, _describe(source), 2**63) as image:
                info = dict(image.info)
    except MemoryError:
        raise
    except Exception:  # ImageLoadError or a plugin's failure reading the header
        return {}
    out = {k: info[k] for k in ("icc_profile", "exif") if isinstance(info.get(k), (bytes, bytearray)) and info[k]}
    return {k: bytes(v) for k, v in out.items()}


def _profile_space(profile: bytes) -> bytes:
    return profile[16:20] if len(profile) >= 20 else b""  # ICC header: the data colour space, e.g. b"RGB "


def _exif_for_crop(raw: bytes, size: tuple[int, int]) -> bytes | None:
    """The source's EXIF for an upright crop of `size`: orientation 1 (the pixels are already turned), the pixel
    dimensions (where the source recorded them) the crop's."""
    try:
        exif = Image.Exif()
        exif.load(raw)
        exif[_EXIF_ORIENTATION] = 1
        sub = exif.get_ifd(_EXIF_IFD)
        if sub:
            if _EXIF_WIDTH in sub:
                sub[_EXIF_WIDTH] = size[0]
            if _EXIF_HEIGHT in sub:
                sub[_EXIF_HEIGHT] = size[1]
        return exif.tobytes()
    except Exception:  # a damaged EXIF block: write the crop without it rather than fail
        return None


def _save_params(image: Image.Image, fmt: str, quality: int, metadata: "dict[str, bytes] | None") -> dict[str, Any]:
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be 1..100, got {quality}")
    params: dict[str, Any] = {"quality": int(quality)} if fmt in ("JPEG", "WEBP") else {}
    keep = _META_FORMATS.get(fmt, ())
    metadata = metadata or {}
    profile = metadata.get("icc_profile")
    if profile and "icc_profile" in keep:
        # A CMYK or grey profile does not describe the RGB pixels we write: dropped rather than mislabel them.
        wanted = {"RGB": b"RGB ", "L": b"GRAY"}.get(image.mode)
        if wanted is not None and _profile_space(profile) == wanted:
            params["icc_profile"] = profile
    if metadata.get("exif") and "exif" in keep:
        exif = _exif_for_crop(metadata["exif"], image.size)
        if exif:
            params["exif"] = exif
    return params


def save_image(image: Image.Image, path: "str | os.PathLike", overwrite: bool = False,
               quality: int = DEFAULT_QUALITY, metadata: "dict[str, bytes] | None" = None) -> Path:
    """Write `image` in the format its extension names; never replaces an existing file unless asked.

    quality: JPEG / WebP quality, 1..100. metadata: what `read_metadata` gave for the source -- its ICC profile
    (kept when it describes the written pixels) and EXIF (orientation reset to 1) are written where the format
    allows (JPEG, PNG, WebP; TIFF the profile only).

    The write is atomic (`intentcrop.io.atomic.write_atomic`): a random, exclusively created temp file in the
    same folder, fsynced, then linked (or, with overwrite, renamed) onto `path`; a failure midway leaves nothing."""
    from intentcrop.io.atomic import write_atomic

    path = Path(path)
    fmt = output_format(path)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{path}: already exists (pass --overwrite to replace it)")
    img = image.convert("RGB") if fmt == "JPEG" and image.mode not in ("RGB", "L") else image
    params = _save_params(img, fmt, quality, metadata)
    try:
        write_atomic(path, lambda f: img.save(f, format=fmt, **params), overwrite=overwrite)
    except FileExistsError:
        raise FileExistsError(f"{path}: already exists (pass --overwrite to replace it)") from None
    return path


def encode_image(image: Image.Image, fmt: str = "PNG", quality: int = DEFAULT_QUALITY,
                 metadata: "dict[str, bytes] | None" = None) -> bytes:
    """`image` as the bytes of a `fmt` file ("PNG", "JPEG", "WEBP", ...), with `metadata` as in save_image."""
    buf = io.BytesIO()
    img = image.convert("RGB") if fmt == "JPEG" and image.mode not in ("RGB", "L") else image
    img.save(buf, format=fmt, **_save_params(img, fmt, quality, metadata))
    return buf.getvalue()
