"""The clipcropping scorer and method on the committed world checkpoint: through intentcrop.crop, per-element
scores that respond to scenes differing in one element only, explanations, and the benchmark's model routing."""

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "world"
HEAD, CLIP = FIX / "clipcropping", FIX / "clip"  # the head is trained on the world CLIP
pytestmark = pytest.mark.skipif(not (HEAD.is_dir() and CLIP.is_dir()), reason="world CLIPCropping fixture absent")


@pytest.fixture(scope="module")
def head():
    from intentcrop.models.clip import shared_encoder
    from intentcrop.models.clipcropping import ClipCropping

    torch.set_num_threads(1)
    model = ClipCropping.from_pretrained(HEAD)
    return model.attach(shared_encoder(model.trained_clip(), "cpu", None))


def _objects(scene):
    mask = np.zeros((scene.height, scene.width), dtype=bool)
    for o in scene.objects:
        mask |= o.mask
    return mask


def _whole(head, image, column):
    return float(head.predict(image, np.array([[0, 0, image.width, image.height]], float))["aesthetics"][0, column])


def test_the_method_runs_through_crop_with_the_committed_checkpoint():
    import intentcrop
    from intentcrop.world.composition import compose_scene

    scene = compose_scene(61_000)
    out = intentcrop.crop(scene.image, method="clipcropping", k=2, return_output=True)
    assert len(out.results) == 2 and not out.warnings
    best = out.results[0]
    for name in ("head", "center", "rule_of_thirds", "horizontal", "vertical", "curved", "color", "lighting",
                 "depth_of_field", "emphasized_object", "interesting_content"):
        assert f"clipcropping.{name}" in best.breakdown
    assert best.score == pytest.approx(best.breakdown["clipcropping.head"])
    assert best.explanation  # at least the composition the CKE sees
    # the same, with the models given as a user would (routing: crop_head + scoring roles)
    again = intentcrop.crop(scene.image, method="clipcropping", model=[str(HEAD), str(CLIP)], k=1)
    assert again[0].box == best.box


def test_a_head_given_another_clip_says_so(tiny_models):
    import intentcrop
    from intentcrop.errors import ModelNotAvailableError
    from intentcrop.world.composition import compose_scene

    with pytest.raises(ModelNotAvailableError, match="trained on (another CLIP|a CLIP of width)"):
        intentcrop.crop(compose_scene(61_000).image, method="clipcropping", model=[str(HEAD), str(tiny_models["clip"])],
                        k=1)


def test_colour_score_follows_the_background_hue_alone(head):
    """The same scene with only the background's hue turned half-way round: harmonious <-> clashing colours."""
    from PIL import Image

    from intentcrop.world.composition import compose_scene

    diffs = []
    for i in range(12):
        scene = compose_scene(62_000 + i)
        hsv = np.asarray(scene.image.convert("HSV")).copy()
        mask = _objects(scene)
        hsv[..., 0] = np.where(mask, hsv[..., 0], (hsv[..., 0].astype(int) + 128) % 256).astype(np.uint8)
        flipped = Image.fromarray(hsv, "HSV").convert("RGB")
        harmonious, clashing = (scene.image, flipped) if scene.labels["attributes"]["color_harmony"] else (flipped, scene.image)
        diffs.append(_whole(head, harmonious, 0) - _whole(head, clashing, 0))
    diffs = np.array(diffs)
    assert diffs.mean() > 0.1 and (diffs > 0).mean() >= 0.7


@pytest.mark.xfail(reason="the AKE's 'interesting content' side is near chance over the 64-px world CLIP (0.56 "
                   "held out, docs/experiments.md): clutter moves it by 0.014 on average, not 0.03", strict=False)
def test_content_score_drops_when_only_clutter_is_added(head):
    from PIL import Image, ImageDraw

    from intentcrop.world.composition import compose_scene

    diffs = []
    for i in range(8):
        scene = compose_scene(63_000 + i)
        rng = np.random.default_rng(i)
        img = scene.image.copy()
        draw = ImageDraw.Draw(img)
        short = min(img.size)
        for _ in range(20):
            x, y, r = rng.uniform(0, img.width), rng.uniform(0, img.height), rng.uniform(0.02, 0.05) * short
            grey = int(rng.uniform(40, 230))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(grey, grey, grey))
        arr = np.asarray(img).copy()
        mask = _objects(scene)
        arr[mask] = np.asarray(scene.image)[mask]  # the objects untouched: only the clutter differs
        diffs.append(_whole(head, scene.image, 4) - _whole(head, Image.fromarray(arr), 4))
    assert np.mean(diffs) > 0.03 and (np.array(diffs) > 0).mean() >= 0.6


def test_explanation_names_the_winners_composition_and_a_standout_element():
    from intentcrop.models.clipcropping import AESTHETIC_ELEMENTS, COMPOSITION_ELEMENTS
    from intentcrop.score.clipcropping import ClipCroppingScorer

    scorer = ClipCroppingScorer()
    all_terms = {e.name: np.array([0.2, 0.2, 0.2]) for e in COMPOSITION_ELEMENTS}
    all_terms.update({e.name: np.array([0.9, 0.4, 0.4]) if e.name == "color" else np.array([0.5, 0.5, 0.6])
                      for e in AESTHETIC_ELEMENTS})
    winner = {k: float(v[0]) for k, v in all_terms.items()}
    winner["vertical"] = 0.6
    reasons = scorer.explain(winner, all_terms)
    assert reasons == ["uses strong vertical lines", "has harmonious colour"]


def test_bench_world_gives_the_method_its_world_models():
    from intentcrop.world.bench import BENCH_MODELS, _Method

    taken = _Method("clipcropping", tuple(str(m) for m in BENCH_MODELS), "cpu")._taken["clipcropping"]
    names = {Path(m).name for m in taken}
    assert names == {"owlvit", "clip", "clipcropping"}  # not the VLM, not ClipCrop's decoder
    others = _Method("vlm", tuple(str(m) for m in BENCH_MODELS), "cpu")._taken["vlm"]
    assert "clipcropping" not in {Path(m).name for m in others}
