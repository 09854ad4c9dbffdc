"""intentcrop: crop images the way a person means them to be cropped."""

__version__ = "0.1.0"

# The public names are imported on first use (PEP 562), so `intentcrop --version` and the start of a one-image
# crop pay only for what they touch. The stage packages (propose, score, ground, search) register their backends
# when a registry is first asked for a backend (intentcrop.registry).
_EXPORTS = {
    "crop": "intentcrop.api", "make_intent": "intentcrop.api",
    "Box": "intentcrop.core", "Candidates": "intentcrop.core", "CropResult": "intentcrop.core",
    "Intent": "intentcrop.core", "parse_ratio": "intentcrop.core", "parse_size": "intentcrop.core",
    "CropContext": "intentcrop.core.context", "Grounding": "intentcrop.core.context",
    "ImageLoadError": "intentcrop.errors", "IntentCropError": "intentcrop.errors",
    "InvalidIntentError": "intentcrop.errors", "ModelNotAvailableError": "intentcrop.errors",
    "CropWarning": "intentcrop.errors",
    "crop_image": "intentcrop.io.image", "load_image": "intentcrop.io.image", "open_image": "intentcrop.io.image",
    "save_image": "intentcrop.io.image",
    "CropOutput": "intentcrop.pipeline", "Pipeline": "intentcrop.pipeline", "create_pipeline": "intentcrop.pipeline",
}

__all__ = [
    "Box", "Candidates", "CropContext", "CropOutput", "CropResult", "CropWarning", "Grounding", "ImageLoadError",
    "Intent", "IntentCropError", "InvalidIntentError", "ModelNotAvailableError", "Pipeline", "__version__", "crop",
    "crop_image", "create_pipeline", "load_image", "make_intent", "open_image", "parse_ratio", "parse_size",
    "save_image",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'intentcrop' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
