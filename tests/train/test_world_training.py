"""Training smoke tests for the world models: the loss goes down, save -> public load round trip."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from intentcrop.train import clip_world, owlvit_world  # noqa: E402
from intentcrop.world.vocabulary import PLURALS  # noqa: E402

SHAPE_OF = {**{s: s for s in PLURALS}, **{p: s for s, p in PLURALS.items()}}

TINY_OWL = dict(image_size=48, patch_size=8, vision_width=32, vision_layers=1, text_width=32, text_layers=1,
                heads=2, batch_size=4, queries_per_image=4, lr=3e-3, warmup=1, threads=1, log_every=1000,
                refine_steps=0)
TINY_CLIP = dict(image_size=32, patch_size=8, vision_width=32, vision_layers=1, text_width=32, text_layers=1,
                 heads=2, projection_dim=32, batch_size=8, lr=3e-3, warmup=1, threads=1, log_every=1000)


def test_training_queries_label_their_objects():
    rng = np.random.default_rng(0)
    objects = [("red", "circle", "small"), ("red", "square", "large"), ("blue", "circle", "small")]
    for _ in range(20):
        for text, targets in owlvit_world.training_queries(objects, rng, 8):
            words = text.split()
            for i, (c, s, z) in enumerate(objects):
                named_colour = next((w for w in words if w in ("red", "blue", "green", "yellow", "purple")), None)
                named_shape = next((SHAPE_OF[w] for w in words if w in SHAPE_OF), None)
                if " and " in text:
                    continue
                fits = (named_colour in (None, c)) and (named_shape in (None, s)) and \
                    not ({"small", "large"} - {z}) & set(words)
                assert (i in targets) == fits, (text, i)


def test_hungarian_match_pairs_nearest_boxes():
    pred = torch.tensor([[0.2, 0.2, 0.1, 0.1], [0.8, 0.8, 0.2, 0.2], [0.5, 0.5, 0.1, 0.1]])
    gt = torch.tensor([[0.79, 0.81, 0.2, 0.2], [0.21, 0.2, 0.1, 0.1]])
    logits = torch.zeros(3, 1)
    rows, cols = owlvit_world.hungarian_match(logits, pred, gt, torch.ones(2, 1))
    assert dict(zip(cols.tolist(), rows.tolist())) == {0: 1, 1: 0}


def _steps(model, loss_fn, n):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(n):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_owlvit_loss_goes_down_on_a_batch():
    torch.manual_seed(0)
    cfg = owlvit_world.OwlWorldConfig(**TINY_OWL)
    processor = owlvit_world.build_owlvit_processor(cfg.image_size)
    model = owlvit_world.build_model(cfg, processor.tokenizer)
    batch = owlvit_world.make_batch(processor, [0, 1, 2, 3], np.random.default_rng(0), cfg)
    losses = _steps(model, lambda: owlvit_world.detection_loss(model(**batch["inputs"]), batch["boxes"],
                                                               batch["labels"])["loss"], 16)
    # the first steps can overshoot (3.6 -> 4.8 with the extended vocabulary); by 16 steps it is ~0.7x
    assert losses[-1] < 0.8 * losses[0]


def test_clip_loss_goes_down_on_a_batch():
    torch.manual_seed(0)
    cfg = clip_world.ClipWorldConfig(**TINY_CLIP)
    processor = clip_world.build_clip_processor(cfg.image_size)
    model = clip_world.build_model(cfg, processor.tokenizer)
    crops, captions, positives = clip_world.make_pairs(list(range(8)), np.random.default_rng(0))
    enc = processor(text=captions, images=crops, return_tensors="pt", padding="max_length", max_length=16)
    pos = torch.from_numpy(positives)
    assert (positives.diagonal() == 1).all()  # every crop holds the object its caption names
    losses = _steps(model, lambda: clip_world.soft_clip_loss(model(**enc).logits_per_image, pos), 8)
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize("kind", ["owlvit", "clip"])
def test_train_save_and_load_through_the_public_path(tmp_path, kind):
    from intentcrop.models import clear_model_cache, load_model

    if kind == "owlvit":
        result = owlvit_world.train_owlvit(tmp_path, owlvit_world.OwlWorldConfig(steps=2, **TINY_OWL), log=lambda m: None)
    else:
        result = clip_world.train_clip(tmp_path, clip_world.ClipWorldConfig(steps=2, **TINY_CLIP), log=lambda m: None)
    for name in ("config.json", "vocab.json", "merges.txt", "training.json"):
        assert (tmp_path / name).is_file()
    clear_model_cache()
    loaded = load_model(str(tmp_path), device="cpu")
    assert loaded.architecture == kind
    from PIL import Image

    image = Image.new("RGB", (40, 30), (200, 30, 30))
    enc = loaded.processor(text=["a red circle"], images=image, return_tensors="pt", padding="max_length",
                           max_length=16)
    with torch.no_grad():
        a = result["model"](**enc)
        b = loaded.model(**enc)
    key = "logits" if kind == "owlvit" else "logits_per_image"
    assert torch.allclose(getattr(a, key), getattr(b, key), atol=1e-5)
    clear_model_cache()


def test_owlvit_resume_gives_the_one_run_model(tmp_path):
    """Phase 2 resumed from a saved phase 1 equals both phases trained in one run (seeded per phase)."""
    quiet = lambda m: None  # noqa: E731
    args = dict(TINY_OWL, steps=2)
    one_run = owlvit_world.train_owlvit(None, owlvit_world.OwlWorldConfig(**dict(args, refine_steps=2)), log=quiet)
    owlvit_world.train_owlvit(tmp_path, owlvit_world.OwlWorldConfig(**args), log=quiet)
    resumed = owlvit_world.train_owlvit(None, owlvit_world.OwlWorldConfig(**dict(args, refine_steps=2)), log=quiet,
                                        resume_from=tmp_path)
    for (name, a), (_, b) in zip(one_run["model"].state_dict().items(), resumed["model"].state_dict().items()):
        assert torch.equal(a, b), name
