"""Route a user's `model=` / `device=` choice to the pipeline stages that use models.

`crop(..., model="owlv2-b16")` or `model=["./my-owlvit", "clip-l14"]`: each model is resolved, its role
(grounding, scoring, or generation: a VLM for Cropper's proposer) read from its architecture, and it replaces
the `model` argument of every backend of that role in the pipeline config (grounders, proposer, scorers); `device` / `dtype` go to every model-backed stage.

Which argument of a backend receives which role is the backend's own declaration, a class attribute read from
the registries: `model_arguments = {"model": GROUNDING, "verifier_model": SCORING}`, and for a model used only
when an argument switches it on, `model_switches = {"verifier_model": "verify"}`.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

from pathlib import Path

from intentcrop.errors import ModelNotAvailableError
from intentcrop.models.registry import QUALITY, ModelSpec, resolve_model_spec, role_of

QUALITY_SUFFIX = ".npz"  # the offline crop-quality model is a numpy .npz: no torch, no device


def model_arguments(registry: Any, name: str, args: dict[str, Any]) -> dict[str, str]:
    """{constructor argument: role} of the models the backend `name`, configured with `args`, uses: its class's
    `model_arguments`, less those whose switch (`model_switches`) is off. Empty for a backend without models."""
    backend = registry.get(name)
    declared = dict(getattr(backend, "model_arguments", None) or {})
    switches = getattr(backend, "model_switches", None) or {}
    return {arg: role for arg, role in declared.items() if arg not in switches or args.get(switches[arg])}


def _registries() -> tuple[Any, Any, Any]:
    import intentcrop.ground  # noqa: F401 - registers the grounders
    import intentcrop.propose  # noqa: F401 - registers the proposers
    import intentcrop.score  # noqa: F401 - registers the scorers
    from intentcrop.registry import GROUNDERS, PROPOSERS, SCORERS

    return GROUNDERS, PROPOSERS, SCORERS


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
            f"cannot tell whether {spec.name!r} is a grounding (OWL-ViT/OWLv2), scoring (CLIP/SigLIP) or "
            "image-text-to-text (VLM) model: "
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

    grounder_registry, proposer_registry, scorer_registry = _registries()

    def fill(registry: Any, name: str, args: dict[str, Any]) -> dict[str, Any]:
        arguments = model_arguments(registry, name, args)
        if not arguments:
            return args
        args = dict(args)
        for argument, role in arguments.items():
            if role in chosen:
                args[argument] = chosen[role]
        if set(arguments.values()) == {QUALITY}:  # numpy only: device and dtype do not apply
            return args
        if device is not None:
            args["device"] = device
        if dtype is not None:
            args["dtype"] = str(dtype)
        return args

    overrides: dict[str, Any] = {}
    grounders = copy.deepcopy(config.get("grounders", {}))
    overrides["grounders"] = {kind: (name, fill(grounder_registry, name, args))
                              for kind, (name, args) in grounders.items()}
    overrides["scorers"] = [(name, w, fill(scorer_registry, name, args)) for name, w, args in config.get("scorers", [])]
    used_roles = {role for n, args in grounders.values()
                  for role in model_arguments(grounder_registry, n, args).values()}
    if config.get("proposer") and model_arguments(proposer_registry, *config["proposer"]):
        name, args = config["proposer"]  # e.g. Cropper's VLM (a generation model)
        overrides["proposer"] = (name, fill(proposer_registry, name, dict(args)))
        used_roles |= set(model_arguments(proposer_registry, name, args).values())
    if config.get("searcher"):  # e.g. CAGIC's optimiser, whose objective runs a CLIP model
        import intentcrop.search  # noqa: F401 - registers the searchers
        from intentcrop.registry import SEARCHERS

        name, args = config["searcher"]
        if model_arguments(SEARCHERS, name, args):
            overrides["searcher"] = (name, fill(SEARCHERS, name, dict(args)))
            used_roles |= set(model_arguments(SEARCHERS, name, args).values())
    used_roles |= {role for n, _, args in config.get("scorers", [])
                   for role in model_arguments(scorer_registry, n, args).values()}
    unused = [chosen[r] for r in chosen if r not in used_roles]
    if unused:
        raise ModelNotAvailableError(f"this pipeline uses no model for {', '.join(unused)}")
    return overrides
