"""Model specs: short names, hub ids and folders resolve to the right architecture and role."""

from __future__ import annotations

import json

import pytest

from intentcrop.errors import ModelNotAvailableError
from intentcrop.models import DEFAULT_MODELS, PRETRAINED, detect_architecture, list_pretrained, resolve_model_spec


@pytest.mark.parametrize(
    "spec, role, source, architecture, expected_role",
    [
        (None, "grounding", "google/owlvit-base-patch32", "owlvit", "grounding"),
        (None, "scoring", "openai/clip-vit-base-patch32", "clip", "scoring"),
        ("owlv2-b16", None, "google/owlv2-base-patch16-ensemble", "owlv2", "grounding"),
        ("clip-l14", "scoring", "openai/clip-vit-large-patch14", "clip", "scoring"),
        ("google/owlvit-base-patch32", None, "google/owlvit-base-patch32", "owlvit", "grounding"),
        ("someone/unlisted-model", None, "someone/unlisted-model", None, None),
    ],
)
def test_resolve_names_and_hub_ids(spec, role, source, architecture, expected_role):
    resolved = resolve_model_spec(spec, role)
    assert (resolved.source, resolved.architecture, resolved.role, resolved.is_local) == (
        source, architecture, expected_role, False)


def test_defaults_are_listed_names():
    assert all(name in PRETRAINED for name in DEFAULT_MODELS.values())
    assert list_pretrained("grounding")[0][0] == DEFAULT_MODELS["grounding"]


@pytest.mark.parametrize("model_type, role", [("owlvit", "grounding"), ("owlv2", "grounding"), ("clip", "scoring"),
                                              ("siglip", "scoring")])
def test_folder_architecture_from_config(tmp_path, model_type, role):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    resolved = resolve_model_spec(str(tmp_path))
    assert (resolved.architecture, resolved.role, resolved.is_local) == (model_type, role, True)
    assert detect_architecture(tmp_path) == model_type


@pytest.mark.parametrize(
    "content, message",
    [(None, "no config.json"), ("{not json", "cannot read"), ('{"hidden_size": 3}', "no 'model_type'"),
     ('{"model_type": "bert"}', "not supported")],
)
def test_bad_folders(tmp_path, content, message):
    if content is not None:
        (tmp_path / "config.json").write_text(content)
    with pytest.raises(ModelNotAvailableError, match=message):
        resolve_model_spec(str(tmp_path))


def test_missing_folder_and_wrong_role(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        resolve_model_spec(str(tmp_path / "nowhere"))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "owlvit"}))
    with pytest.raises(ModelNotAvailableError, match="serves grounding, not scoring"):
        resolve_model_spec(str(tmp_path), role="scoring")


def test_core_imports_without_torch_or_transformers():
    """Registering the VLM backends must not import torch, transformers or spaCy (they load on first use)."""
    import subprocess
    import sys

    code = ("import sys, intentcrop, intentcrop.models, intentcrop.models.clip, intentcrop.models.owlvit, "
            "intentcrop.ground, intentcrop.score.clip; "
            "print(sorted(m for m in ('torch', 'transformers', 'spacy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
