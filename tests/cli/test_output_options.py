"""`intentcrop crop` output files: names, one file for --out FILE, refusals before any work, metadata,
quality, enlargement warnings, the vlm extra."""

import json
import sys

import pytest
from PIL import Image, ImageCms

from intentcrop.cli.batch import MANIFEST_NAME as MANIFEST  # the batch manifest --out DIR keeps
from intentcrop.cli.crop_cmd import output_stems
from intentcrop.cli.main import main

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture
def tagged(tmp_path, sample_image_path):
    """The sample photo stored on its side with EXIF orientation 6, an sRGB profile and a camera make."""
    upright = Image.open(sample_image_path).convert("RGB")
    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "Nikon"
    path = tmp_path / "tagged.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, quality=95, icc_profile=SRGB, exif=exif.tobytes())
    return path


@pytest.mark.parametrize(
    "args, names",
    [
        (["-k", "2"], ["photo_crop1.jpg", "photo_crop2.jpg"]),
        (["-k", "1", "--ratio", "16:9"], ["photo_16x9_crop1.jpg"]),  # one ratio is named too
        (["-k", "1", "--ratio", "16:9", "--ratio", "1:1"], ["photo_16x9_crop1.jpg", "photo_1x1_crop1.jpg"]),
        (["-k", "1", "--size", "120x150"], ["photo_120x150_crop1.jpg"]),
        (["-k", "1", "--format", "webp"], ["photo_crop1.webp"]),
    ],
)
def test_output_names(photo, tmp_path, args, names):
    out = tmp_path / "crops"
    assert main(["crop", str(photo), *args, "--out", str(out)]) == 0
    assert sorted(f.name for f in out.iterdir() if f.name != MANIFEST) == sorted(names)


@pytest.mark.parametrize(
    "paths, stems",
    [
        (["a/photo.jpg", "b/photo.jpg", "c/other.jpg"], ["a_photo", "b_photo", "other"]),
        (["x/a/photo.jpg", "y/a/photo.jpg"], ["a_photo-1", "a_photo-2"]),  # the folder names clash too
        (["a/photo.jpg", "a/photo.jpg"], ["a_photo-1", "a_photo-2"]),  # one file given twice
        (["a/Photo.jpg", "b/photo.png"], ["a_Photo", "b_photo"]),  # case-insensitive file systems
        (["one.jpg", "two.jpg"], ["one", "two"]),
    ],
)
def test_output_stems_never_collide(paths, stems):
    from pathlib import Path

    assert output_stems([Path(p) for p in paths]) == stems


def test_same_base_name_in_two_folders(tmp_path, sample_image_path):
    inputs = []
    for folder in ("holiday", "work"):
        (tmp_path / folder).mkdir()
        inputs.append(tmp_path / folder / "photo.jpg")
        inputs[-1].write_bytes(sample_image_path.read_bytes())
    out = tmp_path / "crops"
    assert main(["crop", *map(str, inputs), "-k", "1", "--out", str(out), "--debug", str(out)]) == 0
    assert sorted(f.name for f in out.iterdir() if f.name != MANIFEST) == [
        "holiday_photo_crop1.jpg", "holiday_photo_debug.png", "work_photo_crop1.jpg", "work_photo_debug.png"]


def test_out_file_holds_exactly_the_best_crop(photo, tmp_path, capsys):
    target = tmp_path / "best.jpg"
    assert main(["crop", str(photo), "-k", "3", "--out", str(target), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert list(tmp_path.glob("best*")) == [target]  # no best_2.jpg, best_3.jpg
    assert record["crops"][0]["file"] == str(target) and "file" not in record["crops"][1]
    box = record["crops"][0]["box"]
    assert Image.open(target).size == (box["width"], box["height"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "{tmp}/best.jpg"], "is a file but 2 images"),
        (["--out", "-"], "writes one image to stdout but 2 images"),
        (["--debug", "{tmp}/why.png"], "is a file but 2 images"),
        (["--debug", "{tmp}/why.docx"], "unknown output extension"),
        (["--out", "{tmp}/best.tiff2"], "unknown output extension"),
        (["--quality", "0"], "--quality 0"),
        (["--quality", "101"], "1..100"),
    ],
)
def test_refused_before_any_work(photo, tmp_path, args, message, capsys, monkeypatch):
    import intentcrop

    def never(*a, **k):
        raise AssertionError("cropped before refusing")

    monkeypatch.setattr(intentcrop, "crop", never)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["crop", str(photo), str(photo), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not [p for p in tmp_path.iterdir() if p != photo]  # nothing written


def test_format_and_file_extension_must_agree(photo, tmp_path, capsys):
    assert main(["crop", str(photo), "--out", str(tmp_path / "best.jpg"), "--format", "png"]) == 2
    assert "comes from its extension" in capsys.readouterr().err
    assert main(["crop", str(photo), "-k", "1", "--out", str(tmp_path / "best.webp")]) == 0
    assert Image.open(tmp_path / "best.webp").format == "WEBP"


@pytest.mark.parametrize("dest", ["dir", "file", "stdout"])
def test_profile_and_exif_are_kept_and_orientation_reset(tagged, tmp_path, dest, capsysbinary):
    out = {"dir": tmp_path / "crops", "file": tmp_path / "best.jpg", "stdout": "-"}[dest]
    args = ["crop", str(tagged), "-k", "1", "--out", str(out)] + (["--format", "jpg"] if dest == "stdout" else [])
    assert main(args) == 0
    if dest == "stdout":
        import io

        saved = Image.open(io.BytesIO(capsysbinary.readouterr().out))
    else:
        saved = Image.open(next(f for f in out.iterdir() if f.name != MANIFEST) if dest == "dir" else out)
    assert saved.format == "JPEG" and saved.info["icc_profile"] == SRGB
    exif = saved.getexif()
    assert exif[0x0112] == 1 and exif[0x010F] == "Nikon"


def test_quality_flag(photo, tmp_path):
    for q in (20, 95):
        assert main(["crop", str(photo), "-k", "1", "--quality", str(q), "--out", str(tmp_path / f"q{q}.jpg")]) == 0
    assert (tmp_path / "q20.jpg").stat().st_size < (tmp_path / "q95.jpg").stat().st_size


def test_enlarged_crops_warn_and_no_upscale_keeps_their_size(photo, tmp_path, capsys):
    # The sample is 512x512: a 1080x1350 crop of it is enlarged at least 2x.
    out = tmp_path / "big"
    assert main(["crop", str(photo), "-k", "1", "--size", "1080x1350", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    file = out / "photo_1080x1350_crop1.jpg"
    assert Image.open(file).size == (1080, 1350)
    assert len(record["warnings"]) == 1 and "enlarged" in record["warnings"][0] and str(file) in record["warnings"][0]
    factor = float(record["warnings"][0].split("enlarged ")[1].split("x")[0])
    box = record["crops"][0]["box"]
    assert factor == pytest.approx(max(1080 / box["width"], 1350 / box["height"]), abs=0.01) and factor > 2
    assert "warning" in captured.err and str(file) in captured.err
    small = tmp_path / "small"
    assert main(["crop", str(photo), "-k", "1", "--size", "1080x1350", "--out", str(small), "--no-upscale",
                 "--json"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    box = record["crops"][0]["box"]
    size = Image.open(small / "photo_1080x1350_crop1.jpg").size
    assert size == (box["width"], box["height"]) and abs(size[0] / size[1] - 0.8) < 0.01  # its own size, the ratio
    assert record["crops"][0]["written_size"] == {"width": size[0], "height": size[1]}
    assert record["warnings"] == [] and "warning" not in captured.err


def test_no_warning_when_made_smaller(photo, tmp_path, capsys):
    assert main(["crop", str(photo), "-k", "1", "--size", "80x100", "--out", str(tmp_path / "s.png")]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--text", "the dog"], ["--query-image", "{photo}"], ["--method", "vlm"]])
def test_vlm_flags_without_the_extra_say_how_to_install_it(photo, flag, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # as on a core install: `import torch` fails
    monkeypatch.setitem(sys.modules, "transformers", None)
    flag = [f.replace("{photo}", str(photo)) for f in flag]
    assert main(["crop", str(photo), *flag]) == 2
    err = capsys.readouterr().err
    assert "pip install 'intentcrop[vlm]'" in err and flag[0] in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_library_without_the_extra_raises_a_clear_error(photo, monkeypatch):
    import intentcrop
    from intentcrop.errors import ModelNotAvailableError
    from intentcrop.models import clear_model_cache

    clear_model_cache()
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelNotAvailableError, match=r"intentcrop\[vlm\]"):
        intentcrop.crop(str(photo), text="the dog")
    clear_model_cache()
