"""CLIPCropping's model: the prompt path through CLIP's text tower, RoIAlign / RoDAlign, the prompt learners and the
head learning, and the folder round trip. One small model on the world CLIP for the module."""

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from intentcrop.models.clipcropping import (ClipCropping, config_for, encode_prompt_embeddings, rod_align,
                                            roi_align)

CLIP = Path(__file__).resolve().parents[2] / "fixtures" / "world" / "clip"
pytestmark = pytest.mark.skipif(not CLIP.is_dir(), reason="world CLIP fixture absent")


@pytest.fixture(scope="module")
def encoder():
    from intentcrop.models.clip import ClipEncoder

    torch.set_num_threads(1)
    return ClipEncoder(str(CLIP), device="cpu")


@pytest.fixture(scope="module")
def scenes():
    from intentcrop.world.composition import compose_scene

    return [compose_scene(4_000 + i, composition=c) for i, c in
            enumerate(["center", "thirds", "horizontal", "vertical", "curved"] * 4)]


def fresh(encoder, **kwargs):
    return ClipCropping(config_for(encoder, clip=str(CLIP), **kwargs), seed=0).attach(encoder)


def test_prompt_embeddings_through_the_text_tower_equal_clip_for_real_tokens(encoder):
    model = encoder.loaded.model
    tok = encoder.loaded.processor.tokenizer
    batch = tok(["a red circle", "two blue stars on the left"], padding=True, return_tensors="pt")
    with torch.no_grad():
        ref = model.text_projection(model.text_model(**batch).pooler_output)
        ids = batch["input_ids"]
        eos = (ids == model.config.text_config.eos_token_id).int().argmax(-1)
        mine = encode_prompt_embeddings(model, model.text_model.embeddings.token_embedding(ids), eos)
    assert torch.allclose(ref, mine, atol=1e-5)


def test_roi_align_averages_bilinear_samples_and_rod_drops_the_crop():
    grid = torch.arange(8.0).repeat(6, 1)[None]  # (1, 6, 8): each token's value is its column
    roi = roi_align(grid, torch.tensor([[0.0, 0.0, 0.5, 1.0]]))[0, 0]
    assert roi.shape == (3, 3)
    assert torch.allclose(roi[0], torch.tensor([0.25, 1.5, 17 / 6]), atol=1e-4)  # the left half: columns 0..4
    rod = rod_align(grid, torch.tensor([[0.0, 0.0, 0.5, 1.0]]))[0, 0]
    assert torch.all(rod[:, :2] == 0) and torch.all(rod[:, 2:] > 4)  # what is left out: the right half only
    whole = rod_align(grid, torch.tensor([[0.0, 0.0, 1.0, 1.0]]))
    assert torch.all(whole == 0)  # a crop of the whole image leaves nothing out


def test_config_holds_prompts_that_fit_the_text_length(encoder):
    config = config_for(encoder)
    room = config.max_length - config.n_ctx - 2
    assert len(config.composition_ids) == 5 and len(config.aesthetic_ids) == 5
    assert all(0 < len(ids) <= room for ids in config.composition_ids)
    assert all(good != bad for good, bad in config.aesthetic_ids)  # each element's two sides differ


def test_prompt_learners_learn_composition_labels(encoder, scenes):
    from intentcrop.train.clipcropping import LabelSample, knowledge_loss, label_tensors, train_knowledge
    from intentcrop.train.clipcropping_world import world_attribute_targets

    model = fresh(encoder)
    samples = [LabelSample(s.image, i % 5, world_attribute_targets(s.labels["attributes"])) for i, s in enumerate(scenes)]
    data = label_tensors(model, samples)
    with torch.no_grad():
        before = float(knowledge_loss(model, *data)["loss"])
    train_knowledge(model, data, data, steps=40, batch=20, lr=1e-2, log=lambda m: None, log_every=40)
    with torch.no_grad():
        after = float(knowledge_loss(model, *data)["loss"])
    assert after < before - 0.2
    # the context vectors are what learned: the CLIP itself is frozen
    assert not any(p.requires_grad for p in encoder.loaded.model.parameters())


def test_head_learns_the_mos_and_the_folder_round_trip_is_exact(encoder, scenes, tmp_path):
    from intentcrop.train.clipcropping import CropCase, case_features, head_loss, train_head
    from intentcrop.world.annotate import annotate_case

    model = fresh(encoder)
    cases = []
    for s in scenes[:6]:
        ann = annotate_case(scene=s)
        cases.append(CropCase(s.image, ann.crops_xyxy.astype(float), ann.mos))
    feats = [case_features(model, c) for c in cases]

    def mean_loss():
        with torch.no_grad():
            return float(np.mean([float(head_loss(model.score_features(f, model.knowledge_features(f["comp"], f["good"])),
                                                  f["mos"])) for f in feats]))

    before = mean_loss()
    train_head(model, feats, feats, steps=60, batch=6, lr=3e-3, val_every=60, log=lambda m: None)
    assert mean_loss() < 0.7 * before
    folder = model.save_pretrained(tmp_path / "cc")
    again = ClipCropping.from_pretrained(folder).attach(encoder)
    assert again.trained_clip() == str(CLIP.resolve())  # found again relative to the folder
    a, b = model.predict(scenes[0].image, cases[0].crops), again.predict(scenes[0].image, cases[0].crops)
    for key in ("score", "composition", "aesthetics"):
        np.testing.assert_array_equal(a[key], b[key])


def test_ablations_drop_their_knowledge_and_the_registry_routes_the_folder(encoder, tmp_path):
    from intentcrop.models.registry import CROP_HEAD, resolve_model_spec

    assert fresh(encoder, use_cke=False).config.knowledge_dim == 5
    assert fresh(encoder, use_ake=False).config.knowledge_dim == 5
    folder = fresh(encoder, use_cke=False).save_pretrained(tmp_path / "no-cke")
    assert resolve_model_spec(str(folder)).role == CROP_HEAD
    assert not ClipCropping.from_pretrained(folder).config.use_cke
