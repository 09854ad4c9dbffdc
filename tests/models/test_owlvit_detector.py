"""The OWL-ViT / OWLv2 wrapper on tiny checkpoints: detection returns Matches in the image's pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")
pytest.importorskip("transformers")

from intentcrop.core.context import CropContext  # noqa: E402
from intentcrop.core.intent import Intent  # noqa: E402
from intentcrop.ground.matches import PADDED_SQUARE, STRETCHED  # noqa: E402
from intentcrop.models import GROUNDING  # noqa: E402
from intentcrop.models.owlvit import OwlVit  # noqa: E402


def _ctx(text=None, query_image=None, size=(160, 120)) -> CropContext:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    return CropContext(image=image, intent=Intent(text=text, query_image=query_image))


@pytest.mark.parametrize("kind, frame", [("owlvit", STRETCHED), ("owlv2", PADDED_SQUARE)])
def test_the_wrapper_declares_its_role_and_reads_its_frame(tiny_models, kind, frame):
    detector = OwlVit(str(tiny_models[kind]))
    assert OwlVit.role == GROUNDING and detector.frame == frame and detector.grid == 4
    query = Image.new("RGB", (40, 40), (200, 30, 30))
    for matches in (detector.detect_text(_ctx().image, ["dog"]), detector.detect_image(_ctx().image, query)):
        assert len(matches) == 16 and matches.scores.shape == (16, 1)
        assert (matches.xyxy >= 0).all() and (matches.xyxy[:, [0, 2]] <= 160).all()
        assert (matches.xyxy[:, [1, 3]] <= 120).all()
    assert detector.detect_image(_ctx().image, query).queries == ["query image"]


@pytest.mark.parametrize("kind", ["owlvit", "owlv2"])
def test_batched_detection_matches_one_image_at_a_time(tiny_models, kind):
    detector = OwlVit(str(tiny_models[kind]))
    a, b = _ctx(size=(160, 120)).image, _ctx(size=(90, 120)).image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    batch = detector.detect_text_batch([a, b], [["dog"], ["red car"]])
    assert len(batch) == 2 and [m.scores.shape[1] for m in batch] == [1, 1]
    for i, (image, query) in enumerate(((a, "dog"), (b, "red car"))):
        one = detector.detect_text(image, [query])
        assert batch[i].queries == [query]
        # boxes agree to 1e-4 of the model's normalised frame, in pixels of each image
        np.testing.assert_allclose(batch[i].xyxy, one.xyxy, atol=1e-4 * max(image.size))
        np.testing.assert_allclose(batch[i].scores, one.scores, atol=1e-4)
    with pytest.raises(ValueError, match="one list of queries per image"):
        detector.detect_text_batch([a, b], [["dog"]])
    query = Image.new("RGB", (40, 40), (200, 30, 30))
    batch = detector.detect_image_batch([a, b], query)
    for i, image in enumerate((a, b)):
        one = detector.detect_image(image, query)
        np.testing.assert_allclose(batch[i].xyxy, one.xyxy, atol=1e-4 * max(image.size))
        np.testing.assert_allclose(batch[i].scores, one.scores, atol=1e-4)

