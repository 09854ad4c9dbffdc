"""`intentcrop index build / info` over a GAICD-style folder, and its clear errors."""

import json

from PIL import Image

from intentcrop.cli.main import main


def _gaicd_folder(root):
    (root / "images").mkdir(parents=True)
    rows = []
    for i, colour in enumerate([(200, 30, 30), (30, 30, 200)]):
        Image.new("RGB", (90, 60), colour).save(root / "images" / f"{i}.png")
        rows.append({"filename": f"{i}.png", "width": 90, "height": 60, "crops_xyxy": [[0, 0, 60, 60], [10, 0, 90, 60]],
                     "mos": [3.5, 2.0], "text": "a red thing" if i == 0 else "a blue thing"})
    (root / "annotations.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def test_build_then_info(tmp_path, capsys):
    data = _gaicd_folder(tmp_path / "data")
    assert main(["index", "build", "--data", str(data), "--out", str(tmp_path / "bank"), "--quiet"]) == 0
    assert "2 gaicd examples, 4 crops, embedding features-v1" in capsys.readouterr().out
    assert main(["index", "info", str(tmp_path / "bank")]) == 0
    assert "2 gaicd examples" in capsys.readouterr().out


def test_errors_are_clear(tmp_path, capsys):
    assert main(["index", "build", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "b")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["index", "info", str(tmp_path)]) == 2
    assert "no meta.json" in capsys.readouterr().err
    assert main(["index"]) == 2
