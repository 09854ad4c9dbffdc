"""World exports in GAICD's format load back through the loader, and `intentcrop eval gaicd` runs on one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from intentcrop.datasets import load_gaicd
from intentcrop.world.export import EXPORTERS, ExportError, export, register_exporter


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("world") / "gaicd"
    report = export("gaicd", out, n_scenes=2, seed=0)
    return out, report


def test_export_loads_back(exported):
    out, report = exported
    data = load_gaicd(out, check_sizes=True)
    assert len(data) == report["rows"] > 2
    intents = {s.extra["intent"] for s in data}
    assert intents == {"referring", "free-form"}
    for sample in data:
        assert sample.split == "world" and len(sample.mos) == len(sample.crops_xyxy) >= 10
        assert 1.0 <= sample.mos.min() and sample.mos.max() <= 5.0
        boxes = sample.annotator_boxes
        assert boxes is not None and 4 <= len(boxes) <= 8
        if sample.extra["intent"] == "free-form":
            assert sample.text is None and sample.extra_path("subject_mask") is None
        else:
            assert sample.text and sample.extra_path("subject_mask").is_file()
            if len(sample.extra["targets"]) == 1:
                assert sample.extra_path("query_image").is_file()


def test_subject_mask_file_is_the_targets(exported):
    from PIL import Image

    out, _ = exported
    sample = next(s for s in load_gaicd(out) if s.extra["intent"] == "referring")
    mask = np.asarray(Image.open(sample.extra_path("subject_mask"))) > 0
    row = sample.extra["scene"]
    assert mask.shape == (sample.height, sample.width)
    x1, y1, x2, y2 = row["objects"][sample.extra["targets"][0]]["box"]
    assert mask[int(y1):int(y2), int(x1):int(x2)].mean() > 0.3
    assert not mask[:, : int(x1)].any() or len(sample.extra["targets"]) > 1


def test_nothing_is_overwritten_without_overwrite(exported, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "annotations.jsonl").write_text("my own\n")
    with pytest.raises(ExportError, match="--overwrite"):
        export("gaicd", out, n_scenes=1, seed=0)
    assert (out / "annotations.jsonl").read_text() == "my own\n" and not (out / "images").exists()
    report = export("gaicd", out, n_scenes=1, seed=0, overwrite=True)
    assert len(load_gaicd(out)) == report["rows"]


def test_registry_is_open_and_rejects_unknown_formats(tmp_path):
    assert "gaicd" in EXPORTERS
    with pytest.raises(ExportError, match="unknown export format"):
        export("nope", tmp_path, 1)

    @register_exporter("test-only")
    def fake(out, scenes, seed, overwrite):
        return {"format": "test-only", "scenes": scenes}

    try:
        assert export("test-only", tmp_path, 3)["scenes"] == 3
        with pytest.raises(ValueError):
            register_exporter("test-only")(fake)
    finally:
        EXPORTERS.pop("test-only")


def test_cli_export_then_eval_gaicd(tmp_path, capsys):
    from intentcrop.cli.main import main

    out = tmp_path / "w"
    assert main(["world", "export", "--format", "gaicd", "--out", str(out), "--scenes", "1", "--seed", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "gaicd"
    assert main(["world", "export", "--format", "gaicd", "--out", str(out), "--scenes", "1", "--seed", "3"]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["eval", "gaicd", "--data", str(out), "--pipeline", "subject", "--intent", "subject", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == len(load_gaicd(out)) and -1.0 <= result["srcc"] <= 1.0
