import io

import numpy as np
import pytest
from PIL import Image

from intentcrop.errors import ImageLoadError
from intentcrop.io.image import crop_image, load_image, save_image
from intentcrop.core.box import Box


def _png_bytes(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image.new("RGBA", (20, 10), (255, 0, 0, 0)),
        lambda: Image.new("LA", (20, 10), (100, 128)),
        lambda: Image.new("P", (20, 10), 3),
        lambda: Image.new("CMYK", (20, 10), (0, 255, 0, 0)),
        lambda: Image.new("L", (20, 10), 128),
        lambda: Image.new("1", (20, 10), 1),
        lambda: Image.fromarray(np.full((10, 20), 40000, dtype=np.uint16)),
        lambda: Image.new("I", (20, 10), 1000),
        lambda: Image.new("F", (20, 10), 0.5),
    ],
)
def test_every_mode_becomes_rgb(make):
    out = load_image(make())
    assert out.mode == "RGB" and out.size == (20, 10)


def test_transparent_pixels_become_white():
    out = load_image(Image.new("RGBA", (4, 4), (255, 0, 0, 0)))
    assert out.getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_keeps_its_range():
    arr = np.full((4, 4), 65535, dtype=np.uint16)
    assert load_image(arr).getpixel((0, 0)) == (255, 255, 255)
    assert load_image(Image.fromarray(arr)).getpixel((0, 0)) == (255, 255, 255)


def test_exif_orientation_is_applied_before_anything_else():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red strip on the left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    data = _png_bytes(img, "JPEG", exif=exif.tobytes(), quality=95)
    out = load_image(data)
    assert out.size == (20, 40)  # upright
    assert out.getpixel((10, 3))[0] > 200  # the stored left strip is now at the top


def test_animated_gif_uses_first_frame():
    frames = [Image.new("P", (8, 8), i) for i in (1, 2)]
    frames[0].putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    frames[1].putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    assert load_image(buf.getvalue()).getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize(
    "array",
    [np.zeros((5, 6, 3), np.uint8), np.zeros((5, 6), np.float32), np.ones((5, 6, 4), np.float64), np.zeros((5, 6, 1), bool)],
)
def test_arrays(array):
    assert load_image(array).size == (6, 5)


def test_errors_name_the_file_and_problem(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(ImageLoadError, match="nope.jpg: no such file"):
        load_image(missing)
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(text)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(empty)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(_png_bytes(Image.new("RGB", (200, 200), (9, 9, 9)), "JPEG")[:300])
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        load_image(truncated)
    with pytest.raises(ImageLoadError, match="zero size"):
        load_image(np.zeros((0, 5, 3), np.uint8))
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)


def test_decompression_bomb_guard_reads_only_the_header(tmp_path):
    big = tmp_path / "big.png"
    Image.new("1", (20000, 20000)).save(big)  # 400 Mpx, a few kB on disk
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_image(big)
    with pytest.raises(ImageLoadError, match="more than the limit of 100"):
        load_image(Image.new("L", (20, 10)), max_pixels=100)


def test_crop_and_save_never_overwrite(tmp_path):
    img = Image.new("RGB", (100, 50), (10, 20, 30))
    out = crop_image(img, Box(10, 5, 60, 45), output_size=(25, 20))
    assert out.size == (25, 20)
    path = save_image(out, tmp_path / "a.webp")
    with pytest.raises(FileExistsError):
        save_image(out, path)
    save_image(out, path, overwrite=True)
    assert Image.open(path).format == "WEBP"
    with pytest.raises(ImageLoadError, match="unknown output extension"):
        save_image(out, tmp_path / "a.xyz")
