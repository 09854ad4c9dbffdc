"""Example banks and Cropper's retrieval (intentcrop.retrieve)."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from intentcrop.retrieve.bank import BankError, BankRecord, build_bank, dataset_records, load_bank, write_bank
from intentcrop.retrieve.embed import FeatureEmbedder
from intentcrop.retrieve.select import retrieve


def _records(tmp_path: Path, n: int = 6) -> list[BankRecord]:
    out = []
    rng = np.random.default_rng(0)
    for i in range(n):
        path = tmp_path / f"im{i}.png"
        colour = (255, 0, 0) if i % 2 == 0 else (0, 0, 255)
        image = Image.new("RGB", (120, 80), colour)
        image.paste((255, 255, 255), (10 + 10 * i, 10, 40 + 10 * i, 40))
        image.save(path)
        crops = np.array([[0, 0, 120, 80], [0, 0, 60, 80], [10, 10, 110, 70]], np.float32)
        out.append(BankRecord(path, 120, 80, crops, rng.uniform(1, 5, 3).astype(np.float32),
                              text=["the red circle", "a blue star", "the green square"][i % 3],
                              subject_centre=(20.0 + 15 * i, 25.0)))
    return out


def test_build_and_load_roundtrip(tmp_path):
    records = _records(tmp_path)
    bank = load_bank(build_bank(records, tmp_path / "bank", FeatureEmbedder(), kind="test"))
    assert len(bank) == 6 and bank.embedder == "features-v1" and bank.kind == "test"
    assert np.allclose(np.linalg.norm(bank.embeddings, axis=1), 1.0, atol=1e-5)
    crops, scores = bank.example_crops(2)
    assert crops.shape == (3, 4) and np.allclose(scores, records[2].scores)
    assert bank.texts[1] == "a blue star" and bank.image(0).size == (120, 80)
    assert isinstance(bank.embeddings, np.memmap)


def test_ten_thousand_examples_load_in_well_under_a_second(tmp_path):
    n = 10_000
    records = [BankRecord(Path(f"images/{i}.jpg"), 640, 480, np.tile([[0, 0, 640, 480]], (5, 1)), np.ones(5),
                          text=f"text {i}") for i in range(n)]
    emb = np.random.default_rng(0).normal(size=(n, 512)).astype(np.float32)
    write_bank(tmp_path, emb, records, "clip:test", "gaicd")
    t0 = time.perf_counter()
    bank = load_bank(tmp_path)
    took = time.perf_counter() - t0
    assert len(bank) == n and took < 0.5, took
    hits = retrieve(bank, emb[123], S=3, T=2)
    assert hits[0].index == 123


def test_same_colour_images_are_nearest(tmp_path):
    bank = load_bank(build_bank(_records(tmp_path), tmp_path / "bank", FeatureEmbedder()))
    q = FeatureEmbedder().embed_images([Image.open(tmp_path / "im0.png")])[0]
    hits = retrieve(bank, q, S=3, T=1, exclude={0})
    assert [h.index % 2 for h in hits[:2]] == [0, 0]  # the other red images first


@pytest.mark.parametrize("task", ["free", "ratio", "subject", "text"])
def test_g_per_task(tmp_path, task):
    bank = load_bank(build_bank(_records(tmp_path), tmp_path / "bank", FeatureEmbedder()))
    q = np.asarray(bank.embeddings[0])
    kwargs = {"ratio": {"ratio": 0.75}, "subject": {"subject_centre": (20.0, 25.0), "query_size": (120, 80)},
              "text": {"text": "a blue star"}, "free": {}}[task]
    hits = retrieve(bank, q, S=6, T=1, **kwargs)
    assert len(hits) == 6 and all(len(h.crops) == 1 for h in hits)
    if task == "free":  # G = the score: each example's best-scored crop
        assert all(h.scores[0] == bank.example_crops(h.index)[1].max() for h in hits)
    if task == "ratio":  # 60x80 = 0.75 is the crop whose ratio is closest
        assert all(tuple(h.crops[0]) == (0, 0, 60, 80) for h in hits)
    if task == "subject":
        assert hits[0].index == 0
    if task == "text":  # a text match lifts the blue-star examples (1, 4) above image similarity alone
        assert {hits[0].index, hits[1].index} & {1, 4}


def test_errors(tmp_path):
    with pytest.raises(BankError, match="no meta.json"):
        load_bank(tmp_path)
    bank_dir = build_bank(_records(tmp_path), tmp_path / "bank", FeatureEmbedder())
    meta = json.loads((bank_dir / "meta.json").read_text())
    meta["count"] = 99
    (bank_dir / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(BankError, match="disagree"):
        load_bank(bank_dir)
    with pytest.raises(BankError, match="neither annotations.jsonl"):
        dataset_records(tmp_path / "bank")
    with pytest.raises(BankError, match="not a folder"):
        dataset_records(tmp_path / "missing")
    with pytest.raises(BankError, match="no examples"):
        build_bank([], tmp_path / "b2", FeatureEmbedder())


def test_gaicd_style_folder_with_text_and_subject(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (100, 50)).save(tmp_path / "images" / "a.png")
    row = {"filename": "a.png", "width": 100, "height": 50, "crops_xyxy": [[0, 0, 50, 50], [10, 0, 90, 50]],
           "mos": [3.0, 4.5], "text": "the red circle", "subject_xyxy": [10, 10, 30, 30]}
    (tmp_path / "annotations.jsonl").write_text(json.dumps(row) + "\n")
    kind, records = dataset_records(tmp_path)
    assert kind == "gaicd" and records[0].text == "the red circle" and records[0].subject_centre == (20.0, 20.0)


@pytest.mark.skipif(not Path("/work/shared/datasets/gaicd-mini/annotations.jsonl").is_file(),
                    reason="the shared GAICD sample is not on this machine")
def test_shared_gaicd_mini():
    kind, records = dataset_records("/work/shared/datasets/gaicd-mini")
    assert kind == "gaicd" and len(records) >= 1 and len(records[0].crops) == len(records[0].scores)
