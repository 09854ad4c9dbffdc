"""Which weights a backend loads: short names -> pretrained sources, kept apart from architectures.

As in open_clip, an *architecture* (the transformers `model_type`: owlvit, owlv2, clip, siglip) says
which classes build and preprocess a model, and a *pretrained source* (a hub id or a local folder)
says which weights fill it. `resolve_model_spec` turns anything a user may write -- a short name
from `PRETRAINED`, a hub id, or a folder saved with `save_pretrained` -- into one `ModelSpec`.

A local folder's architecture is read from its config.json `model_type`, so `--model PATH` can be
routed to the role it fits: owlvit / owlv2 -> grounding, clip / siglip -> scoring.

No torch or transformers import here: resolving a name is cheap and works without them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from intentcrop.errors import ModelNotAvailableError

# Roles a model can play in the pipeline. A backend that takes models declares which constructor argument receives
# which role (`model_arguments`), and `intentcrop.models.routing` routes a user's models by it.
GROUNDING = "grounding"
SCORING = "scoring"
QUALITY = "quality"  # the offline crop-quality model: a numpy .npz made by `intentcrop train quality`
GENERATION = "generation"  # an image-text-to-text VLM (Cropper's proposer): AutoModelForImageTextToText
CROP_DECODER = "crop_decoder"  # ClipCrop's crop decoder: a folder saved by `intentcrop train clipcrop`
CROP_HEAD = "crop_head"  # CLIPCropping's knowledge + cropping head: a folder saved by `intentcrop train clipcropping`

# transformers model_type -> role. Architectures are what a folder's config.json says it is.
ARCHITECTURE_ROLES: dict[str, str] = {
    "owlvit": GROUNDING,
    "owlv2": GROUNDING,
    "clip": SCORING,
    "siglip": SCORING,
    # image-text-to-text architectures a local VLM may have (Cropper); any other AutoModelForImageTextToText
    # model_type loads too when given to the in-process VLM client directly
    "llava": GENERATION,
    "idefics3": GENERATION,
    "smolvlm": GENERATION,
    "qwen2_vl": GENERATION,
    "qwen2_5_vl": GENERATION,
    "paligemma": GENERATION,
    "gemma3": GENERATION,
    "clipcrop": CROP_DECODER,  # intentcrop.models.clipcrop (config.json + model.safetensors)
    "clipcropping": CROP_HEAD,  # intentcrop.models.clipcropping (config.json + model.safetensors)
}


@dataclass(frozen=True)
class PretrainedSource:
    hub_id: str
    architecture: str  # transformers model_type
    note: str = ""


# Short names a user may pass. The first of each role is its documented default (see DEFAULT_MODELS).
PRETRAINED: dict[str, PretrainedSource] = {
    # grounding (open-vocabulary detection)
    "owlvit-b32": PretrainedSource("google/owlvit-base-patch32", "owlvit",
                                   "OWL-ViT B/32, 768 px input: the fastest grounder on a CPU"),
    "owlvit-b16": PretrainedSource("google/owlvit-base-patch16", "owlvit", "OWL-ViT B/16, 768 px input"),
    "owlvit-l14": PretrainedSource("google/owlvit-large-patch14", "owlvit", "OWL-ViT L/14, 840 px input"),
    "owlv2-b16": PretrainedSource("google/owlv2-base-patch16-ensemble", "owlv2",
                                  "OWLv2 B/16 ensemble, 960 px padded-square input: best recall, ~6x slower"),
    "owlv2-l14": PretrainedSource("google/owlv2-large-patch14-ensemble", "owlv2", "OWLv2 L/14 ensemble"),
    # scoring (image-text embeddings)
    "clip-b32": PretrainedSource("openai/clip-vit-base-patch32", "clip",
                                 "CLIP ViT-B/32, 224 px: matches the LAION B/32 aesthetic head (512-d)"),
    "clip-b16": PretrainedSource("openai/clip-vit-base-patch16", "clip", "CLIP ViT-B/16 (512-d)"),
    "clip-l14": PretrainedSource("openai/clip-vit-large-patch14", "clip",
                                 "CLIP ViT-L/14 (768-d): matches the improved aesthetic MLP head"),
    "siglip-b16": PretrainedSource("google/siglip-base-patch16-224", "siglip", "SigLIP B/16 224 px"),
}

# The default per role. OWL-ViT B/32 (not OWLv2) grounds by default because it is the one a 2-core CPU runs
# in well under a second; OWLv2 is one `--model owlv2-b16` away.
DEFAULT_MODELS: dict[str, str] = {GROUNDING: "owlvit-b32", SCORING: "clip-b32"}


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model: where its weights come from, which architecture reads them, which role it plays."""

    name: str  # what the user wrote (short name, hub id or path)
    source: str  # hub id or absolute folder path given to from_pretrained
    architecture: str | None  # transformers model_type; None for a hub id not in PRETRAINED (read at load)
    role: str | None
    is_local: bool

    def describe(self) -> str:
        kind = "local folder" if self.is_local else "hub model"
        return f"{kind} {self.source!r}" + (f" ({self.architecture})" if self.architecture else "")


def detect_architecture(folder: "str | os.PathLike") -> str:
    """The transformers `model_type` a saved model folder declares in its config.json."""
    config_path = Path(folder) / "config.json"
    if not config_path.is_file():
        raise ModelNotAvailableError(
            f"{folder}: no config.json here, so this is not a model saved with save_pretrained "
            "(give the folder that holds config.json and the weights)"
        )
    try:
        model_type = json.loads(config_path.read_text()).get("model_type")
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(f"{config_path}: cannot read it as JSON ({exc})") from None
    if not model_type:
        raise ModelNotAvailableError(f"{config_path}: has no 'model_type', so its architecture is unknown")
    return str(model_type)


def role_of(architecture: str | None) -> str | None:
    return ARCHITECTURE_ROLES.get(architecture or "")


def _looks_like_path(name: str) -> bool:
    """An existing file system entry, or anything written like a path; the rest ("org/name") are hub ids."""
    return Path(name).expanduser().exists() or name.startswith((".", "/", "~")) or name.count("/") > 1


def resolve_model_spec(spec: "str | os.PathLike | ModelSpec | None", role: str | None = None) -> ModelSpec:
    """Short name, hub id or local folder -> ModelSpec. None gives the documented default for `role`.

    A folder's architecture comes from its config.json; asking for a role the architecture cannot play
    (an OWL-ViT folder as the scoring model, say) is an error that says which role it fits.
    """
    if isinstance(spec, ModelSpec):
        resolved = spec
    else:
        if spec is None:
            if role is None:
                raise ModelNotAvailableError("no model given and no role to pick a default for")
            spec = DEFAULT_MODELS[role]
        name = os.fspath(spec)
        if name in PRETRAINED:
            src = PRETRAINED[name]
            resolved = ModelSpec(name, src.hub_id, src.architecture, role_of(src.architecture), False)
        elif _looks_like_path(name):
            folder = Path(name).expanduser().resolve()
            if not folder.exists():
                raise ModelNotAvailableError(f"model folder {name!r} does not exist")
            arch = detect_architecture(folder)
            resolved = ModelSpec(name, str(folder), arch, role_of(arch), True)
        else:
            known = {s.hub_id: s for s in PRETRAINED.values()}
            arch = known[name].architecture if name in known else None
            resolved = ModelSpec(name, name, arch, role_of(arch), False)
    if role is not None and resolved.role is not None and resolved.role != role:
        raise ModelNotAvailableError(
            f"{resolved.describe()} is a {resolved.architecture} model, which serves {resolved.role}, "
            f"not {role}; give a {' or '.join(a for a, r in ARCHITECTURE_ROLES.items() if r == role)} model"
        )
    if resolved.architecture is not None and resolved.architecture not in ARCHITECTURE_ROLES:
        raise ModelNotAvailableError(
            f"{resolved.describe()}: architecture {resolved.architecture!r} is not supported; "
            f"supported: {', '.join(ARCHITECTURE_ROLES)}"
        )
    return resolved


def list_pretrained(role: str | None = None) -> list[tuple[str, str, str]]:
    """(short name, hub id, note) rows, optionally for one role, defaults first."""
    rows = [(n, s.hub_id, s.note) for n, s in PRETRAINED.items() if role is None or role_of(s.architecture) == role]
    return sorted(rows, key=lambda r: r[0] not in DEFAULT_MODELS.values())
