"""Grounder "deferred": no grounding stage of its own, for methods whose proposer reads the text itself (Cropper's
VLM is given the text in its prompt). Returns no grounding, so nothing is 'not found' and no box is imposed."""

from __future__ import annotations

from intentcrop.core.context import CropContext
from intentcrop.registry import GROUNDERS


@GROUNDERS.register("deferred")
class DeferredGrounder:
    def ground(self, ctx: CropContext) -> None:
        return None
