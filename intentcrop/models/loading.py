"""Load a model and its own processor with transformers `from_pretrained`, once per process.

`load_model` is the one factory; `load_grounding_model` and `load_clip_model` are it with the role
fixed. Preprocessing always comes from the model's saved processor (never copied constants). The
PIL image-processor backend is used because the torchvision ("fast") one needs torchvision, which
is often absent on CPU installs; both give the same tensors for these models.

Offline or missing weights raise `ModelNotAvailableError` naming the model and how to provide it, at once:
the local cache is tried first, the hub only when HF_HUB_OFFLINE is not set and the hub answers a quick
probe (`hub_reachable`), and a failure is remembered for the rest of the process (`clear_model_cache`
forgets it).
torch and transformers are imported here only, lazily, so `import intentcrop` works without them.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from intentcrop.errors import ModelNotAvailableError
from intentcrop.models.registry import GENERATION, ModelSpec, detect_architecture, resolve_model_spec, role_of

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
_FAILED: dict[str, ModelNotAvailableError] = {}  # source -> why it could not be loaded, remembered per process
_LOCK = threading.Lock()
_TOKENIZER_LOCKS: dict[int, threading.Lock] = {}  # id(tokenizer) -> its lock; tokenizers live as long as the process


def tokenizer_lock(tokenizer: Any) -> threading.Lock:
    """The lock to hold while calling `tokenizer`: a Hugging Face fast tokenizer changes its padding and
    truncation settings on every call, and two threads at once fail ("Already borrowed") or get each other's.
    Model inference itself (torch, no grad) is safe to run from several threads."""
    lock = _TOKENIZER_LOCKS.get(id(tokenizer))
    if lock is None:
        with _LOCK:
            lock = _TOKENIZER_LOCKS.setdefault(id(tokenizer), threading.Lock())
    return lock


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


def missing_vlm_packages() -> list[str]:
    """The packages of the `vlm` extra (torch, transformers) that cannot be imported here, without importing
    them (a cheap check a command can make before any work)."""
    import importlib.util
    import sys

    missing = []
    for name in ("torch", "transformers"):
        if name in sys.modules:
            if sys.modules[name] is None:  # import blocked
                missing.append(name)
            continue
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


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


HUB_PROBE_TIMEOUT = 0.5  # seconds to wait for a TCP connection to the hub before treating it as unreachable
_HUB_REACHABLE: dict[str, bool] = {}  # host:port -> whether it answered, probed once per process


def _hub_address() -> tuple[str, int]:
    """Where a hub download would connect: the HTTPS proxy if one is set, else HF_ENDPOINT (huggingface.co)."""
    from urllib.parse import urlsplit

    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urlsplit(proxy or os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return url.hostname or "huggingface.co", url.port or (443 if url.scheme in ("https", "") else 80)


def hub_reachable(timeout: float | None = None) -> bool:
    """Whether the model hub answers a TCP connection within `timeout` seconds (HUB_PROBE_TIMEOUT), the name
    lookup included; asked once per process. Without it, transformers spends minutes retrying a hub it
    cannot reach before saying a model is missing."""
    import socket

    host, port = _hub_address()
    key = f"{host}:{port}"
    if key not in _HUB_REACHABLE:
        answered: list[bool] = []

        def probe() -> None:
            try:
                socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT if timeout is None else timeout).close()
                answered.append(True)
            except Exception:  # refused, no such host, a hung lookup cut short: unreachable
                answered.append(False)

        thread = threading.Thread(target=probe, daemon=True)  # a stuck name lookup is not ours to wait for
        thread.start()
        thread.join(HUB_PROBE_TIMEOUT if timeout is None else timeout)
        _HUB_REACHABLE[key] = bool(answered and answered[0])
    return _HUB_REACHABLE[key]


def _from_pretrained(spec: ModelSpec, loader: Any, **kwargs: Any) -> Any:
    """Try the local cache first (no network wait), then the hub unless offline or unreachable."""
    if spec.is_local:
        return loader(spec.source, **kwargs)
    try:
        return loader(spec.source, local_files_only=True, **kwargs)
    except OSError as exc:
        if _offline():
            raise
        if not hub_reachable():
            raise OSError(f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'not in the local cache'}"
                          f" (and the hub, {':'.join(map(str, _hub_address()))}, is unreachable)") from None
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


def _load_generation(spec: ModelSpec, device: str, dtype: Any) -> LoadedModel:
    """Any AutoModelForImageTextToText architecture, with the processor (and chat template) saved beside it."""
    import transformers

    model = _from_pretrained(spec, transformers.AutoModelForImageTextToText.from_pretrained, dtype=dtype)
    processor = _from_pretrained(spec, transformers.AutoProcessor.from_pretrained)
    if getattr(processor, "chat_template", None) is None:
        raise ModelNotAvailableError(f"{spec.describe()}: its processor has no chat template, so a prompt of text "
                                     "and images cannot be written for it (save one with the processor)")
    model.to(device)
    model.eval()
    return LoadedModel(spec=spec, model=model, processor=processor, device=device, dtype=dtype)


def _load_uncached(spec: ModelSpec, device: str, dtype: Any, role: str | None = None) -> LoadedModel:
    _require_torch()
    import transformers

    transformers.utils.logging.disable_progress_bar()  # a per-tensor "Loading weights" bar is noise in a CLI
    if (spec.role or role) == GENERATION:
        return _load_generation(spec, device, dtype)
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
        if resolved.source in _FAILED:  # failed once in this process: say so at once, no second wait on the hub
            raise ModelNotAvailableError(str(_FAILED[resolved.source]))
        try:
            loaded = _load_uncached(resolved, device_name, torch_dtype, role)
        except ModelNotAvailableError as exc:
            _FAILED[resolved.source] = exc
            raise
        except (OSError, ValueError, KeyError, EnvironmentError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not resolved.is_local and not _offline():
                if "unreachable" not in reason:
                    reason += " (no network, or the hub id is wrong)"
            elif not resolved.is_local:
                reason += " (HF_HUB_OFFLINE is set and it is not in the local cache)"
            error = _missing(resolved, reason)
            _FAILED[resolved.source] = error
            raise error from None
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


def load_vlm(spec: "str | os.PathLike | ModelSpec", device: str | None = None, dtype: Any = None) -> LoadedModel:
    """An image-text-to-text VLM (Cropper's local backend): AutoModelForImageTextToText with the processor saved
    beside it (its chat template included), from a local folder or a hub id, honouring HF_HUB_OFFLINE; loaded
    once per (source, device, dtype) like every model. Missing or unreadable weights raise ModelNotAvailableError."""
    return load_model(spec, role=GENERATION, device=device, dtype=dtype)


def save_model_folder(folder: "str | os.PathLike", config: dict[str, Any], module: Any) -> "Path":
    """One of our own models saved like a transformers folder: config.json (the config as data, with its
    model_type) and model.safetensors (the module's weights, on the CPU)."""
    import json
    from pathlib import Path

    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file({k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()},
              str(folder / "model.safetensors"))
    return folder


def load_folder_weights(folder: "str | os.PathLike", module: Any) -> None:
    """The weights of a folder `save_model_folder` wrote, into a module built from its config."""
    from safetensors.torch import load_file

    module.load_state_dict(load_file(os.path.join(os.fspath(folder), "model.safetensors")))


def clear_model_cache() -> None:
    """Forget every loaded model, every remembered failure and the hub probe (tests; freeing memory; a retry
    after the network came back or a model was saved)."""
    with _LOCK:
        _CACHE.clear()
        _FAILED.clear()
        _HUB_REACHABLE.clear()


__all__ = [
    "LoadedModel", "clear_model_cache", "detect_architecture", "load_clip_model", "load_grounding_model",
    "hub_reachable", "load_model", "load_vlm", "missing_vlm_packages", "select_device", "select_dtype",
]
