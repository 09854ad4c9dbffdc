"""The cropper method: prompts, enforcement of the intent on a VLM's crops, the pipeline against a fake
OpenAI-compatible server on 127.0.0.1 (proposals, refinement rounds, selection rule, fallback), and the CLI."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import intentcrop
from intentcrop.core.box import Box
from intentcrop.propose import cropper_prompts as P
from intentcrop.propose.cropper import enforce

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from fake_openai import FakeOpenAI  # noqa: E402

IMAGE = Image.new("RGB", (300, 200), (90, 120, 60))
IMAGE.paste((230, 40, 40), (180, 60, 240, 120))


def test_prompts_are_the_papers_words():
    assert P.TASK.startswith("Localize the aesthetic part of the image. (s, x1, y1, x2, y2) represents the region. "
                             "x1 and x2 are the left and right most positions, normalized into 1 to 1000")
    assert P.REFINE_REQUEST == ("Propose similar crop that has high score. The region should be represented by "
                                "(s, x1, y1, x2, y2).")
    ex = P.Example(IMAGE, [Box(0, 0, 150, 100)], [4.2])
    parts = P.initial_prompt(P.Query(IMAGE, ratio=1.5, text="the red square", examples=[ex]))
    text = P.prompt_text(parts)
    assert "We provide several images here." in text and "(4.20, 1, 1, 500, 500)" in text
    assert "The aspect ratio of the region is 3:2." in text and "The region should contain the red square." in text
    assert len(P.prompt_images(parts)) == 2 and parts[-1] == "Output:"
    refine = P.refinement_prompt(P.Query(IMAGE), [Box(10, 10, 110, 60)], [0.5])
    assert refine[-2] == "Score is 0.50" and refine[-3].size == (100, 50) and refine[-1] == P.REFINE_REQUEST
    assert "We provide" not in P.prompt_text(P.initial_prompt(P.Query(IMAGE)))  # zero-shot


@pytest.mark.parametrize("box,ratio,region", [
    (Box(10, 10, 100, 60), 1.0, None), (Box(0, 0, 300, 200), 16 / 9, None), (Box(50, 50, 60, 60), 0.8, None),
    (Box(10, 10, 100, 60), None, Box(180, 60, 240, 120)), (Box(10, 10, 100, 60), 1.0, Box(180, 60, 240, 120)),
    (Box(0, 0, 50, 50), 4.0, Box(100, 20, 140, 180)),  # the ratio cannot hold the region: centred on it
])
def test_enforce(box, ratio, region):
    out = enforce(box, 300, 200, ratio, region)
    assert 0 <= out.x1 and out.x2 <= 300 + 1e-9 and 0 <= out.y1 and out.y2 <= 200 + 1e-9
    if ratio is not None:
        assert abs(out.width / out.height - ratio) / ratio < 0.02
    if region is not None and (ratio is None or ratio < 3):
        assert out.contains(region, tolerance=1.0)


def _crop(server, model="ok", **kwargs):
    proposer = ("cropper", {"vlm_url": server.url, "vlm_model": model, "vlm_retries": 0, "vlm_timeout": 5})
    return intentcrop.crop(IMAGE, method="cropper", return_output=True, proposer=proposer, **kwargs)


def test_pipeline_proposes_refines_and_scores():
    with FakeOpenAI(answer="(0.8, 500, 200, 900, 700) or (0.7, 1, 1, 700, 800)") as server:
        out = _crop(server, ratio="1:1", k=2, options={"cropper_rounds": 2, "cropper_candidates": 2})
    assert not out.warnings
    assert len(server.requests) == 2 * 3  # R requests in each of 1 + L rounds
    first, last = server.requests[0], server.requests[-1]
    assert first["messages"][0]["content"][0]["text"] == P.TASK
    assert last["messages"][0]["content"][-1]["text"] == P.REFINE_REQUEST
    # per round: one greedy request, the others sampled (they run at once: in any order)
    assert sorted(r["temperature"] for r in server.requests[:2]) == pytest.approx([0.0, 0.7])
    assert len(out.results) == 2
    for r in out.results:
        assert abs(r.box.width / r.box.height - 1) < 0.02
        assert {"quality", "content", "area", "cropper.round"} <= set(r.breakdown)


def test_selection_last_keeps_the_last_round_only():
    with FakeOpenAI(answer="(0.8, 100, 100, 600, 700)") as server:
        out = _crop(server, options={"cropper_rounds": 1, "cropper_candidates": 1, "cropper_selection": "last"})
    assert set(out.candidates.breakdown["cropper.round"]) <= {0.0, 1.0}
    assert set(out.candidates.source) == {"cropper:round0"}  # round 1 repeated round 0's box: it keeps round 0


@pytest.mark.parametrize("model,answer,needle", [
    ("ok", "I would not crop this photo.", "no crop"), ("boom", "", "HTTP 400"), ("not-json", "", "not JSON"),
])
def test_a_failing_vlm_gives_the_default_crop_with_a_warning(model, answer, needle):
    with FakeOpenAI(answer=answer) as server:
        out = _crop(server, model=model, ratio="4:5")
    assert out.results and needle in out.warnings[0] and "default method's crop" in out.warnings[0]
    assert abs(out.results[0].box.width / out.results[0].box.height - 0.8) < 0.02


def test_no_server_configured_falls_back(monkeypatch):
    for name in ("INTENTCROP_VLM_URL", "INTENTCROP_VLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    out = intentcrop.crop(IMAGE, method="cropper", return_output=True, proposer=("cropper", {}))
    assert out.results and "INTENTCROP_VLM_URL" in out.warnings[0]


def test_refinement_failure_keeps_the_first_proposals():
    with FakeOpenAI(answer="(0.8, 100, 100, 600, 700)") as server:
        out = _crop(server, model="fail-after", options={"cropper_rounds": 2, "cropper_candidates": 1})
    assert len(server.requests) == 2  # round 0 answered, round 1 failed, no round 2
    assert out.results and set(out.candidates.source) == {"cropper:round0"}
    assert "refinement stopped after round 0" in out.warnings[0]


def test_cli_crop_method_cropper(tmp_path, capsys):
    from intentcrop.cli.main import main

    path = tmp_path / "in.png"
    IMAGE.save(path)
    with FakeOpenAI(answer="(0.9, 500, 200, 900, 700)") as server:
        code = main(["crop", str(path), "--method", "cropper", "--vlm-url", server.url, "--vlm-model", "ok",
                     "--ratio", "1:1", "--option", "cropper_rounds=1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    record = out[0] if isinstance(out, list) else out
    assert record["crops"] and not record["warnings"]
