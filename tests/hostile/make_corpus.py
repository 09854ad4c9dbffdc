"""Generate the hostile-input corpus: small files that attack image loading (bombs in every container,
truncations, odd modes, bad EXIF, EPS in disguise, huge texts, not-images), each with what intentcrop must do.

usage:  python tests/hostile/make_corpus.py [OUTDIR]     (default: tests/hostile/corpus beside this script)

Deterministic: the same Pillow gives the same bytes. Writes OUTDIR/<name> for every entry and
OUTDIR/manifest.json: {name: {"expect": "crop" | "refuse" | "either", "what": "..."}}.
  crop    a valid if odd image: it must crop;
  refuse  it must be refused with ImageLoadError naming the file;
  either  cropping or refusing (with an IntentCropError) are both right; nothing else may escape.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, TiffImagePlugin

CORPUS = Path(__file__).resolve().parent / "corpus"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png(width: int, height: int, bit_depth: int = 8, colour: int = 2, idat: bytes | None = None,
        extra: bytes = b"", raw_rows: bool = False) -> bytes:
    """A PNG from its header; idat: the compressed data (default: zeros for every row, compressed)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    if idat is None:
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
        row = 1 + (width * channels * bit_depth + 7) // 8
        comp = zlib.compressobj(9)
        body = comp.compress(b"\0" * row * height) + comp.flush()
        idat = body
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def photo(size=(96, 72), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = (rng.random((6, 8, 3)) * 255).astype(np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BILINEAR)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def ico_with(entry: bytes, dims=(0, 0)) -> bytes:
    """An ICO with one directory entry (dims as the directory says, 0 = 256) pointing at `entry`."""
    header = struct.pack("<HHH", 0, 1, 1)
    directory = struct.pack("<BBBBHHII", dims[0], dims[1], 0, 0, 1, 32, len(entry), 6 + 16)
    return header + directory + entry


def bmp_header(width: int, height: int, bpp: int = 24) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bpp, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + 16, 0, 0, 14 + len(info)) + info + b"\0" * 16


def tiff_header(width: int, height: int) -> bytes:
    """A little-endian TIFF whose only IFD declares width x height, 8-bit grey, one strip of 16 bytes."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8 + 2 + 12 * 9 + 4), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0" * 16


def multipage_tiff_bomb() -> bytes:
    """Page 1 a real 64x48 picture, page 2 declares 100000 x 100000."""
    first = encode(photo((64, 48)).convert("L"), "TIFF")
    # Append a second IFD: patch the first IFD's next-IFD offset to point at a bomb IFD at the end.
    data = bytearray(first)
    ifd0 = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, ifd0)[0]
    next_at = ifd0 + 2 + 12 * count
    bomb_at = len(data) + (len(data) % 2)
    data += b"\0" * (bomb_at - len(data))
    struct.pack_into("<I", data, next_at, bomb_at)
    entries = [(256, 4, 1, 100000), (257, 4, 1, 100000), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 100000), (279, 4, 1, 16)]
    data += struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return bytes(data)


def gif_screen(width: int, height: int, frame: tuple[int, int] | None = None) -> bytes:
    """A GIF with a logical screen of width x height and one frame (default the screen's size), little data."""
    fw, fh = frame or (width, height)
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    desc = b"," + struct.pack("<HHHHB", 0, 0, fw, fh, 0)
    return head + desc + b"\x02\x02\x44\x01\x00;"


def gif_many_frames(frames: int) -> bytes:
    """A 32x24 GIF followed by `frames` one-pixel frames."""
    first = bytearray(encode(photo((32, 24)).convert("P"), "GIF"))
    assert first[-1:] == b";"
    one = b"!\xf9\x04\x00\x00\x00\x00\x00" + b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return bytes(first[:-1]) + one * frames + b";"


def apng_declares(frames: int) -> bytes:
    """A PNG whose acTL chunk declares `frames` frames but that holds one."""
    base = encode(photo((48, 32)), "PNG")
    actl = _chunk(b"acTL", struct.pack(">II", frames, 0))
    return base[:33] + actl + base[33:]


def jpeg_dims(data: bytes, width: int, height: int) -> bytes:
    """A JPEG whose SOF claims width x height while its scan holds the original's few pixels: a truncated scan
    that still ends with EOI (libjpeg fills the rest with grey and reports no error)."""
    data = bytearray(data)
    i = data.find(b"\xff\xc0")
    if i < 0:
        i = data.find(b"\xff\xc2")
    struct.pack_into(">HH", data, i + 5, height, width)
    return bytes(data)


def with_exif_orientation(value, fmt="JPEG") -> bytes:
    image = photo((80, 60))
    exif = Image.Exif()
    exif[0x0112] = value
    return encode(image, fmt, exif=exif.tobytes())


def exif_garbage() -> bytes:
    """A JPEG whose APP1 Exif segment is a TIFF header pointing outside itself."""
    base = encode(photo((80, 60)), "JPEG", quality=80)
    payload = b"Exif\0\0" + b"II*\0" + struct.pack("<I", 0x7FFFFFF0) + b"\xff" * 40
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return base[:2] + app1 + base[2:]


def exif_huge() -> bytes:
    """A JPEG with a 65 kB EXIF block (a long ImageDescription)."""
    exif = Image.Exif()
    exif[0x010E] = "x" * 64000
    exif[0x0112] = 6
    return encode(photo((80, 60)), "JPEG", exif=exif.tobytes())


def exif_orientation_string() -> bytes:
    """Orientation stored as ASCII text instead of a SHORT."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHI4s", 0x0112, 2, 4, b"six\0") + b"\0\0\0\0"
    raw = b"II*\0" + struct.pack("<I", 8) + ifd
    return encode(photo((80, 60)), "JPEG", exif=b"Exif\0\0" + raw)


def png_text_bomb() -> bytes:
    """A zTXt chunk that inflates to 64 MB."""
    comp = zlib.compressobj(9)
    text = comp.compress(b"a" * (64 << 20)) + comp.flush()
    ztxt = _chunk(b"zTXt", b"Comment\0\0" + text)
    base = encode(photo((48, 32)), "PNG")
    return base[:33] + ztxt + base[33:]


def png_many_texts(count=500) -> bytes:
    base = encode(photo((48, 32)), "PNG")
    texts = b"".join(_chunk(b"tEXt", b"k%d\0" % i + b"v" * 100) for i in range(count))
    return base[:33] + texts + base[33:]


def png_iccp_bomb() -> bytes:
    comp = zlib.compressobj(9)
    profile = comp.compress(b"\0" * (32 << 20)) + comp.flush()
    iccp = _chunk(b"iCCP", b"icc\0\0" + profile)
    base = encode(photo((48, 32)), "PNG")
    return base[:33] + iccp + base[33:]


def webp_canvas(width: int, height: int) -> bytes:
    """A WebP VP8X header claiming a width x height canvas, with no image data."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (width - 1).to_bytes(3, "little") + \
        (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def webp_lossless_header(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    vp8l = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + struct.pack("<I", bits) + b"\0"
    return b"RIFF" + struct.pack("<I", 4 + len(vp8l)) + b"WEBP" + vp8l


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n"
       b"%%EndComments\n/Helvetica findfont 12 scalefont setfont 10 10 moveto (hello) show showpage\n%%EOF\n")


def eps_binary() -> bytes:
    """A DOS EPS binary header (C5D0D3C6) in front of PostScript."""
    header = b"\xc5\xd0\xd3\xc6" + struct.pack("<IIIIIIH", 30, len(EPS), 0, 0, 0, 0, 0xFFFF)
    return header + EPS


def zip_file() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("photo.jpg", date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, encode(photo(), "JPEG"))
    return buf.getvalue()


def entries() -> list[tuple[str, str, str, bytes]]:
    """(name, expect, what, bytes) for every entry."""
    jpg = encode(photo((320, 240)), "JPEG", quality=90)
    prog = encode(photo((320, 240), 1), "JPEG", quality=90, progressive=True)
    pngb = encode(photo((320, 240)), "PNG")
    noisy = encode(Image.effect_noise((400, 400), 60).convert("RGB"), "JPEG", quality=85)
    cmyk = encode(photo((80, 60)).convert("CMYK"), "JPEG")
    grey16 = Image.fromarray((np.arange(96 * 72, dtype=np.uint16).reshape(72, 96) * 9).astype(np.uint16))
    tiff_f = Image.fromarray(np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64), "F")
    rgb16 = png(40, 30, 16, 2)
    e = [
        # --- bombs in every container (header sizes past the limit, or past the decode budget)
        ("bomb-png-header.png", "refuse", "PNG header 100000x100000, no data", png(100000, 100000, idat=b"")),
        ("bomb-png-deflate.png", "refuse", "1-bit PNG 15000x12000 of real zero rows (180 Mpx)",
         png(15000, 12000, 1, 0)),
        ("bomb-ico-png.ico", "refuse", "91-byte-style ICO whose PNG declares 100000x100000",
         ico_with(png(100000, 100000, idat=b""))),
        ("bomb-ico-png-budget.ico", "refuse", "ICO whose PNG is 13000x13000 RGBA (under Pillow's limit, over budget)",
         ico_with(png(13000, 13000, 8, 6, idat=b""))),
        ("bomb-ico-bmp.ico", "refuse", "ICO whose BMP icon declares 60000x60000",
         ico_with(struct.pack("<IiiHHIIiiII", 40, 60000, 120000, 1, 32, 0, 0, 0, 0, 0, 0))),
        ("bomb-gif-screen.gif", "refuse", "GIF logical screen 65535x65535", gif_screen(65535, 65535)),
        ("bomb-gif-frame.gif", "either", "small GIF screen, first frame descriptor 65535x65535",
         gif_screen(16, 16, (65535, 65535))),
        ("bomb-tiff-header.tif", "refuse", "TIFF IFD 100000x100000", tiff_header(100000, 100000)),
        ("bomb-webp-vp8x.webp", "refuse", "WebP VP8X canvas 16777216x16777216", webp_canvas(1 << 24, 1 << 24)),
        ("bomb-webp-vp8l.webp", "refuse", "WebP VP8L header 16384x16384 (268 Mpx)", webp_lossless_header(16384, 16384)),
        ("bomb-bmp-header.bmp", "refuse", "BMP header 100000x100000", bmp_header(100000, 100000)),
        ("bomb-jpeg-sof.jpg", "refuse", "JPEG SOF 65500x65500", jpeg_dims(jpg, 65500, 65500)),
        ("bomb-png-text.png", "either", "zTXt chunk inflating to 64 MB", png_text_bomb()),
        ("bomb-png-iccp.png", "either", "iCCP profile inflating to 32 MB", png_iccp_bomb()),
        ("bomb-png-many-texts.png", "either", "500 tEXt chunks", png_many_texts()),
        # --- frames and pages: only the first is ever decoded
        ("frames-tiff-page2-bomb.tif", "crop", "2-page TIFF, page 2 declares 100000x100000", multipage_tiff_bomb()),
        ("frames-gif-5000.gif", "crop", "GIF with 5000 frames", gif_many_frames(5000)),
        ("frames-apng-declares-10000.png", "crop", "APNG acTL declares 10000 frames, holds 1", apng_declares(10000)),
        ("frames-webp-animated.webp", "crop", "animated WebP, 3 frames",
         encode(photo((48, 32)), "WEBP", save_all=True, append_images=[photo((48, 32), 2), photo((48, 32), 3)])),
        # --- truncations
        ("trunc-jpeg-10.jpg", "refuse", "JPEG cut at 10%", jpg[: len(jpg) // 10]),
        ("trunc-jpeg-50.jpg", "refuse", "JPEG cut at 50%", jpg[: len(jpg) // 2]),
        ("trunc-jpeg-99.jpg", "refuse", "JPEG missing its last bytes", jpg[:-3]),
        ("trunc-jpeg-progressive.jpg", "refuse", "progressive JPEG cut at 60%", prog[: len(prog) * 6 // 10]),
        ("trunc-jpeg-eoi.jpg", "refuse", "noisy JPEG cut at 40% then EOI appended", noisy[: len(noisy) * 4 // 10] + b"\xff\xd9"),
        ("trunc-jpeg-sof-lies.jpg", "refuse", "JPEG claiming 6000x6000 with a 320x240 scan (ends with EOI)",
         jpeg_dims(jpg, 6000, 6000)),
        ("trunc-png-20.png", "refuse", "PNG cut at 20%", pngb[: len(pngb) // 5]),
        ("trunc-png-60.png", "refuse", "PNG cut at 60%", pngb[: len(pngb) * 6 // 10]),
        ("trunc-png-header.png", "refuse", "PNG cut inside IHDR", pngb[:20]),
        ("trunc-gif.gif", "either", "GIF cut at 50%", encode(photo((64, 48)).convert("P"), "GIF")[:300]),
        ("trunc-webp.webp", "refuse", "WebP cut at 50%", (lambda d: d[: len(d) // 2])(encode(photo((64, 48)), "WEBP"))),
        ("trunc-tiff.tif", "refuse", "TIFF cut at 50%", (lambda d: d[: len(d) // 2])(encode(photo((64, 48)), "TIFF"))),
        ("trunc-bmp.bmp", "refuse", "BMP cut at 50%", (lambda d: d[: len(d) // 2])(encode(photo((64, 48)), "BMP"))),
        # --- odd but valid modes
        ("mode-png-16bit-grey.png", "crop", "16-bit grey PNG (I;16)", encode(grey16, "PNG")),
        ("mode-png-16bit-rgb.png", "crop", "16-bit RGB PNG", rgb16),
        ("mode-png-1bit.png", "crop", "1-bit PNG", encode(photo((96, 72)).convert("1"), "PNG")),
        ("mode-png-palette.png", "crop", "palette PNG", encode(photo((96, 72)).convert("P"), "PNG")),
        ("mode-png-palette-transparent.png", "crop", "palette PNG with a transparent index",
         encode(photo((96, 72)).convert("P"), "PNG", transparency=0)),
        ("mode-png-la.png", "crop", "grey + alpha PNG", encode(photo((96, 72)).convert("LA"), "PNG")),
        ("mode-png-rgba.png", "crop", "RGBA PNG, half transparent",
         encode(Image.merge("RGBA", (*photo((96, 72)).split(), Image.new("L", (96, 72), 128))), "PNG")),
        ("mode-jpeg-cmyk.jpg", "crop", "CMYK JPEG", cmyk),
        ("mode-jpeg-grey.jpg", "crop", "greyscale JPEG", encode(photo((96, 72)).convert("L"), "JPEG")),
        ("mode-tiff-i16.tif", "crop", "16-bit grey TIFF", encode(grey16, "TIFF")),
        ("mode-tiff-float.tif", "crop", "32-bit float TIFF (F)", encode(tiff_f, "TIFF")),
        ("mode-tiff-cmyk.tif", "crop", "CMYK TIFF", encode(photo((64, 48)).convert("CMYK"), "TIFF")),
        ("mode-bmp-rle8.bmp", "crop", "8-bit BMP", encode(photo((64, 48)).convert("P"), "BMP")),
        ("mode-ico.ico", "crop", "a real 48x48 icon", encode(photo((48, 48)), "ICO", sizes=[(48, 48)])),
        ("mode-gif-transparent.gif", "crop", "GIF with transparency",
         encode(photo((64, 48)).convert("P"), "GIF", transparency=3)),
        # --- odd sizes
        ("size-1x1.png", "crop", "1x1 PNG", encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG")),
        ("size-1x100000.png", "crop", "1x100000 strip", encode(Image.new("L", (1, 100000), 90), "PNG")),
        ("size-100000x1.png", "crop", "100000x1 strip", encode(Image.new("L", (100000, 1), 90), "PNG")),
        ("size-zero-width.png", "refuse", "PNG header 0x10", png(0, 10, idat=b"")),
        ("size-zero-bmp.bmp", "refuse", "BMP header 0x0", bmp_header(0, 0)),
        # --- EXIF
        ("exif-orientation-0.jpg", "crop", "EXIF orientation 0", with_exif_orientation(0)),
        ("exif-orientation-9.jpg", "crop", "EXIF orientation 9", with_exif_orientation(9)),
        ("exif-orientation-65535.jpg", "crop", "EXIF orientation 65535", with_exif_orientation(65535)),
        ("exif-orientation-text.jpg", "crop", "EXIF orientation as ASCII text", exif_orientation_string()),
        ("exif-orientation-6.png", "crop", "PNG with eXIf orientation 6", with_exif_orientation(6, "PNG")),
        ("exif-garbage.jpg", "crop", "Exif segment pointing outside itself", exif_garbage()),
        ("exif-huge.jpg", "crop", "64 kB EXIF description", exif_huge()),
        # --- PostScript and other things in disguise
        ("disguise-eps.jpg", "refuse", "EPS named .jpg", EPS),
        ("disguise-eps.png", "refuse", "EPS named .png", EPS),
        ("disguise-eps-binary.jpg", "refuse", "DOS-binary EPS named .jpg", eps_binary()),
        ("disguise-ps-bom.jpg", "refuse", "PostScript behind spaces", b"\n  " + EPS),
        ("disguise-pdf.jpg", "refuse", "PDF named .jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
        ("disguise-svg.png", "refuse", "SVG named .png",
         b'<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><rect width="1" height="1"/></svg>'),
        ("disguise-xml-svg.jpg", "refuse", "XML/SVG named .jpg", b'<?xml version="1.0"?><svg width="10" height="10"/>'),
        ("disguise-html.jpg", "refuse", "HTML named .jpg", b"<!DOCTYPE html><html><body>hi</body></html>"),
        ("disguise-zip.jpg", "refuse", "ZIP holding a JPEG", zip_file()),
        ("disguise-gzip.png", "refuse", "gzip named .png", zlib.compress(b"x") and b"\x1f\x8b\x08\x00" + b"\0" * 20),
        ("disguise-tga.jpg", "refuse", "a valid TGA (not an accepted format)", encode(photo((32, 24)), "TGA")),
        ("disguise-pcx.png", "refuse", "a valid PCX (not an accepted format)", encode(photo((32, 24)), "PCX")),
        ("disguise-cur.ico", "refuse", "a CUR cursor (not an accepted format)",
         b"\0\0\2\0" + encode(photo((16, 16)), "ICO", sizes=[(16, 16)])[4:]),
        # --- not images at all
        ("empty.jpg", "refuse", "0 bytes", b""),
        ("one-byte.png", "refuse", "1 byte", b"\x89"),
        ("text.jpg", "refuse", "plain text", b"this is not a picture\n" * 10),
        ("random.png", "refuse", "random bytes", np.random.default_rng(7).integers(0, 256, 2048, dtype=np.uint8).tobytes()),
        ("png-bad-crc.png", "either", "PNG whose IHDR CRC is wrong",
         (lambda d: d[:29] + b"\0\0\0\0" + d[33:])(pngb)),
        ("png-bad-filter.png", "refuse", "PNG rows with filter type 9",
         png(16, 16, idat=zlib.compress((b"\x09" + b"\0" * 48) * 16))),
    ]
    return e


def write(out: Path = CORPUS) -> dict[str, dict[str, str]]:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, expect, what, data in entries():
        (out / name).write_bytes(data)
        manifest[name] = {"expect": expect, "what": what}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    made = write(target)
    total = sum((target / n).stat().st_size for n in made)
    print(f"{len(made)} entries, {total} bytes in {target}")
