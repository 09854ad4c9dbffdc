"""Shared fixtures. Tests that need ../shared data skip with a reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("INTENTCROP_SHARED", REPO.parent / "shared"))


def _shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data folder beside the repo; set INTENTCROP_SHARED to point elsewhere)")
    return path


@pytest.fixture
def fcdb_dir() -> Path:
    return _shared_path("datasets", "fcdb")


@pytest.fixture
def gaicd_mini_dir() -> Path:
    return _shared_path("datasets", "gaicd-mini")


@pytest.fixture
def aesthetic_models_dir() -> Path:
    return _shared_path("models")


@pytest.fixture
def sample_image_path() -> Path:
    return REPO / "intentcrop" / "data" / "sample.jpg"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny CLIP / OWL-ViT / OWLv2 checkpoints (random weights, real architectures and processors) saved with
    save_pretrained into a temp dir once per session; load them with intentcrop.models.load_model(path)."""
    pytest.importorskip("torch", reason="tiny VLM checkpoints need torch")
    pytest.importorskip("transformers", reason="tiny VLM checkpoints need transformers")
    from intentcrop.models.tiny import build_tiny_clip, build_tiny_owlv2, build_tiny_owlvit

    root = tmp_path_factory.mktemp("tiny_models")
    return {
        "clip": build_tiny_clip(root / "clip"),
        "owlvit": build_tiny_owlvit(root / "owlvit"),
        "owlv2": build_tiny_owlv2(root / "owlv2"),
    }
