"""Training CLIPCropping: the paper's losses, the label mapping, and a tiny end-to-end run that is deterministic."""

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from intentcrop.train.clipcropping import head_loss, ranking_loss
from intentcrop.train.clipcropping_world import world_attribute_targets

CLIP = Path(__file__).resolve().parents[2] / "fixtures" / "world" / "clip"


def test_ranking_loss_is_zero_in_order_and_positive_reversed():
    mos = torch.tensor([4.0, 3.0, 1.0])
    assert float(ranking_loss(torch.tensor([5.0, 3.5, 1.0]), mos)) == 0.0  # ordered, gaps at least the MOS gaps
    assert float(ranking_loss(torch.tensor([1.0, 3.0, 4.0]), mos)) > 1.0
    assert float(ranking_loss(torch.tensor([2.0, 2.0]), torch.tensor([3.0, 3.0]))) == 0.0  # no ordered pair
    pred = torch.tensor([1.0, 3.0, 4.0], requires_grad=True)
    head_loss(pred, mos).backward()
    assert pred.grad[0] < 0 < pred.grad[2]  # the best crop is pushed up, the worst down


def test_attribute_targets_map_world_and_aadb_names():
    world = world_attribute_targets({"color_harmony": 1.0, "lighting": 0.2, "depth_of_field": 0.0,
                                     "object_emphasis": 0.5, "clutter": 0.25})
    np.testing.assert_allclose(world, [1.0, 0.2, 0.0, 0.5, 0.75])  # interesting content: the clutter inverted
    aadb = world_attribute_targets({"ColorHarmony": 0.9, "Content": 0.3})
    assert aadb[0] == 0.9 and aadb[4] == 0.3 and np.isnan(aadb[1:4]).all()


@pytest.mark.skipif(not CLIP.is_dir(), reason="world CLIP fixture absent")
def test_a_tiny_world_run_is_deterministic_and_saves_a_loadable_folder(tmp_path):
    from intentcrop.cli.main import main
    from intentcrop.models.clipcropping import ClipCropping
    from intentcrop.train.clipcropping import train_clipcropping

    torch.set_num_threads(1)
    common = dict(knowledge_steps=8, head_steps=6, label_scenes=20, crop_scenes=3, val_every=3, log=lambda m: None)
    train_clipcropping(CLIP, tmp_path / "a", seed=3, **common)
    code = main(["train", "clipcropping", "--clip", str(CLIP), "--out", str(tmp_path / "b"), "--seed", "3",
                 "--knowledge-steps", "8", "--head-steps", "6", "--label-scenes", "20", "--crop-scenes", "3",
                 "--val-every", "3"])
    assert code == 0
    a = ClipCropping.from_pretrained(tmp_path / "a").module.state_dict()
    b = ClipCropping.from_pretrained(tmp_path / "b").module.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    record = json.loads((tmp_path / "a" / "training.json").read_text())
    assert record["knowledge_steps"] == 8 and {"srcc", "acc1/5"} <= set(record["head_best"])
    # an ablation over the same knowledge: the prompt learners are copied, the head has no composition input
    train_clipcropping(CLIP, tmp_path / "c", seed=3, use_cke=False, knowledge_from=tmp_path / "a", **common)
    c = ClipCropping.from_pretrained(tmp_path / "c")
    assert not c.config.use_cke
    assert all(torch.equal(a[k], c.module.state_dict()[k]) for k in a if k.startswith(("cke.", "ake.")))
