"""Aesthetic heads on CLIP embeddings: the shared LAION / improved heads and synthetic ones."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from intentcrop.errors import ModelNotAvailableError  # noqa: E402
from intentcrop.score.aesthetic import ClipAestheticScorer, load_aesthetic_head  # noqa: E402


@pytest.mark.parametrize(
    "head, embeddings",
    [("laion-aesthetic-v1/sa_0_4_vit_b_32_linear.pth", "vit_b_32"),
     ("laion-aesthetic-v1/sa_0_4_vit_l_14_linear.pth", "vit_l_14"),
     ("improved-aesthetic-predictor/sac+logos+ava1-l14-linearMSE.pth", "vit_l_14")],
)
def test_shared_heads_are_monotonic_on_reference_embeddings(aesthetic_models_dir, head, embeddings):
    model = load_aesthetic_head(aesthetic_models_dir / head)
    refs = np.concatenate([np.load(aesthetic_models_dir / "laion-aesthetic-v1" / f"{embeddings}_embeddings" /
                                   f"rating{i}.npy") for i in range(10)])
    scores = model(refs)
    assert scores.shape == (10,) and np.all(np.diff(scores) > 0)
    assert 0 < scores[9] - scores[0]


def test_linear_head_matches_its_formula(tmp_path):
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(1, 8)), rng.normal(size=1)
    torch.save({"weight": torch.tensor(weight), "bias": torch.tensor(bias)}, tmp_path / "h.pth")
    x = rng.normal(size=(5, 8))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(load_aesthetic_head(tmp_path / "h.pth")(x), unit @ weight[0] + bias[0], atol=1e-5)


def test_mlp_head_chains_layers_in_index_order(tmp_path):
    """Keys layers.0 ... layers.10 must chain numerically (10 after 7), not as strings."""
    rng = np.random.default_rng(1)
    dims = [6, 5, 4, 1]
    indices = [0, 7, 10]
    state, mats = {}, []
    for i, (d_in, d_out) in zip(indices, zip(dims, dims[1:])):
        w, b = rng.normal(size=(d_out, d_in)), rng.normal(size=d_out)
        state[f"layers.{i}.weight"], state[f"layers.{i}.bias"] = torch.tensor(w), torch.tensor(b)
        mats.append((w, b))
    torch.save(state, tmp_path / "mlp.pth")
    x = rng.normal(size=(3, 6))
    expected = x / np.linalg.norm(x, axis=1, keepdims=True)
    for w, b in mats:
        expected = expected @ w.T + b
    np.testing.assert_allclose(load_aesthetic_head(tmp_path / "mlp.pth")(x), expected[:, 0], atol=1e-5)


def test_errors(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="not found"):
        load_aesthetic_head(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a state dict")
    with pytest.raises(ModelNotAvailableError, match="cannot read"):
        load_aesthetic_head(tmp_path / "junk.pth")
    torch.save({"weight": torch.zeros(1, 8), "bias": torch.zeros(1)}, tmp_path / "h8.pth")
    with pytest.raises(ModelNotAvailableError, match="takes 8-d"):
        load_aesthetic_head(tmp_path / "h8.pth")(np.ones((2, 16)))
    with pytest.raises(ModelNotAvailableError, match="needs head=PATH"):
        ClipAestheticScorer()


def test_scorer_on_tiny_clip(tiny_models, tmp_path):
    pytest.importorskip("transformers")
    from PIL import Image

    from intentcrop.core.candidates import Candidates
    from intentcrop.core.context import CropContext
    from intentcrop.core.intent import Intent
    from intentcrop.models import load_clip_model

    dim = load_clip_model(tiny_models["clip"]).model.config.projection_dim
    torch.save({"weight": torch.ones(1, dim), "bias": torch.zeros(1)}, tmp_path / "head.pth")
    scorer = ClipAestheticScorer(head=tmp_path / "head.pth", model=str(tiny_models["clip"]))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8))
    terms = scorer.score(CropContext(image, Intent()), Candidates.from_xyxy(np.array([[0, 0, 80, 60], [10, 10, 50, 50]])))
    assert terms["rating"].shape == (2,) and np.array_equal(terms["rating"], terms["total"])
