"""Pretrained vision-language models: which weights, how they load, and tiny stand-ins for tests.

Public loading API (torch and transformers are imported lazily, on first load):

    resolve_model_spec(spec, role=None) -> ModelSpec
        spec is a short name from PRETRAINED ("owlvit-b32", "owlv2-b16", "clip-b32", "clip-l14", "siglip-b16"),
        any Hugging Face hub id ("google/owlvit-base-patch32"), or a local folder written by
        `model.save_pretrained(PATH)` + `processor.save_pretrained(PATH)`. None means the role's default
        (DEFAULT_MODELS: grounding -> owlvit-b32, scoring -> clip-b32). A folder's architecture is read from
        config.json `model_type` (owlvit / owlv2 -> "grounding", clip / siglip -> "scoring").

    load_model(spec=None, role=None, device=None, dtype=None) -> LoadedModel
        The one factory. LoadedModel has .model (eval mode, on .device), .processor (the model's own
        processor: image processor + tokenizer), .spec, .device, .dtype. Each (source, device, dtype) is
        loaded once per process and shared. device: None/"auto" (cuda > mps > cpu), "cpu", "cuda", "cuda:N",
        "mps". dtype: None (float32), "float16", "bfloat16" or a torch.dtype.
    load_grounding_model(spec=None, device=None, dtype=None)   # load_model with role="grounding"
    load_clip_model(spec=None, device=None, dtype=None)        # load_model with role="scoring"

    Missing weights (offline, HF_HUB_OFFLINE=1, a wrong folder) raise intentcrop.ModelNotAvailableError
    naming the model and how to provide it (download once, or --model PATH).

Routing a user's choice: `intentcrop.models.routing.model_overrides(config, model, device)` puts each given
model into the pipeline stages of its role (what `intentcrop.crop(..., model=..., device=...)` uses).

Model wrappers, each declaring the role it plays (`role`): `intentcrop.models.clip.ClipEncoder` (scoring: image,
text and crop embeddings; `shared_encoder` gives one per model per process) and `intentcrop.models.owlvit.OwlVit`
(grounding: text- and image-guided detection returning `intentcrop.ground.matches.Matches`; import it from its
module -- it is not re-exported here, so importing this package does not pull in `intentcrop.ground`).

Tiny models of the real architectures (random weights, seconds to build, for tests and for training
small models): `intentcrop.models.tiny.build_tiny_clip(path)`, `build_tiny_owlvit(path)`,
`build_tiny_owlv2(path)`; each saves model, processor and a small tokenizer
with save_pretrained so that `load_model(path)` reads it exactly as a real checkpoint.
"""

from intentcrop.models.loading import (
    LoadedModel,
    clear_model_cache,
    load_clip_model,
    load_grounding_model,
    load_model,
    select_device,
    select_dtype,
)
from intentcrop.models.clip import ClipEncoder, shared_encoder
from intentcrop.models.registry import (
    ARCHITECTURE_ROLES,
    DEFAULT_MODELS,
    GROUNDING,
    PRETRAINED,
    QUALITY,
    SCORING,
    ModelSpec,
    PretrainedSource,
    detect_architecture,
    list_pretrained,
    resolve_model_spec,
    role_of,
)

__all__ = [
    "ARCHITECTURE_ROLES", "ClipEncoder", "DEFAULT_MODELS", "GROUNDING", "LoadedModel", "ModelSpec", "PRETRAINED",
    "PretrainedSource", "QUALITY", "SCORING", "clear_model_cache", "detect_architecture", "list_pretrained",
    "load_clip_model", "load_grounding_model", "load_model", "resolve_model_spec", "role_of", "select_device",
    "select_dtype", "shared_encoder",
]
