"""The ClipCrop decoder wrapper: shapes, the union-box start, save/load."""

import json

import pytest

torch = pytest.importorskip("torch")

from intentcrop.models.clipcrop import ClipCropConfig, ClipCropDecoder, grid_positions


def _inputs(batch=2, grid=3, dim=8):
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randn(batch, grid * grid, dim, generator=gen)
    matched = (torch.rand(batch, grid * grid, generator=gen) > 0.5).float()
    union = torch.tensor([[0.4, 0.5, 0.4, 0.6]]).expand(batch, 4)
    return tokens, grid_positions(grid, batch), matched, union


def test_paper_defaults():
    c = ClipCropConfig()
    assert (c.layers, c.heads, c.queries) == (6, 8, 90)


def test_fresh_decoder_predicts_the_union_box():
    decoder = ClipCropDecoder(ClipCropConfig(token_dim=8, width=8, layers=1, heads=2, queries=5, ffn=16))
    boxes, quality = decoder.predict(*_inputs())
    assert boxes.shape == (2, 5, 4) and quality.shape == (2, 5)
    assert torch.allclose(boxes, torch.tensor([0.2, 0.2, 0.6, 0.8]).expand_as(boxes), atol=1e-6)
    assert float(quality.min()) > 0 and float(quality.max()) < 1


def test_base_variant_ignores_text():
    decoder = ClipCropDecoder(ClipCropConfig(token_dim=8, width=8, layers=1, heads=2, queries=5, ffn=16,
                                             use_text=False))
    tokens, positions, matched, union = _inputs()
    a = decoder.predict(tokens, positions, matched, union)
    b = decoder.predict(tokens, positions, None, None)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_save_load_round_trip(tmp_path):
    decoder = ClipCropDecoder(ClipCropConfig(token_dim=8, width=8, layers=2, heads=2, queries=5, ffn=16), seed=3)
    with torch.no_grad():  # move the box head off its zero start so the boxes depend on the weights
        decoder.module.box_head[-1].weight.normal_(0, 0.1)
    decoder.save_pretrained(tmp_path / "cc")
    assert json.loads((tmp_path / "cc" / "config.json").read_text())["model_type"] == "clipcrop"
    loaded = ClipCropDecoder.from_pretrained(tmp_path / "cc", device="cpu")
    assert loaded.config == decoder.config
    a, b = decoder.predict(*_inputs()), loaded.predict(*_inputs())
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
