"""Route a user's `model=` / `device=` choice to the pipeline stages that use models.

`crop(..., model="owlv2-b16")` or `model=["./my-owlvit", "clip-l14"]`: each model is resolved, its role
(grounding or scoring) read from its architecture, and it replaces the `model` argument of every backend
of that role in the pipeline config; `device` / `dtype` go to every model-backed stage.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

from pathlib import Path

from intentcrop.errors import ModelNotAvailableError
from intentcrop.models.registry import GROUNDING, SCORING, ModelSpec, resolve_model_spec, role_of

# The offline crop-quality model of the scorer "quality" (a numpy .npz made by `intentcrop train quality`): no
# torch, no device.
QUALITY = "quality"
QUALITY_SUFFIX = ".npz"

# Registered backends that take a model, and which role their model plays.
MODEL_BACKENDS: dict[tuple[str, str], str] = {
    ("grounder", "owlvit"): GROUNDING,
    ("scorer", "clip_text"): SCORING,
    ("scorer", "clip_prompts"): SCORING,
    ("scorer", "clip_aesthetic"): SCORING,
    ("scorer", "quality"): QUALITY,
}
# The constructor argument that receives the model, per role.
MODEL_ARGUMENT = {GROUNDING: "model", SCORING: "model", QUALITY: "model_path"}
# Backends that can also use a model of a second role: (that role, the argument that receives it, the argument
# that switches the use on). OWL-ViT's candidates verified by CLIP (verify=True) use the scoring model.
SECOND_MODEL_ARGUMENT: dict[tuple[str, str], tuple[str, str, str]] = {
    ("grounder", "owlvit"): (SCORING, "verifier_model", "verify"),
}


def _second_model(stage: str, name: str, args: dict[str, Any]) -> tuple[str, str] | None:
    """(role, argument) of the second model this configured backend uses, or None."""
    entry = SECOND_MODEL_ARGUMENT.get((stage, name))
    if entry is None or not args.get(entry[2]):
        return None
    return entry[0], entry[1]


def _role(spec: ModelSpec) -> str:
    if spec.role is not None:
        return spec.role
    try:  # a hub id we do not list: its cached config says what it is
        from transformers import AutoConfig

        role = role_of(AutoConfig.from_pretrained(spec.source, local_files_only=True).model_type)
    except Exception:  # noqa: BLE001 - any failure means we cannot tell
        role = None
    if role is None:
        raise ModelNotAvailableError(
            f"cannot tell whether {spec.name!r} is a grounding (OWL-ViT/OWLv2) or scoring (CLIP/SigLIP) model: "
            "use a short name, a cached hub id, or a folder with config.json"
        )
    return role


def model_overrides(config: dict[str, Any], model: "str | Sequence[str] | None" = None,
                    device: str | None = None, dtype: Any = None) -> dict[str, Any]:
    """The `grounders` / `scorers` entries of `config` with the chosen models and device filled in
    (only the keys that change; pass them to `create_pipeline(name, **overrides)`)."""
    models = [] if model is None else [model] if isinstance(model, str) or hasattr(model, "__fspath__") else list(model)
    chosen: dict[str, str] = {}
    for m in models:
        if str(m).lower().endswith(QUALITY_SUFFIX):
            if not Path(m).is_file():
                raise ModelNotAvailableError(f"crop-quality model {m}: no such file")
            role, name = QUALITY, str(m)
        else:
            spec = resolve_model_spec(m)
            role, name = _role(spec), str(spec.name)
        if role in chosen:
            raise ModelNotAvailableError(f"two {role} models given ({chosen[role]!r} and {name!r}); give one")
        chosen[role] = name
    if not chosen and device is None and dtype is None:
        return {}

    def fill(stage: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        role = MODEL_BACKENDS.get((stage, name))
        if role is None:
            return args
        args = dict(args)
        if role in chosen:
            args[MODEL_ARGUMENT[role]] = chosen[role]
        second = _second_model(stage, name, args)
        if second is not None and second[0] in chosen:
            args[second[1]] = chosen[second[0]]
        if role == QUALITY:  # numpy only: device and dtype do not apply
            return args
        if device is not None:
            args["device"] = device
        if dtype is not None:
            args["dtype"] = str(dtype)
        return args

    overrides: dict[str, Any] = {}
    grounders = copy.deepcopy(config.get("grounders", {}))
    overrides["grounders"] = {kind: (name, fill("grounder", name, args)) for kind, (name, args) in grounders.items()}
    overrides["scorers"] = [(name, w, fill("scorer", name, args)) for name, w, args in config.get("scorers", [])]
    used_roles = {MODEL_BACKENDS.get(("grounder", n)) for n, _ in grounders.values()}
    used_roles |= {MODEL_BACKENDS.get(("scorer", n)) for n, _, _ in config.get("scorers", [])}
    used_roles |= {second[0] for n, args in grounders.values()
                   if (second := _second_model("grounder", n, args)) is not None}
    unused = [chosen[r] for r in chosen if r not in used_roles]
    if unused:
        raise ModelNotAvailableError(f"this pipeline uses no model for {', '.join(unused)}")
    return overrides
