"""CAGIC: the sampler's gradients, the constraints, the optimiser, and the method through crop()."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

import intentcrop
from intentcrop.search.cagic import BoxParam, CagicConfig, blurred_pyramid, optimise, sample_crops


def test_sampler_gradient_matches_finite_differences():
    torch.manual_seed(0)
    image = torch.rand(1, 3, 12, 16, dtype=torch.float64)
    levels = blurred_pyramid(image, (0.5, 1.0))
    weights = torch.rand(1, 3, 5, 5, dtype=torch.float64)

    def f(box):
        return (sample_crops(levels, box, 16.0, 12.0, 5) * weights).sum()

    box = torch.tensor([[2.31, 1.73, 11.17, 9.41]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (box,), eps=1e-7, atol=1e-4)  # samples off the pixel grid: bilinear has kinks there
    f(box).backward()
    assert box.grad.abs().sum() > 0


CASES = [  # width, height, ratio, min_scale, max_scale, region
    (100, 60, None, 0.3, 1.0, None),
    (100, 60, 1.0, 0.3, 1.0, None),
    (60, 100, 16 / 9, 0.2, 0.8, None),
    (100, 60, 1.5, 0.3, 1.0, (40.0, 20.0, 70.0, 50.0)),
    (100, 60, None, 0.5, 0.9, (5.0, 5.0, 30.0, 25.0)),
    (80, 80, 0.75, 0.1, 1.0, (60.0, 0.0, 79.0, 30.0)),
]


@pytest.mark.parametrize("width,height,ratio,min_scale,max_scale,region", CASES)
def test_constraints_hold_for_any_parameters(width, height, ratio, min_scale, max_scale, region):
    param = BoxParam(width, height, ratio, min_scale, max_scale, region)
    theta = torch.randn(500, param.n, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 4
    b = param.boxes(theta)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    eps = 1e-6
    assert (b[:, 0] >= -eps).all() and (b[:, 1] >= -eps).all()
    assert (b[:, 2] <= width + eps).all() and (b[:, 3] <= height + eps).all()
    if ratio is not None:
        assert torch.allclose(w / h, torch.full_like(w, ratio))
        # the least allowed scale of the largest fitting box of the ratio
        assert (torch.maximum(w / width, h / height) <= max_scale + eps).all()
    else:
        assert (w >= min_scale * width - eps).all() and (h >= min_scale * height - eps).all()
        assert (w <= max_scale * width + eps).all() and (h <= max_scale * height + eps).all()
    if region is not None:
        assert (b[:, 0] <= region[0] + eps).all() and (b[:, 1] <= region[1] + eps).all()
        assert (b[:, 2] >= region[2] - eps).all() and (b[:, 3] >= region[3] - eps).all()


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_optimiser_finds_a_synthetic_target(optimizer):
    """A loss that is the distance to a target box: the best restart ends near it, better than it started."""
    param = BoxParam(200, 100, None, 0.2, 1.0)
    target = torch.tensor([120.0, 20.0, 180.0, 80.0], dtype=torch.float64)

    def terms(boxes):
        return {"aesthetic": ((boxes - target) ** 2).sum(dim=1) / 100.0}

    config = CagicConfig(steps=40, restarts=3, anneal=1.0, optimizer=optimizer, lr=0.5 if optimizer == "lbfgs" else 0.3)
    found = optimise(param, terms, lambda t: t["aesthetic"], config)
    start = float(terms(param.boxes(torch.zeros(1, 4, dtype=torch.float64)))["aesthetic"][0])
    best = min(found, key=lambda f: f["loss"])
    assert best["loss"] < start / 10
    assert np.abs(best["box"] - target.numpy()).max() < 10
    assert len(found) == 3


def test_annealing_shrinks_the_scale():
    param = BoxParam(100, 100, 1.0, 0.1, 1.0)
    theta = torch.tensor([[0.0, 0.0, 2.0]], dtype=torch.float64)
    a = param.boxes(theta)
    b = param.boxes(param.scale_logit(theta, 0.98))
    assert (b[0, 2] - b[0, 0]) < (a[0, 2] - a[0, 0])


def test_cagic_through_crop_keeps_ratio_and_reports_terms():
    rng = np.random.default_rng(0)
    pixels = (rng.random((48, 64, 3)) * 60).astype(np.uint8)
    pixels[10:30, 35:55] = [230, 40, 40]  # one bright object off-centre
    out = intentcrop.crop(Image.fromarray(pixels), method="cagic", ratio="1:1", k=2,
                          options={"min_crop_side": 8})
    assert len(out) == 2
    r = out[0]
    assert math.isclose(r.box.width / r.box.height, 1.0, rel_tol=1e-6)
    assert 0 <= r.box.x1 and r.box.x2 <= 64 and 0 <= r.box.y1 and r.box.y2 <= 48
    assert "cagic.loss" in r.breakdown and "cagic.aesthetic" in r.breakdown
    assert r.breakdown["cagic.loss"] == pytest.approx(-r.score)


WORLD_VLM = "fixtures/world/vlm"


def test_captioner_orders_are_order_free():
    from intentcrop.models.captioner import orders, phrases

    assert phrases("the green circle and the red triangle") == ["the green circle", "the red triangle"]
    assert sorted(orders("a, b, c")) == ["a, b, c", "b, c, a", "c, a, b"]
    assert orders("the blue star") == ["the blue star"]


def test_captioner_nll_is_differentiable_in_the_box_and_order_free():
    """The world LLaVA's NLL of a text over a sampled crop: finite, gradients reach the box parameters, and the
    two phrase orders of a text cost the same."""
    from intentcrop.models.captioner import CaptionerNLL
    from intentcrop.models.loading import load_vlm

    loaded = load_vlm(WORLD_VLM)
    image = torch.rand(1, 3, 60, 90, generator=torch.Generator().manual_seed(0))
    levels = blurred_pyramid(image, (0.5, 1.0))
    param = BoxParam(90, 60, 1.0, 0.3, 1.0)
    theta = torch.tensor([[0.3, -0.2, 0.5]], dtype=torch.float64, requires_grad=True)
    nll = CaptionerNLL(loaded, "the green circle and the red triangle")
    crops = sample_crops(levels, param.boxes(theta), 90.0, 60.0, nll.size)
    value = nll(crops)
    assert value.shape == (1,) and torch.isfinite(value).all() and float(value) > 0
    value.sum().backward()
    assert torch.isfinite(theta.grad).all() and theta.grad.abs().sum() > 0
    with torch.no_grad():
        swapped = CaptionerNLL(loaded, "the red triangle and the green circle")(crops)
    assert float(swapped) == pytest.approx(float(value), rel=1e-5)


def test_cagic_with_the_captioner_keeps_constraints_and_reports_the_caption_term():
    rng = np.random.default_rng(0)
    pixels = (rng.random((48, 64, 3)) * 60).astype(np.uint8)
    pixels[10:30, 35:55] = [230, 40, 40]
    out = intentcrop.crop(Image.fromarray(pixels), method="cagic", text="the red square", ratio="4:3", k=1,
                          model=[WORLD_VLM], options={"min_crop_side": 8})
    r = out[0]
    assert r.box.width == round(r.box.height * 4 / 3)  # exact to the pixel, as every method returns a ratio
    assert "cagic.caption" in r.breakdown and r.breakdown["cagic.caption"] > 0
