"""ClipCrop decoder training: matching, losses, mosaics and a short run."""

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

from intentcrop.models.clipcrop import ClipCropConfig, ClipCropDecoder, grid_positions
from intentcrop.train.clipcrop import Tile, hflip, hungarian_match, mosaic, set_loss, train_steps


def test_hungarian_matching_hand_made_table():
    # greedy would take (0, 0) = 1 and then (1, 1) = 9: total 10; the optimum is (0, 1) + (1, 0) = 2 + 3 = 5
    cost = np.array([[1.0, 2.0], [3.0, 9.0], [8.0, 8.0]])
    rows, cols = hungarian_match(cost)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)]


def test_loss_is_zero_for_perfect_predictions():
    crops = torch.tensor([[0.1, 0.1, 0.5, 0.6], [0.4, 0.2, 0.9, 0.9], [0.0, 0.0, 0.3, 0.3]])
    mos = torch.tensor([5.0, 4.0, 2.0])
    # predictions: the two good crops (in swapped order) with their scores, and one far away box that scores 0
    boxes = torch.tensor([[0.4, 0.2, 0.9, 0.9], [0.1, 0.1, 0.5, 0.6], [0.6, 0.0, 0.7, 0.1]])
    quality = torch.tensor([0.75, 1.0, 0.0])
    out = set_loss(boxes, quality, crops, mos)
    assert float(out["loss"]) == pytest.approx(0.0, abs=1e-6)
    worse = set_loss(boxes + 0.05, quality, crops, mos)
    assert float(worse["loss"]) > 0.1 and float(worse["l1"]) > 0


def test_label_smoothing_scores_a_near_crop():
    crops = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.0, 0.0, 0.3, 0.3]])
    mos = torch.tensor([5.0, 3.0])
    near_bad = torch.tensor([0.0, 0.0, 0.3, 0.31])  # IoU > 0.9 with the MOS-3 crop, unmatched
    boxes = torch.stack([crops[0], near_bad])
    exact = set_loss(boxes, torch.tensor([1.0, 0.5]), crops, mos)  # MOS 3 -> 0.5
    assert float(exact["quality"]) == pytest.approx(0.0, abs=1e-7)
    assert float(set_loss(boxes, torch.tensor([1.0, 0.0]), crops, mos)["quality"]) > 0


def _tile(seed, text="the dog on the left"):
    rng = np.random.default_rng(seed)
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    x0, y0 = rng.uniform(0, 0.4, 2)
    crop = np.array([[x0, y0, x0 + 0.5, y0 + 0.5]], dtype=np.float32)
    px = (crop[0] * [60, 40, 60, 40]).astype(int)
    image[px[1]:px[3], px[0]:px[2]] = 200 + seed  # the crop is a bright block
    return Tile(image, crop, np.array([5.0], dtype=np.float32), crop.copy(), text)


def test_mosaic_keeps_boxes_on_their_tile():
    tiles = [_tile(i) for i in range(4)]
    rng = random.Random(0)
    sides = set()
    for _ in range(30):
        out = mosaic(tiles, rng, side=90)
        sides.add(out.image.shape[0])
        assert out.crops.shape == (1, 4) and np.all(out.crops >= 0) and np.all(out.crops <= 1)
        h, w = out.image.shape[:2]
        b = out.crops[0] * [w, h, w, h]
        mx, my = 0.15 * (b[2] - b[0]), 0.15 * (b[3] - b[1])  # off the block's resampled edges
        inside = out.image[int(b[1] + my):int(b[3] - my), int(b[0] + mx):int(b[2] - mx)]
        assert inside.size and inside.min() >= 195  # the mapped crop still covers its tile's bright block
        ring = out.image[max(int(b[1]) - 3, 0):int(b[3]) + 3, max(int(b[0]) - 3, 0):int(b[2]) + 3]
        assert ring.mean() < inside.mean()  # and not more than it
        assert out.text == "the dog on the left"
        assert len(out.grounding) <= 1
    assert sides == {90}  # every grid (1, 2 or 3 tiles a side) fills the same canvas


def test_flip_swaps_words_and_boxes():
    t = _tile(1)
    f = hflip(t)
    assert f.text == "the dog on the right"
    assert np.allclose(f.crops[0], [1 - t.crops[0, 2], t.crops[0, 1], 1 - t.crops[0, 0], t.crops[0, 3]])


def _batches(grid=4, dim=16, batch=4):
    gen = torch.Generator().manual_seed(0)
    data = []
    for _ in range(batch):
        tokens = torch.randn(grid * grid, dim, generator=gen)
        x0, y0 = torch.rand(2, generator=gen) * 0.4
        crops = torch.tensor([[x0, y0, x0 + 0.5, y0 + 0.5], [0.0, 0.0, 1.0, 1.0]])
        data.append((tokens, crops, torch.tensor([5.0, 2.0])))
    tokens = torch.stack([d[0] for d in data])
    positions = grid_positions(grid, batch)
    matched = torch.ones(batch, grid * grid)
    union = torch.tensor([[0.5, 0.5, 0.8, 0.8]]).expand(batch, 4)

    def batches(step):
        return tokens, positions, matched, union, [d[1] for d in data], [d[2] for d in data]

    return batches


def test_tiny_decoder_loss_drops():
    config = ClipCropConfig(token_dim=16, width=16, layers=2, heads=2, queries=6, ffn=32)
    decoder = ClipCropDecoder(config, seed=0)
    losses = train_steps(decoder, _batches(), steps=40, lr=3e-3, seed=0)
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_relative_good_crops_where_none_reaches_mos_4():
    crops = torch.tensor([[0.1, 0.1, 0.5, 0.6], [0.4, 0.2, 0.9, 0.9], [0.0, 0.0, 0.3, 0.3]])
    mos = torch.tensor([3.2, 2.9, 1.5])  # no crop reaches 4: the two within 0.5 of the best are the good ones
    boxes = torch.tensor([[0.15, 0.1, 0.5, 0.6], [0.4, 0.2, 0.9, 0.9], [0.6, 0.0, 0.7, 0.1]])
    quality = torch.tensor([0.55, 0.475, 0.0])
    relative = set_loss(boxes, quality, crops, mos)
    assert float(relative["l1"]) == pytest.approx(0.05 / 2, abs=1e-6)  # two crops matched, one off by 0.05
    assert float(set_loss(boxes, quality, crops, mos, relative_good=None)["l1"]) == 0.0  # the paper's rule


@pytest.mark.parametrize("text, matched_by, expected", [
    ("the red circle", "text", ["the red circle"]),
    ("the red circle and the blue square", "text", ["the red circle and the blue square"]),
    ("the red circle and the blue square", "keywords", ["red circle", "blue square"]),
    ("the red circle and the blue square", "text_and_keywords",
     ["the red circle and the blue square", "red circle", "blue square"]),
    ("two yellow stars", "keywords", ["two yellow stars"]),  # no phrase but the text: the text
])
def test_matching_queries(text, matched_by, expected):
    """ClipCrop's matched tokens come from the full text, its keywords (noun phrases) or both (the paper's
    full model and its main / key ablations)."""
    from intentcrop.train.clipcrop_world import matching_queries

    assert matching_queries(text, matched_by) == expected


def test_matched_by_is_checked_and_defaults_to_the_text():
    from intentcrop.models.clipcrop import ClipCropConfig

    with pytest.raises(ValueError, match="matched_by must be one of"):
        ClipCropConfig(matched_by="everything")
    # a checkpoint saved before the field existed was trained on the full text's matches
    assert ClipCropConfig.from_dict({"model_type": "clipcrop", "width": 32}).matched_by == "text"
