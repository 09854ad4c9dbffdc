"""Loading through the public path: tiny checkpoints of the real architectures, sharing, offline errors."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from intentcrop.errors import ModelNotAvailableError  # noqa: E402
from intentcrop.models import load_clip_model, load_grounding_model, load_model, select_device, select_dtype  # noqa: E402


@pytest.mark.parametrize(
    "kind, model_class, role",
    [("clip", "CLIPModel", "scoring"), ("owlvit", "OwlViTForObjectDetection", "grounding"),
     ("owlv2", "Owlv2ForObjectDetection", "grounding")],
)
def test_tiny_checkpoints_load_with_their_processor(tiny_models, kind, model_class, role):
    loaded = load_model(tiny_models[kind])
    assert type(loaded.model).__name__ == model_class
    assert loaded.spec.role == role and loaded.device == "cpu" and not loaded.model.training
    # the processor is the one saved beside the model: its input size is the tiny config's, not a default
    pixel_values = loaded.processor.image_processor(images=[__import__("PIL.Image").Image.new("RGB", (50, 30))],
                                                    return_tensors="pt")["pixel_values"]
    side = loaded.model.config.vision_config.image_size
    assert tuple(pixel_values.shape) == (1, 3, side, side)
    ids = loaded.processor.tokenizer(["a photo of a dog"])["input_ids"][0]
    assert ids[0] == loaded.processor.tokenizer.bos_token_id and ids[-1] == loaded.processor.tokenizer.eos_token_id


def test_each_model_is_loaded_once(tiny_models):
    assert load_clip_model(tiny_models["clip"]) is load_clip_model(str(tiny_models["clip"]), device="cpu")
    assert load_grounding_model(tiny_models["owlvit"]) is not load_grounding_model(tiny_models["owlv2"])


def test_role_is_checked(tiny_models):
    with pytest.raises(ModelNotAvailableError, match="not scoring"):
        load_clip_model(tiny_models["owlvit"])


def test_dtype_selection(tiny_models):
    loaded = load_model(tiny_models["clip"], dtype="bfloat16")
    assert loaded.dtype == torch.bfloat16 and next(loaded.model.parameters()).dtype == torch.bfloat16
    assert select_dtype(None, "cpu") == torch.float32
    with pytest.raises(ModelNotAvailableError, match="unknown dtype"):
        select_dtype("int3", "cpu")


@pytest.mark.parametrize("device, message", [("tpu", "unknown device"), ("cuda:7", "CUDA")])
def test_device_errors(device, message):
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(ModelNotAvailableError, match=message):
        select_device(device)


def test_offline_error_names_the_model_and_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-intentcrop-test-cache")
    with pytest.raises(ModelNotAvailableError) as info:
        load_grounding_model("owlv2-b16")
    message = str(info.value)
    assert "owlv2-b16" in message and "google/owlv2-base-patch16-ensemble" in message
    assert "--model PATH" in message and "download" in message


def test_missing_weights_in_folder(tmp_path, tiny_models):
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(tiny_models["clip"], folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelNotAvailableError, match="broken"):
        load_clip_model(folder)
