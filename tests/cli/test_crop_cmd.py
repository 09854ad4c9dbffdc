import json

import pytest
from PIL import Image

from intentcrop.cli.main import main


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and "intentcrop" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["crop", "--help"])
    assert "--ratio" in capsys.readouterr().out
    assert main([]) == 2


def test_json_output_has_exact_ratio_boxes(photo, capsys):
    assert main(["crop", str(photo), "--ratio", "16:9", "--ratio", "1:1", "-k", "2", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip())
    assert record["input"] == str(photo) and len(record["crops"]) == 4
    for crop in record["crops"]:
        w, h = crop["box"]["width"], crop["box"]["height"]
        target = {"16:9": 16 / 9, "1:1": 1.0}[crop["ratio"]]
        assert abs(w - h * target) <= 0.5
        assert isinstance(crop["score"], float) and crop["breakdown"]


def test_out_folder_size_and_no_overwrite(photo, tmp_path, capsys):
    out = tmp_path / "crops"
    assert main(["crop", str(photo), "--size", "120x150", "-k", "2", "--out", str(out)]) == 0
    files = sorted(f for f in out.iterdir() if not f.name.startswith("."))
    assert [f.name for f in files] == ["photo_120x150_crop1.jpg", "photo_120x150_crop2.jpg"]  # the size in the name
    assert Image.open(files[0]).size == (120, 150)
    before = files[0].stat().st_mtime_ns
    capsys.readouterr()
    # The same command again: already done (the batch manifest says so), skipped, nothing rewritten.
    assert main(["crop", str(photo), "--size", "120x150", "-k", "2", "--out", str(out)]) == 0
    assert "skipped: already done" in capsys.readouterr().err
    assert files[0].stat().st_mtime_ns == before
    # Other options, same names: the existing files are not replaced without --overwrite.
    assert main(["crop", str(photo), "--size", "120x150", "-k", "2", "--quality", "50", "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert files[0].stat().st_mtime_ns == before
    assert main(["crop", str(photo), "--size", "120x150", "-k", "2", "--out", str(out), "--overwrite"]) == 0


def test_never_overwrites_the_input(photo, capsys):
    original = photo.read_bytes()
    assert main(["crop", str(photo), "-k", "1", "--out", str(photo)]) == 1
    assert "one of the inputs" in capsys.readouterr().err
    assert photo.read_bytes() == original


def test_out_file_format_follows_extension(photo, tmp_path):
    target = tmp_path / "best.png"
    assert main(["crop", str(photo), "-k", "1", "--ratio", "square", "--out", str(target)]) == 0
    img = Image.open(target)
    assert img.format == "PNG" and img.size[0] == img.size[1]


def test_stdout_bytes(photo, capsysbinary):
    assert main(["crop", str(photo), "-k", "1", "--out", "-", "--format", "png"]) == 0
    assert capsysbinary.readouterr().out.startswith(b"\x89PNG")


def test_debug_overlay(photo, tmp_path):
    debug = tmp_path / "why.png"
    assert main(["crop", str(photo), "-k", "2", "--debug", str(debug)]) == 0
    img = Image.open(debug)
    assert img.size[0] == 512 and img.size[1] > 512  # the picture plus the explanation panel


@pytest.mark.parametrize("case", ["missing", "not an image", "truncated", "zero size", "huge"])
def test_bad_file_is_reported_and_the_batch_goes_on(case, bad_files, photo, capsys):
    path, message = bad_files[case]
    code = main(["crop", str(path), str(photo), "-k", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert str(path) in captured.err and message in captured.err
    assert json.loads(captured.out.strip())["input"] == str(photo)  # the good file was still cropped


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ratio", "16-9"], "unknown aspect ratio"),
        (["--ratio", "0:5"], "positive"),
        (["--size", "big"], "unknown output size"),
        (["-k", "0"], "k must be"),
        (["--out", "x.docx"], "unknown output extension"),
        (["--subject", "nope.png"], "neither a box"),
    ],
)
def test_bad_arguments_exit_2(photo, args, message, capsys):
    assert main(["crop", str(photo), *args]) == 2
    assert message in capsys.readouterr().err


def test_ratio_impossible_inside_the_image(tmp_path, capsys):
    thin = tmp_path / "thin.png"
    Image.new("RGB", (5, 400), (1, 2, 3)).save(thin)
    assert main(["crop", str(thin), "--ratio", "10:1"]) == 1
    assert "impossible" in capsys.readouterr().err


def test_subject_box_is_kept(photo, capsys):
    assert main(["crop", str(photo), "--subject", "300,300,420,480", "--ratio", "16:9", "-k", "1", "--json"]) == 0
    box = json.loads(capsys.readouterr().out)["crops"][0]["box"]
    assert box["x1"] <= 300 and box["y1"] <= 300 and box["x2"] >= 420 and box["y2"] >= 480


def test_model_flag_takes_a_crop_quality_file(photo, tmp_path, capsys):
    from intentcrop.score.quality import DEFAULT_MODEL_PATH

    copy = tmp_path / "mine.npz"
    copy.write_bytes(DEFAULT_MODEL_PATH.read_bytes())
    assert main(["crop", str(photo), "-k", "1", "--json", "--model", str(copy)]) == 0
    ours = json.loads(capsys.readouterr().out)["crops"][0]["box"]
    assert main(["crop", str(photo), "-k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["crops"][0]["box"] == ours  # same weights, same crop
    assert main(["crop", str(photo), "--model", str(tmp_path / "absent.npz")]) == 1
    assert "absent.npz: no such file" in capsys.readouterr().err
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    assert main(["crop", str(photo), "--model", str(broken)]) == 1
    assert "broken.npz" in capsys.readouterr().err
