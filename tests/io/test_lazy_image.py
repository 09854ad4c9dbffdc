"""The fast loading path: open_image / LazyImage (header only, JPEG draft to the analysis size, lazy full image)."""

import io

import numpy as np
import pytest
from PIL import Image

import intentcrop
import intentcrop.io.image as image_io
from intentcrop.core.context import CropContext
from intentcrop.core.intent import Intent
from intentcrop.errors import ImageLoadError
from intentcrop.io.image import LazyImage, crop_image, load_image, open_image


def _scene(w: int, h: int) -> Image.Image:
    """A picture with structure (a bright off-centre disc on a gradient, some texture) so crops are not ties."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.clip(255 * xs / w, 0, 255)
    g = np.clip(255 * ys / h, 0, 255)
    b = 120 + 60 * np.sin(xs / 7.0) * np.cos(ys / 11.0)
    disc = (xs - 0.68 * w) ** 2 + (ys - 0.4 * h) ** 2 < (0.12 * min(w, h)) ** 2
    rgb = np.stack([r, g, b], axis=2)
    rgb[disc] = (250, 240, 40)
    return Image.fromarray(rgb.astype(np.uint8))


def _jpeg(image: Image.Image, orientation: int = 1, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    kw = {}
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kw["exif"] = exif.tobytes()
    image.save(buf, format="JPEG", quality=quality, **kw)
    return buf.getvalue()


# The stored image that displays as `upright` under each EXIF orientation (the inverse of exif_transpose).
_STORE = {
    1: lambda im: im,
    2: lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    3: lambda im: im.transpose(Image.Transpose.ROTATE_180),
    4: lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    5: lambda im: im.transpose(Image.Transpose.TRANSPOSE),
    6: lambda im: im.transpose(Image.Transpose.ROTATE_90),
    7: lambda im: im.transpose(Image.Transpose.TRANSVERSE),
    8: lambda im: im.transpose(Image.Transpose.ROTATE_270),
}


def test_open_image_reads_the_header_only(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(_jpeg(_scene(300, 200)))
    lazy = open_image(path)
    assert isinstance(lazy, LazyImage) and lazy.size == (300, 200) and not lazy.loaded
    ctx = CropContext(image=lazy, intent=Intent())
    assert (ctx.width, ctx.height) == (300, 200) and not lazy.loaded
    ctx.small(64)
    assert lazy.loaded  # too small to draft: decoded in full once, and kept for the crop
    full = ctx.image
    assert full.size == (300, 200) and lazy.loaded and ctx.image is full


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientations_give_the_upright_size_and_pixels(tmp_path, orientation):
    upright = _scene(2400, 1500)
    path = tmp_path / f"o{orientation}.jpg"
    path.write_bytes(_jpeg(_STORE[orientation](upright), orientation))
    lazy = open_image(path)
    assert lazy.size == (2400, 1500)
    eager = load_image(path)
    assert eager.size == (2400, 1500)
    # The drafted analysis copy is upright too: it matches the eager image's downscale closely.
    small = np.asarray(lazy.analysis((240, 150)), dtype=np.float32)
    ref = np.asarray(eager.resize((240, 150), Image.Resampling.BILINEAR), dtype=np.float32)
    assert small.shape == ref.shape == (150, 240, 3)
    assert np.abs(small - ref).mean() < 3.0
    assert not lazy.loaded  # 2400 px >= 2 x 4 x 240: drafted, no full-size decode


def test_draft_is_used_only_on_large_jpegs(tmp_path, monkeypatch):
    small_path, big_path = tmp_path / "small.jpg", tmp_path / "big.jpg"
    small_path.write_bytes(_jpeg(_scene(1024, 680)))
    big_path.write_bytes(_jpeg(_scene(4096, 2720)))
    small, big = open_image(small_path), open_image(big_path)
    # 1024 px for a 256-px analysis copy: under DRAFT_MARGIN x 2, decoded in full, byte-identical to the eager path
    a = small.analysis((256, 170))
    assert small.loaded
    assert np.array_equal(np.asarray(a), np.asarray(load_image(small_path).resize((256, 170), Image.Resampling.BILINEAR)))
    big.analysis((256, 170))
    assert not big.loaded
    monkeypatch.setattr(image_io, "DRAFT_DECODE", False)
    b = open_image(big_path)
    assert np.array_equal(np.asarray(b.analysis((256, 170))),
                          np.asarray(load_image(big_path).resize((256, 170), Image.Resampling.BILINEAR)))
    assert b.loaded


@pytest.mark.parametrize("orientation", [1, 6, 8, 3])
def test_draft_path_gives_boxes_in_original_upright_pixels(tmp_path, orientation):
    upright = _scene(4096, 2560)
    path = tmp_path / "big.jpg"
    path.write_bytes(_jpeg(_STORE[orientation](upright), orientation))
    out = intentcrop.crop(path, k=1, return_output=True)
    assert out.image_size == (4096, 2560)
    box = out.results[0].box
    assert 0 <= box.x1 < box.x2 <= 4096 and 0 <= box.y1 < box.y2 <= 2560
    assert box.width > 0.4 * 4096  # a crop of the whole picture's scale, not of the analysis copy's
    # The same crop as the pipeline chooses from the eagerly decoded upright image, up to the analysis copy's
    # pixels (draft vs full decode): the boxes overlap almost entirely.
    eager = intentcrop.crop(load_image(path), k=1)[0].box
    assert box.iou(eager) > 0.9


def test_lazy_crop_is_pixel_identical_to_cropping_the_eager_image(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(_jpeg(_scene(4096, 2720), orientation=6))
    lazy = open_image(path)
    result = intentcrop.crop(lazy, k=1, ratio="4:5", size="400x500")[0]
    assert not lazy.loaded  # choosing the crop never decoded the full image
    cut = result.crop(lazy)
    assert lazy.loaded
    eager = load_image(path)
    assert np.array_equal(np.asarray(cut), np.asarray(crop_image(eager, result.box, (400, 500))))
    assert np.array_equal(np.asarray(result.crop(path)), np.asarray(cut))


def test_lazy_sources_bytes_and_streams(tmp_path):
    data = _jpeg(_scene(320, 200))
    for source in (data, io.BytesIO(data)):
        lazy = open_image(source)
        assert isinstance(lazy, LazyImage) and lazy.size == (320, 200)
        assert np.array_equal(np.asarray(lazy.full()), np.asarray(load_image(data)))
    pil = _scene(50, 40)
    assert open_image(pil).size == (50, 40) and not isinstance(open_image(pil), LazyImage)
    lazy = open_image(data)
    assert open_image(lazy) is lazy and load_image(lazy) is lazy.full()


def test_header_errors_come_at_open_and_damage_at_decode(tmp_path):
    with pytest.raises(ImageLoadError, match="no such file"):
        open_image(tmp_path / "missing.jpg")
    notimg = tmp_path / "x.jpg"
    notimg.write_bytes(b"not an image at all")
    with pytest.raises(ImageLoadError, match="not an image"):
        open_image(notimg)
    with pytest.raises(ImageLoadError, match="limit"):
        open_image(_jpeg(_scene(300, 200)), max_pixels=1000)
    data = _jpeg(_scene(3000, 2000))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 3])
    lazy = open_image(cut)
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        lazy.full()


def test_pipeline_does_not_decode_the_full_image(tmp_path, monkeypatch):
    path = tmp_path / "big.jpg"
    path.write_bytes(_jpeg(_scene(4096, 2720)))
    calls = []
    original = LazyImage.full
    monkeypatch.setattr(LazyImage, "full", lambda self: calls.append(1) or original(self))
    intentcrop.crop(path, k=2, ratio=["16:9", "1:1"])
    intentcrop.crop(path, k=2)
    assert calls == []


def test_other_formats_are_decoded_at_once(tmp_path):
    path = tmp_path / "a.png"
    _scene(120, 80).save(path)
    out = open_image(path)
    assert isinstance(out, Image.Image) and out.size == (120, 80)
    assert np.array_equal(np.asarray(out), np.asarray(load_image(path)))
    assert intentcrop.crop(path, k=1)[0].box == intentcrop.crop(load_image(path), k=1)[0].box
