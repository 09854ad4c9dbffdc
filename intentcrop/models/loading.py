"""Load a model and its own processor with transformers `from_pretrained`, once per process.

`load_model` is the one factory; `load_grounding_model` and `load_clip_model` are it with the role
fixed. Preprocessing always comes from the model's saved processor (never copied constants). The
PIL image-processor backend is used because the torchvision ("fast") one needs torchvision, which
is often absent on CPU installs; both give the same tensors for these models.

Offline or missing weights raise `ModelNotAvailableError` naming the model and how to provide it.
torch and transformers are imported here only, lazily, so `import intentcrop` works without them.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from intentcrop.errors import ModelNotAvailableError
from intentcrop.models.registry import ModelSpec, detect_architecture, resolve_model_spec, role_of

# model_type -> (model class, processor class, PIL image-processor class) in transformers.
_CLASSES: dict[str, tuple[str, str, str]] = {
    "owlvit": ("OwlViTForObjectDetection", "OwlViTProcessor", "OwlViTImageProcessorPil"),
    "owlv2": ("Owlv2ForObjectDetection", "Owlv2Processor", "Owlv2ImageProcessorPil"),
    "clip": ("CLIPModel", "CLIPProcessor", "CLIPImageProcessorPil"),
    "siglip": ("SiglipModel", "SiglipProcessor", "SiglipImageProcessorPil"),
}

_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16", "half": "float16",
           "bfloat16": "bfloat16", "bf16": "bfloat16"}


@dataclass
class LoadedModel:
    """A model in eval mode on its device, with the processor saved beside it."""

    spec: ModelSpec
    model: Any  # transformers PreTrainedModel
    processor: Any  # transformers ProcessorMixin: image processor + tokenizer
    device: str
    dtype: Any  # torch.dtype

    @property
    def architecture(self) -> str:
        return str(self.spec.architecture)


_CACHE: dict[tuple[str, str, str], LoadedModel] = {}
_LOCK = threading.Lock()


def _require_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ModelNotAvailableError(
            f"vision-language models need torch and transformers ({exc}); install them with "
            "`pip install 'intentcrop[vlm]'`"
        ) from None
    return torch


def select_device(device: str | None = None) -> str:
    """'cpu', 'cuda', 'cuda:1', 'mps', or None/'auto' for the best available."""
    torch = _require_torch()
    if device in (None, "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    name = str(device)
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelNotAvailableError(f"device {name!r} asked for, but torch sees no CUDA GPU")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ModelNotAvailableError("device 'mps' asked for, but torch has no MPS (Apple GPU) support here")
    if not (name == "cpu" or name == "mps" or name.startswith("cuda")):
        raise ModelNotAvailableError(f"unknown device {name!r}: use cpu, cuda, cuda:N or mps")
    return name


def select_dtype(dtype: Any, device: str) -> Any:
    """None -> float32 (half precision is slower or unsupported for these models on CPU)."""
    torch = _require_torch()
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    key = str(dtype).replace("torch.", "").lower()
    if key not in _DTYPES:
        raise ModelNotAvailableError(f"unknown dtype {dtype!r}: use float32, float16 or bfloat16")
    return getattr(torch, _DTYPES[key])


def _offline() -> bool:
    flag = os.environ.get("HF_HUB_OFFLINE", "") or os.environ.get("TRANSFORMERS_OFFLINE", "")
    return flag.strip().lower() in ("1", "true", "yes", "on")


def _missing(spec: ModelSpec, why: str) -> ModelNotAvailableError:
    if spec.is_local:
        how = "save the model there with `model.save_pretrained(PATH)` and `processor.save_pretrained(PATH)`"
    else:
        how = (f"download it once with network access (`hf download {spec.source}`, or any run of "
               f"intentcrop while online), or pass a local folder saved with save_pretrained: --model PATH")
    return ModelNotAvailableError(f"model {spec.name!r} ({spec.describe()}) is not available: {why}. To provide it, {how}")


def _from_pretrained(spec: ModelSpec, loader: Any, **kwargs: Any) -> Any:
    """Try the local cache first (no network wait), then the hub unless offline."""
    if spec.is_local:
        return loader(spec.source, **kwargs)
    try:
        return loader(spec.source, local_files_only=True, **kwargs)
    except OSError:
        if _offline():
            raise
    return loader(spec.source, **kwargs)


def _load_processor(spec: ModelSpec, architecture: str) -> Any:
    import transformers

    _, processor_name, pil_image_processor_name = _CLASSES[architecture]
    processor_cls = getattr(transformers, processor_name)
    image_processor_cls = getattr(transformers, pil_image_processor_name, None)
    if image_processor_cls is None:  # transformers < 5: the slow processor is the plain class
        return _from_pretrained(spec, processor_cls.from_pretrained, use_fast=False)
    image_processor = _from_pretrained(spec, image_processor_cls.from_pretrained)
    tokenizer = _from_pretrained(spec, transformers.AutoTokenizer.from_pretrained)
    return processor_cls(image_processor=image_processor, tokenizer=tokenizer)


def _load_uncached(spec: ModelSpec, device: str, dtype: Any) -> LoadedModel:
    _require_torch()
    import transformers

    transformers.utils.logging.disable_progress_bar()  # a per-tensor "Loading weights" bar is noise in a CLI
    architecture = spec.architecture
    if architecture is None:  # a hub id we do not list: ask its config
        config = _from_pretrained(spec, transformers.AutoConfig.from_pretrained)
        architecture = config.model_type
        if architecture not in _CLASSES:
            raise ModelNotAvailableError(
                f"{spec.describe()} is a {architecture!r} model; supported: {', '.join(_CLASSES)}"
            )
        spec = ModelSpec(spec.name, spec.source, architecture, role_of(architecture), spec.is_local)
    model_cls = getattr(transformers, _CLASSES[architecture][0])
    model = _from_pretrained(spec, model_cls.from_pretrained, dtype=dtype)
    processor = _load_processor(spec, architecture)
    model.to(device)
    model.eval()
    return LoadedModel(spec=spec, model=model, processor=processor, device=device, dtype=dtype)


def load_model(spec: "str | os.PathLike | ModelSpec | None" = None, role: str | None = None,
               device: str | None = None, dtype: Any = None) -> LoadedModel:
    """The one factory: short name / hub id / folder -> LoadedModel, loaded once per (source, device, dtype)."""
    resolved = resolve_model_spec(spec, role)
    device_name = select_device(device)
    torch_dtype = select_dtype(dtype, device_name)
    key = (resolved.source, device_name, str(torch_dtype))
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        try:
            loaded = _load_uncached(resolved, device_name, torch_dtype)
        except ModelNotAvailableError:
            raise
        except (OSError, ValueError, KeyError, EnvironmentError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not resolved.is_local and not _offline():
                reason += " (no network, or the hub id is wrong)"
            elif not resolved.is_local:
                reason += " (HF_HUB_OFFLINE is set and it is not in the local cache)"
            raise _missing(resolved, reason) from None
        if loaded.spec.role is not None and role is not None and loaded.spec.role != role:
            raise ModelNotAvailableError(f"{loaded.spec.describe()} serves {loaded.spec.role}, not {role}")
        _CACHE[key] = loaded
        return loaded


def load_grounding_model(spec: "str | os.PathLike | ModelSpec | None" = None, device: str | None = None,
                         dtype: Any = None) -> LoadedModel:
    """OWL-ViT / OWLv2 detector (default: owlvit-b32 = google/owlvit-base-patch32)."""
    return load_model(spec, role="grounding", device=device, dtype=dtype)


def load_clip_model(spec: "str | os.PathLike | ModelSpec | None" = None, device: str | None = None,
                    dtype: Any = None) -> LoadedModel:
    """CLIP / SigLIP image-text model (default: clip-b32 = openai/clip-vit-base-patch32)."""
    return load_model(spec, role="scoring", device=device, dtype=dtype)


def clear_model_cache() -> None:
    """Forget every loaded model (tests; freeing memory)."""
    with _LOCK:
        _CACHE.clear()


__all__ = [
    "LoadedModel", "clear_model_cache", "detect_architecture", "load_clip_model", "load_grounding_model",
    "load_model", "select_device", "select_dtype",
]
