"""CADB / AADB loaders: documented folder formats, world exports load back, bad rows are refused clearly."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from intentcrop.datasets import DatasetError, load_aadb, load_cadb
from intentcrop.world.composition import COMPOSITIONS, compose_scene
from intentcrop.world.export import composed_seeds, export


def test_cadb_export_loads_back(tmp_path):
    report = export("cadb", tmp_path / "cadb", n_scenes=7, seed=0)
    data = load_cadb(tmp_path / "cadb", check_sizes=True)
    assert len(data) == report["rows"] == 7
    assert [s.main_class for s in data] == [COMPOSITIONS[i % 6] for i in range(7)]
    for sample, seed in zip(data, composed_seeds(7, 0)):
        assert sample.split == "world" and sample.extra["scene"]["seed"] == seed
        assert sample.main_class == compose_scene(seed, sample.main_class).labels["composition"]


def test_aadb_export_loads_back(tmp_path):
    export("aadb", tmp_path / "aadb", n_scenes=4, seed=1)
    data = load_aadb(tmp_path / "aadb", check_sizes=True)
    assert len(data) == 4
    for sample, seed in zip(data, composed_seeds(4, 1)):
        labels = compose_scene(seed, sample.extra["scene"]["labels"]["composition"]).labels["attributes"]
        assert sample.attributes == pytest.approx({k: 2 * v - 1 for k, v in labels.items()}, abs=1e-3)
        assert 1.0 <= sample.score <= 5.0


def _folder(tmp_path, name, row):
    (tmp_path / "images").mkdir(parents=True)
    Image.new("RGB", (8, 6)).save(tmp_path / "images" / "a.png")
    (tmp_path / name).write_text(json.dumps({"filename": "a.png", "width": 8, "height": 6, **row}) + "\n")
    return tmp_path


def test_cadb_refuses_unknown_class_and_missing_field(tmp_path):
    with pytest.raises(DatasetError, match="unknown composition class 'wonky'"):
        load_cadb(_folder(tmp_path / "x", "composition_labels.jsonl", {"composition": ["wonky"]}))
    with pytest.raises(DatasetError, match="missing field"):
        load_cadb(_folder(tmp_path / "y", "composition_labels.jsonl", {}))
    data = load_cadb(_folder(tmp_path / "z", "composition_labels.jsonl", {"composition": "center", "split": "t"}),
                     "t", check_sizes=True)
    assert data[0].composition == ("center",)


def test_aadb_refuses_out_of_range_scores(tmp_path):
    with pytest.raises(DatasetError, match="outside"):
        load_aadb(_folder(tmp_path / "x", "attribute_scores.jsonl", {"attributes": {"light": 1.5}}))
    with pytest.raises(DatasetError, match="number"):
        load_aadb(_folder(tmp_path / "y", "attribute_scores.jsonl", {"attributes": {"light": "bright"}}))
    with pytest.raises(DatasetError, match="does not exist"):
        load_aadb(tmp_path / "nowhere")
