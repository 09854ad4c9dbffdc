"""The clipcrop method end to end on a world scene: exact ratios, the grounded region inside, snapping."""

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from intentcrop.core.box import Box
from intentcrop.propose.clipcrop import snap

OWLVIT = Path(__file__).resolve().parents[2] / "fixtures" / "world" / "owlvit"


def test_snap_exact_ratio_holds_region():
    region = Box(40, 30, 90, 100)
    for ratio in (1.0, 16 / 9, 0.75):
        b = snap(np.array([0, 0, 20, 20]), ratio, 200, 150, region)
        w, h = b[2] - b[0], b[3] - b[1]
        assert abs(w - h * ratio) <= 0.5 or abs(h - w / ratio) <= 0.5
        assert b[0] <= 40 and b[1] <= 30 and b[2] >= 90 and b[3] >= 100
        assert b[0] >= 0 and b[1] >= 0 and b[2] <= 200 and b[3] <= 150


@pytest.mark.skipif(not OWLVIT.is_dir(), reason="world OWL-ViT fixture absent")
def test_clipcrop_method_end_to_end(tmp_path):
    from intentcrop.core.intent import Intent
    from intentcrop.models.clipcrop import ClipCropConfig, ClipCropDecoder
    from intentcrop.models.routing import model_overrides
    from intentcrop.pipeline import PIPELINE_CONFIGS, create_pipeline
    from intentcrop.world.referring import benchmark_cases

    torch.set_num_threads(1)
    decoder = ClipCropDecoder(ClipCropConfig(token_dim=64, width=32, layers=2, heads=4, queries=12, ffn=64))
    with torch.no_grad():  # spread the queries so the crops differ
        decoder.module.box_head[-1].bias.copy_(torch.tensor([0.0, 0.0, 0.2, 0.2]))
        decoder.module.box_head[-1].weight.normal_(0, 0.05)
    folder = decoder.save_pretrained(tmp_path / "decoder")
    assert "clipcrop" in PIPELINE_CONFIGS and PIPELINE_CONFIGS["clipcrop"]["summary"]
    overrides = model_overrides(dict(PIPELINE_CONFIGS["clipcrop"]), [str(OWLVIT), str(folder)], "cpu")
    pipe = create_pipeline("clipcrop", **overrides)
    case = benchmark_cases(2, seed=0)[0]
    out = pipe.run(case.scene.image, Intent(text=case.referral.text, ratios=["4:3"], k=3))
    assert out.results
    region = out.grounding.region
    for r in out.results:
        b = r.box
        assert abs(b.width - b.height * 4 / 3) <= 0.5 or abs(b.height - b.width * 3 / 4) <= 0.5
        if region is not None:
            assert b.contains(region.clip(*case.scene.image.size), tolerance=1.0)
    assert len({r.box.to_xyxy() for r in out.results}) == len(out.results)
