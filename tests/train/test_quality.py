"""Training the crop-quality model: the listwise ranker learns, is deterministic, and the CLI guards its output."""

from __future__ import annotations

import numpy as np
import pytest

from intentcrop.score.quality import CropQualityModel
from intentcrop.train.quality import (
    CandidateList, ModelConfig, _Batch, build_lists, displacement, evaluate_lists, fit_model, human_box, read_split,
    rule_offset,
)

NAMES = ("a", "b", "c")


def synthetic_lists(n_images: int, seed: int) -> list[CandidateList]:
    """Candidates whose IoU with the 'human crop' rises with feature a and falls with c; b is noise."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_images):
        n = 40
        iou = rng.random(n)
        feats = np.stack([iou + 0.1 * rng.normal(size=n), rng.normal(size=n), -iou + 0.1 * rng.normal(size=n)], 1)
        xyxy = np.tile([0.0, 0.0, 10.0, 10.0], (n, 1))
        out.append(CandidateList(f"img{i}", "free", xyxy, feats.astype(np.float32), iou, 1 - iou,
                                 np.array([0.0, 0.0, 10.0, 10.0]), (10, 10)))
    return out


@pytest.mark.parametrize("kind", ["linear", "additive", "mlp"])
def test_loss_goes_down_and_the_better_crop_ranks_first(kind):
    log: list[float] = []
    cfg = ModelConfig(kind=kind, knots=3, hidden=4, iterations=100)
    model = fit_model(synthetic_lists(30, seed=0), cfg, seed=0, feature_names=NAMES, log=log)
    assert log[-1] < log[0] * 0.9
    held_out = synthetic_lists(10, seed=1)
    for c in held_out:
        scores = model.score(c.features)
        assert np.corrcoef(scores, c.iou)[0, 1] > 0.8


def test_training_is_deterministic_given_the_seed():
    lists = synthetic_lists(10, seed=2)
    cfg = ModelConfig(kind="mlp", hidden=3, iterations=30, max_per_list=20)
    a = fit_model(lists, cfg, seed=7, feature_names=NAMES)
    b = fit_model(lists, cfg, seed=7, feature_names=NAMES)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])


def test_listnet_gradient_matches_finite_differences():
    lists = synthetic_lists(3, seed=3)
    batch = _Batch(lists, ModelConfig(tau=0.2), np.random.default_rng(0))
    scores = np.random.default_rng(1).normal(size=len(batch.target))
    loss, grad = batch.listnet(scores)
    for i in (0, 41, 100):
        step = np.zeros_like(scores)
        step[i] = 1e-6
        assert (batch.listnet(scores + step)[0] - loss) / 1e-6 == pytest.approx(grad[i], abs=1e-5)


def test_displacement_is_fcdbs_formula():
    d = displacement(np.array([[10, 20, 90, 80]]), np.array([0, 0, 100, 100]), 100, 200)
    assert d[0] == pytest.approx(((10 + 10) / 100 + (20 + 20) / 200) / 4)


def test_human_box_is_clamped_to_the_image():
    row = {"filename": "x.jpg", "width": 100, "height": 50, "crop_xywh": [-1, 2, 102, 40]}
    np.testing.assert_array_equal(human_box(row), [0, 2, 100, 42])


def test_trained_on_a_few_fcdb_images_it_ranks_held_out_crops(fcdb_dir, tmp_path):
    """Train on 10 real images, save, load, and on 6 held-out ones rank crops near the human crop above far ones."""
    lists = build_lists(fcdb_dir, "train", limit=16, progress=False)
    train = [c for c in lists if c.image in {c.image for c in lists[:20]}]
    held = [c for c in lists if c not in train]
    log: list[float] = []
    model = fit_model(train, ModelConfig(kind="linear", iterations=150), seed=0, log=log)
    assert log[-1] < log[0]
    loaded = CropQualityModel.load(model.save(tmp_path / "small.npz"))
    wins = []
    for c in held:
        scores = loaded.score(c.features[:, loaded.feature_index()])
        good, bad = c.iou >= 0.8, c.iou <= 0.5
        if good.any() and bad.any():
            wins.append(scores[good].mean() > scores[bad].mean())
    assert len(wins) >= 6 and np.mean(wins) >= 0.75
    numbers = evaluate_lists(loaded, held)
    assert numbers["free"]["iou"] > 0.5 and numbers["free"]["upper_bound_iou"] > numbers["free"]["iou"]


def test_read_split_names_the_missing_file(tmp_path):
    from intentcrop.errors import IntentCropError

    with pytest.raises(IntentCropError, match="train.jsonl"):
        read_split(tmp_path, "train")


def test_cli_refuses_to_overwrite_without_the_flag(tmp_path, capsys):
    from intentcrop.cli.main import main

    out = tmp_path / "model.npz"
    out.write_bytes(b"keep me")
    assert main(["train", "quality", "--data", str(tmp_path), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["train", "default", "--data", str(tmp_path), "--out", str(out)]) == 2  # the target's old name
    assert "--overwrite" in capsys.readouterr().err


def test_cli_trains_a_loadable_model_on_a_subset(fcdb_dir, tmp_path):
    from intentcrop.cli.main import main

    out = tmp_path / "m.npz"
    assert main(["train", "quality", "--data", str(fcdb_dir), "--out", str(out), "--limit", "8", "--folds", "2",
                 "--quiet"]) == 0
    model = CropQualityModel.load(out)
    assert model.meta["seed"] == 0 and model.meta["cv"] is not None and "--limit 8" in model.meta["command"]


def test_the_face_rule_is_part_of_training_only_with_every_feature_column():
    from intentcrop.score.features import FEATURE_NAMES
    from intentcrop.score.quality import face_rule

    full = np.random.default_rng(0).random((5, len(FEATURE_NAMES)))
    np.testing.assert_allclose(rule_offset(full), face_rule(full))
    assert np.all(rule_offset(full) <= 0) and np.any(rule_offset(full) < 0)
    np.testing.assert_array_equal(rule_offset(full[:, :3]), np.zeros(5))  # a model on other features: no rule
