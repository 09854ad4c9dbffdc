"""Small registries that map a backend's short name to the class that implements a stage.

Architectures are registered here by the module that defines them; *which weights* a backend
loads is a separate concern (see `intentcrop.models.registry`), as in open_clip.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, stage: str, package: str | None = None) -> None:
        self.stage = stage
        self.package = package  # the stage package whose import registers the built-in backends
        self._entries: dict[str, Callable[..., T]] = {}
        self._loaded = package is None

    def _load(self) -> None:
        """Import the stage package once, on the first look-up (nothing is imported with `import intentcrop`)."""
        if not self._loaded:
            self._loaded = True
            import importlib

            importlib.import_module(self.package)

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries and self._entries[name] is not factory:
                raise ValueError(f"{self.stage} backend {name!r} is registered twice")
            self._entries[name] = factory
            return factory

        return decorator

    def create(self, name: str, **kwargs: Any) -> T:
        if name not in self._entries:
            self._load()
        if name not in self._entries:
            known = ", ".join(sorted(self._entries)) or "none"
            raise KeyError(f"unknown {self.stage} backend {name!r}; known: {known}")
        return self._entries[name](**kwargs)

    def get(self, name: str) -> Callable[..., T] | None:
        """The registered class (or factory), None for an unknown name."""
        return self._entries.get(name)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        if name not in self._entries:
            self._load()
        return name in self._entries


PROPOSERS: Registry = Registry("proposer", "intentcrop.propose")
GROUNDERS: Registry = Registry("grounder", "intentcrop.ground")
SCORERS: Registry = Registry("scorer", "intentcrop.score")
SEARCHERS: Registry = Registry("searcher", "intentcrop.search")
