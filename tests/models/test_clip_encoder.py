"""The CLIP wrapper: crop embeddings (exact and pooled) on a tiny CLIP checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from intentcrop.errors import IntentCropError  # noqa: E402
from intentcrop.models.clip import (ClipEncoder, box_coverage, encodable_window, roi_align_tokens,  # noqa: E402
                                    shared_encoder)
from clip_scenes import random_boxes as _boxes, scene as _scene  # noqa: E402


@pytest.fixture(scope="module")
def encoder(tiny_models) -> ClipEncoder:
    return shared_encoder(str(tiny_models["clip"]), "cpu")


def test_text_and_image_embeddings_are_unit_vectors(encoder):
    text = encoder.encode_text(["a photo of a dog", "a red car", "a photo of a dog"])
    images = encoder.encode_images([_scene(), _scene(64, 64)])
    dim = encoder.loaded.model.config.projection_dim
    assert text.shape == (3, dim) and images.shape == (2, dim)
    np.testing.assert_allclose(np.linalg.norm(np.concatenate([text, images]), axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(text[0], text[2])


def test_exact_batching_is_equivalent(tiny_models):
    one_by_one = ClipEncoder(str(tiny_models["clip"]), batch_size=1).encode_crops_exact(_scene(), _boxes(7))
    batched = ClipEncoder(str(tiny_models["clip"]), batch_size=16).encode_crops_exact(_scene(), _boxes(7))
    np.testing.assert_allclose(one_by_one, batched, atol=1e-5)


@pytest.mark.parametrize("pooling", ["attention", "roi_align"])
def test_pooled_batching_is_equivalent(encoder, pooling):
    image, boxes = _scene(), _boxes(9)
    state = encoder.image_state(image)
    together = encoder.pool_crops(state, boxes, *image.size, pooling=pooling)
    alone = np.concatenate([encoder.pool_crops(state, b[None], *image.size, pooling=pooling) for b in boxes])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize("size", [(96, 96), (64, 64)])
def test_pooled_equals_exact_for_the_whole_square_image(encoder, size):
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    whole = np.array([[0, 0, *size]], dtype=float)
    np.testing.assert_allclose(encoder.encode_crops_pooled(image, whole), encoder.encode_crops_exact(image, whole),
                               atol=1e-5)


def test_pooled_ranks_agree_with_exact(encoder):
    """Attention pooling ranks crops like exact encoding does, even with random weights: by similarity to the
    left (red) and right (blue) halves of the scene."""
    from scipy.stats import spearmanr

    image, boxes = _scene(), _boxes(30)
    exact = encoder.encode_crops_exact(image, boxes)
    pooled = encoder.encode_crops_pooled(image, boxes, pooling="attention")
    for half in [(0, 0, 100, 120), (100, 0, 200, 120)]:
        query = encoder.encode_images([image.crop(half)])[0]
        assert spearmanr(exact @ query, pooled @ query).statistic > 0.3


def test_pooled_input_keeps_aspect_and_token_budget(encoder):
    vc = encoder.vision_config
    tokens = (vc.image_size // vc.patch_size) ** 2
    for width, height in [(300, 100), (100, 300), (640, 480)]:
        h, w = encoder.pooled_input_size(width, height)
        assert h % vc.patch_size == 0 and w % vc.patch_size == 0
        assert abs((w / h) / (width / height) - 1) < 0.35
        assert 0.6 * tokens <= (h // vc.patch_size) * (w // vc.patch_size) <= 1.4 * tokens


def test_roi_align_on_a_linear_field():
    """Bilinear samples of a linear field average to its value at the box centre (away from the border)."""
    gh, gw = 6, 8
    ys, xs = torch.meshgrid(torch.arange(gh, dtype=torch.float32), torch.arange(gw, dtype=torch.float32), indexing="ij")
    grid = torch.stack([xs, ys, 2 * xs - ys + 3])  # token (i, j) sits at the centre of its cell
    width, height = 80, 60  # 10 px per cell
    boxes = np.array([[20, 15, 60, 45], [5, 5, 75, 55], [30, 20, 40, 30]])
    pooled = roi_align_tokens(grid, boxes, width, height, samples=4).numpy()
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2 / 10 - 0.5, (boxes[:, 1] + boxes[:, 3]) / 2 / 10 - 0.5
    np.testing.assert_allclose(pooled, np.stack([cx, cy, 2 * cx - cy + 3], axis=1), atol=1e-5)


def test_box_coverage():
    cov = box_coverage(np.array([[0, 0, 100, 50], [25, 0, 50, 25], [0, 0, 12.5, 12.5]]), 100, 50, 2, 4)
    np.testing.assert_allclose(cov[0], 1.0)
    np.testing.assert_allclose(cov[1], [0, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(cov[2], [0.25, 0, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("n, expected", [(1, "exact"), (8, "exact"), (9, "pooled"), (90, "pooled")])
def test_auto_mode(encoder, n, expected):
    assert encoder.resolve_mode("auto", n) == expected
    with pytest.raises(IntentCropError, match="unknown CLIP scoring mode"):
        encoder.resolve_mode("fast", n)


@pytest.mark.parametrize("box, expected", [
    ((10, 20, 60, 80), (10, 20, 60, 80)),        # big enough: as it is, in whole pixels
    ((30, 40, 30, 40), (26, 36, 34, 44)),        # a zero-size box: 8 px around its centre
    ((0, 0, 2, 100), (0, 0, 8, 100)),            # at the image's edge: widened inward
    ((199, 10, 200, 12), (192, 7, 200, 15)),
    ((0, 0, 4, 4), (0, 0, 5, 5)),                # an image smaller than 8 px: its whole side
])
def test_degenerate_boxes_are_widened_to_an_encodable_window(box, expected):
    width, height = (5, 5) if expected == (0, 0, 5, 5) else (200, 120)
    assert encodable_window(box, width, height) == expected


def test_a_zero_size_box_can_be_encoded(encoder):
    embeddings = encoder.encode_crops_exact(_scene(), np.array([[50, 50, 50, 50], [10, 10, 60, 60]], float))
    assert embeddings.shape[0] == 2 and np.isfinite(embeddings).all()
